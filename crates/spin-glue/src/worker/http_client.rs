//! The core's `HttpGet` on the wasi-http bindings: connect, first-byte and between-bytes timeouts, 32 MiB cap.
//!
//! spin-sdk's `send` offers no timeouts, and a Beds24 call that hangs would hold a
//! whole batch past its lease; so this goes one level down to the wasi-http bindings.

use std::time::Duration;

use beds24_sync_core::beds24::http::{Answer, HttpError, HttpGet, Request, MAX_BODY, MAX_CONNECT};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingRequest,
    RequestOptions, Scheme,
};

/// Outbound GETs through wasi-http; `start` returns as soon as the request is sent,
/// so several requests can be in flight at once.
pub struct WasiHttp;

/// A request sent and not yet answered.
pub struct Pending(FutureIncomingResponse);

impl HttpGet for WasiHttp {
    type Pending = Pending;

    fn start(&mut self, request: &Request, timeout: Duration) -> Result<Pending, HttpError> {
        let url = &request.url;
        let fields: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&fields)
            .map_err(|e| HttpError::InvalidRequest(format!("invalid header: {e:?}")))?;
        let outgoing = OutgoingRequest::new(fields);
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_owned()),
        };
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let ok = outgoing.set_method(&Method::Get).is_ok()
            && outgoing.set_scheme(Some(&scheme)).is_ok()
            && outgoing.set_authority(Some(&authority)).is_ok()
            && outgoing.set_path_with_query(Some(&path)).is_ok();
        if !ok {
            return Err(HttpError::InvalidRequest(format!(
                "could not build request for {}",
                url.origin().ascii_serialization()
            )));
        }
        let options = RequestOptions::new();
        let nanos = timeout.as_nanos() as u64;
        // Hosts may refuse to honour an option; the call then simply has no such limit.
        let _ = options.set_connect_timeout(Some(nanos.min(MAX_CONNECT.as_nanos() as u64)));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        outgoing_handler::handle(outgoing, Some(options))
            .map(Pending)
            .map_err(failure)
    }

    /// Block until the answer and its whole body are in.
    fn finish(&mut self, pending: Pending) -> Result<Answer, HttpError> {
        let pending = pending.0;
        pending.subscribe().block();
        read(pending.get())
    }
}

type Outcome = Option<Result<Result<IncomingResponse, ErrorCode>, ()>>;

fn read(outcome: Outcome) -> Result<Answer, HttpError> {
    let response = match outcome {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(failure(code)),
        Some(Err(())) | None => return Err(HttpError::Failed("no response".into())),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = response
        .consume()
        .map_err(|()| HttpError::BodyRead("response body unavailable".into()))?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| HttpError::BodyRead("response body unavailable".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(e) => return Err(HttpError::BodyRead(format!("{e:?}"))),
            }
            if bytes.len() > MAX_BODY {
                return Err(HttpError::BodyTooLarge { limit: MAX_BODY });
            }
        }
    }
    drop(body);
    Ok(Answer {
        status,
        headers,
        body: bytes,
    })
}

/// A wasi-http error code by kind: no connection, a timeout, or another failure.
fn failure(code: ErrorCode) -> HttpError {
    let text = format!("{code:?}");
    match code {
        ErrorCode::DnsTimeout
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => HttpError::Timeout(text),
        ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionRefused
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_)
        | ErrorCode::HttpRequestDenied => HttpError::Connect(text),
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestMethodInvalid => {
            HttpError::InvalidRequest(text)
        }
        _ => HttpError::Failed(text),
    }
}
