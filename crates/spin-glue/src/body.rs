//! Reading a request body under a cap: refused by its declared length before any byte is read, or as soon as the stream outgrows the cap.

use beds24_sync_core::error_body::ApiError;
use futures::StreamExt;
use spin_sdk::http::IncomingRequest;

/// Why a request body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is, or announces itself as, larger than the cap.
    #[error("request body is larger than {cap} bytes")]
    TooLarge {
        /// The cap, in bytes.
        cap: usize,
    },
    /// The stream failed before its end (the client went away, the connection broke).
    #[error("could not read body: {0:?}")]
    Unreadable(Box<dyn std::fmt::Debug>),
}

/// 413 `payload_too_large` or 400 `body_read_error`.
impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { cap } => ApiError::payload_too_large(cap),
            BodyError::Unreadable(_) => ApiError::new(400, "body_read_error", e.to_string()),
        }
    }
}

/// The whole body, at most `cap` bytes; larger → [`BodyError::TooLarge`] (a 413). Spin's
/// HTTP trigger sets no limit of its own, so without this a client decides how much
/// memory we buffer.
pub async fn read_capped(request: IncomingRequest, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut stream = request.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(Box::new(e)))?;
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
