//! Classifying a Beds24 answer: the data envelope, or an error class that decides retry vs final.

use serde::Deserialize;
use serde_json::Value;

/// `{"success":true,"type":…,"count":N,"pages":{"nextPageExists":…},"data":[…]}`
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The `data` array: bookings, messages or properties, one JSON object each.
    pub data: Vec<Value>,
    /// `pages.nextPageExists`: ask for the next page too.
    pub next_page: bool,
}

#[derive(Deserialize)]
struct RawEnvelope {
    success: Option<bool>,
    data: Option<Vec<Value>>,
    pages: Option<Pages>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pages {
    next_page_exists: Option<bool>,
}

/// Why a Beds24 call did not give us data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiFailure {
    /// 429 or credits spent: wait `retry_after_s` (when known), costs no attempt.
    #[error("Beds24 rate limit: {0}")]
    RateLimited(String, Option<u64>),
    /// 401: the token is not valid (refresh once, then final).
    #[error("Beds24 token invalid: {0}")]
    Unauthorized(String),
    /// 403: the token lacks a scope.
    #[error("Beds24 refused access (token needs scopes bookings, bookings-personal, bookings-financial): {0}")]
    Forbidden(String),
    /// 400: retrying the same request cannot help.
    #[error("Beds24 rejected the request: {0}")]
    BadRequest(String),
    /// 5xx, invalid JSON, unexpected shapes: worth retrying.
    #[error("Beds24 temporarily failed: {0}")]
    Transient(String),
    /// No answer at all (connection refused or reset, timeout): worth retrying.
    #[error("Beds24 could not be reached: {0}")]
    Unreachable(String),
}

impl ApiFailure {
    /// Retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiFailure::Transient(_) | ApiFailure::Unreachable(_))
    }
}

/// Turn status + body into data or a failure class. `retry_after_s` comes from the
/// credit headers (`x-five-min-limit-resets-in`).
pub fn classify(
    status: u16,
    body: &[u8],
    retry_after_s: Option<u64>,
) -> Result<Envelope, ApiFailure> {
    let parsed: Option<RawEnvelope> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|p| p.error.as_ref())
        .map(|e| {
            e.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string())
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        200..=299 => {
            let raw = parsed.ok_or_else(|| {
                ApiFailure::Transient(format!("HTTP {status} with invalid JSON body"))
            })?;
            if raw.success == Some(false) {
                return Err(classify_error_body(&message));
            }
            Ok(Envelope {
                data: raw.data.unwrap_or_default(),
                next_page: raw.pages.and_then(|p| p.next_page_exists).unwrap_or(false),
            })
        }
        429 => Err(ApiFailure::RateLimited(message, retry_after_s)),
        401 => Err(ApiFailure::Unauthorized(message)),
        403 => Err(ApiFailure::Forbidden(message)),
        400 | 404 | 405 | 422 => Err(ApiFailure::BadRequest(message)),
        _ => Err(ApiFailure::Transient(message)),
    }
}

/// `success:false` inside a 200: Beds24 does this for credit exhaustion at times.
fn classify_error_body(message: &str) -> ApiFailure {
    let lower = message.to_ascii_lowercase();
    if lower.contains("credit") || lower.contains("limit") {
        ApiFailure::RateLimited(message.to_owned(), None)
    } else if lower.contains("token") {
        ApiFailure::Unauthorized(message.to_owned())
    } else {
        ApiFailure::Transient(message.to_owned())
    }
}

/// The token answer of `GET /authentication/token`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenAnswer {
    /// The access token, sent as the `token` header of API calls.
    pub token: String,
    /// Its lifetime in seconds (Beds24 answers 86400: one day).
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sample_envelope() {
        let body = include_bytes!("../../tests/fixtures/bookings-response.json");
        let env = classify(200, body, None).unwrap();
        assert_eq!(env.data.len(), 1);
        assert!(!env.next_page);
    }

    #[test]
    fn each_status_lands_in_its_class() {
        let err401 = include_bytes!("../../tests/fixtures/error-401.json");
        assert_eq!(
            classify(401, err401, None),
            Err(ApiFailure::Unauthorized("Token not valid".into()))
        );
        assert_eq!(
            classify(429, b"", Some(40)),
            Err(ApiFailure::RateLimited("HTTP 429".into(), Some(40)))
        );
        assert!(
            matches!(classify(403, br#"{"success":false,"error":"needs bookings-personal"}"#, None), Err(ApiFailure::Forbidden(m)) if m.contains("bookings-personal"))
        );
        assert!(
            matches!(classify(400, br#"{"error":"bad id"}"#, None), Err(ApiFailure::BadRequest(m)) if m == "bad id")
        );
        assert!(classify(503, b"oops", None).unwrap_err().is_transient());
        assert!(classify(200, b"{not json", None)
            .unwrap_err()
            .is_transient());
    }

    #[test]
    fn token_answer_parses() {
        let t: TokenAnswer =
            serde_json::from_slice(include_bytes!("../../tests/fixtures/token-response.json"))
                .unwrap();
        assert_eq!(t.expires_in, 86400);
    }
}
