//! Outbound GET with connect, first-byte and between-bytes timeouts (wasi-http request options).
//!
//! spin-sdk's `send` offers no timeouts, and a Beds24 call that hangs would hold a
//! whole batch past its lease; so this goes one level down to the wasi-http bindings.

use std::time::Duration;

use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingRequest,
    RequestOptions, Scheme,
};

/// Refuse answers larger than this (a bookings page is a few hundred KiB).
const MAX_BODY: usize = 32 * 1024 * 1024;

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A request sent and not yet answered; several can be in flight at once.
pub struct Pending(FutureIncomingResponse);

pub fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Answer, String> {
    start(url, headers, timeout)?.wait()
}

/// Send a GET without waiting for the answer.
pub fn start(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Pending, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&fields).map_err(|e| format!("invalid header: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let scheme = match parsed.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let authority = match parsed.port() {
        Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or_default()),
        None => parsed.host_str().unwrap_or_default().to_owned(),
    };
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let ok = request.set_method(&Method::Get).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(&authority)).is_ok()
        && request.set_path_with_query(Some(&path)).is_ok();
    if !ok {
        return Err(format!(
            "could not build request for {}",
            parsed.origin().ascii_serialization()
        ));
    }
    let options = RequestOptions::new();
    let nanos = timeout.as_nanos() as u64;
    // Hosts may refuse to honour an option; the call then simply has no such limit.
    let _ = options.set_connect_timeout(Some(nanos.min(10_000_000_000)));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));

    outgoing_handler::handle(request, Some(options))
        .map(Pending)
        .map_err(|e| format!("request failed: {e:?}"))
}

impl Pending {
    /// Block until the answer and its whole body are in.
    pub fn wait(self) -> Result<Answer, String> {
        let pending = self.0;
        pending.subscribe().block();
        read(pending.get())
    }
}

type Outcome = Option<Result<Result<IncomingResponse, ErrorCode>, ()>>;

fn read(outcome: Outcome) -> Result<Answer, String> {
    let response = match outcome {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(format!("request failed: {code:?}")),
        Some(Err(())) | None => return Err("request failed: no response".into()),
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
        .map_err(|()| "response body unavailable".to_string())?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "response body unavailable".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(e) => return Err(format!("reading response failed: {e:?}")),
            }
            if bytes.len() > MAX_BODY {
                return Err(format!("response larger than {MAX_BODY} bytes"));
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
