//! The core's `HttpGet` on a native blocking client (ureq), one thread per request in flight.

use std::thread::JoinHandle;
use std::time::Duration;

use beds24_sync_core::beds24::http::{Answer, HttpError, HttpGet, Request, MAX_BODY, MAX_CONNECT};

/// `HttpGet` for native tests: `start` sends the request on its own thread, `finish`
/// joins it, so several requests are really in flight at once. Connecting waits at
/// most the smaller of the timeout and 10 s; the answer's head and its body are each
/// bounded by the timeout (ureq has no between-bytes limit; for a test's small
/// answers over loopback, a bound on the whole body comes to the same).
#[derive(Clone)]
pub struct NativeHttp {
    agent: ureq::Agent,
}

impl Default for NativeHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeHttp {
    /// A client that hands every status back as an answer (none is an error).
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        NativeHttp { agent }
    }
}

/// A request on its thread.
pub struct NativePending(JoinHandle<Result<Answer, HttpError>>);

impl HttpGet for NativeHttp {
    type Pending = NativePending;

    fn start(&mut self, request: &Request, timeout: Duration) -> Result<NativePending, HttpError> {
        let mut builder = self
            .agent
            .get(request.url.as_str())
            .config()
            .timeout_connect(Some(timeout.min(MAX_CONNECT)))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build();
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        let thread = std::thread::Builder::new()
            .name("native-http".into())
            .spawn(move || read(builder.call()))
            .map_err(|e| HttpError::Failed(format!("could not start a thread: {e}")))?;
        Ok(NativePending(thread))
    }

    fn finish(&mut self, pending: NativePending) -> Result<Answer, HttpError> {
        pending
            .0
            .join()
            .unwrap_or_else(|_| Err(HttpError::Failed("request thread panicked".into())))
    }
}

fn read(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, HttpError> {
    let response = response.map_err(error)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_BODY as u64)
        .read_to_vec()
        .map_err(|e| match error(e) {
            too_large @ HttpError::BodyTooLarge { .. } => too_large,
            timeout @ HttpError::Timeout(_) => timeout,
            other => HttpError::BodyRead(other.to_string()),
        })?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn error(e: ureq::Error) -> HttpError {
    match e {
        ureq::Error::Timeout(which) => HttpError::Timeout(which.to_string()),
        ureq::Error::BodyExceedsLimit(_) => HttpError::BodyTooLarge { limit: MAX_BODY },
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            HttpError::Connect(e.to_string())
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            HttpError::Connect(io.to_string())
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            HttpError::Timeout(io.to_string())
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => HttpError::InvalidRequest(e.to_string()),
        other => HttpError::Failed(other.to_string()),
    }
}
