//! Reading a request body under a cap: refused by its declared length before any byte is read, or as soon as the stream outgrows the cap.

use beds24_sync_core::error_body::ApiError;
use futures::StreamExt;
use spin_sdk::http::IncomingRequest;

/// The whole body, at most `cap` bytes; larger → 413 JSON. Spin's HTTP trigger sets no
/// limit of its own, so without this a client decides how much memory we buffer.
pub async fn read_capped(request: IncomingRequest, cap: usize) -> Result<Vec<u8>, ApiError> {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(ApiError::payload_too_large(cap));
    }
    let mut stream = request.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                400,
                "body_read_error",
                format!("could not read body: {e:?}"),
            )
        })?;
        if body.len() + chunk.len() > cap {
            return Err(ApiError::payload_too_large(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
