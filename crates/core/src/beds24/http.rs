//! The HTTP door of the Beds24 client: send a GET, maybe several at once, and read the answer.
//!
//! Like [`crate::store::RedisExec`] and [`crate::store::SqlExec`], this is the narrow
//! trait a component implements on its platform (wasi-http in the worker) and tests
//! implement on a native client; the client policy above it is shared.

use std::time::Duration;

use url::Url;

/// Answers larger than this are refused (a bookings page is a few hundred KiB).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// Connecting never waits longer than this, whatever the call's timeout.
pub const MAX_CONNECT: Duration = Duration::from_secs(10);

/// One outgoing `GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The whole URL, query included.
    pub url: Url,
    /// Header names and values, in order.
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    /// A `GET` of `url` with `headers`.
    pub fn get(url: Url, headers: Vec<(&'static str, String)>) -> Self {
        Request { url, headers }
    }
}

/// An answer: status, headers (names as the server sent them) and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// Header names and values, values decoded lossily as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (bad URL, header, scheme).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No connection could be made (refused, DNS, TLS).
    #[error("could not connect: {0}")]
    Connect(String),
    /// A timeout ran out (connect, first byte or between bytes).
    #[error("request timed out: {0}")]
    Timeout(String),
    /// The request failed in another way (reset, protocol error, no response).
    #[error("request failed: {0}")]
    Failed(String),
    /// The body is larger than the limit.
    #[error("response larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The body could not be read to its end.
    #[error("reading response failed: {0}")]
    BodyRead(String),
}

/// Sends `GET` requests. [`HttpGet::start`] sends without waiting, so several requests
/// can be in flight at once (a batch's bookings and messages pages go out together);
/// [`HttpGet::finish`] waits for one answer and its whole body. A started request must
/// progress while the caller blocks on something else (wasi-http's host does; the
/// native test door runs it on a thread): the worker stores one batch in Postgres
/// while the next batch's requests are answered.
pub trait HttpGet {
    /// A request sent and not yet answered.
    type Pending;

    /// Send `request`. `timeout` bounds the wait for the first byte and between
    /// bytes; connecting waits at most the smaller of it and [`MAX_CONNECT`].
    fn start(&mut self, request: &Request, timeout: Duration) -> Result<Self::Pending, HttpError>;

    /// Wait for the answer to a started request and read its whole body (at most
    /// [`MAX_BODY`] bytes).
    fn finish(&mut self, pending: Self::Pending) -> Result<Answer, HttpError>;

    /// Send `request` and wait for its answer.
    fn get(&mut self, request: &Request, timeout: Duration) -> Result<Answer, HttpError> {
        let pending = self.start(request, timeout)?;
        self.finish(pending)
    }
}
