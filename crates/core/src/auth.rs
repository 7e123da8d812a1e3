//! Bearer-token checks for the webhook and admin routes (constant-time comparison).

use subtle::ConstantTimeEq;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization: Bearer <token> header")]
    Missing,
    #[error("invalid bearer token")]
    Invalid,
}

/// Check an `Authorization` header value against the configured token.
/// An empty `expected` means the route is open (the webhook token is optional).
pub fn check_bearer(header: Option<&str>, expected: &str) -> Result<(), AuthError> {
    if expected.is_empty() {
        return Ok(());
    }
    let header = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Invalid);
    }
    // Length leaks through ct_eq on slices of different length; that is acceptable
    // (the secret's length is not the secret), the content comparison is constant-time.
    if bool::from(token.trim().as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_when_no_token_configured() {
        assert_eq!(check_bearer(None, ""), Ok(()));
    }

    #[test]
    fn requires_the_exact_bearer_token() {
        assert_eq!(check_bearer(None, "s3cret"), Err(AuthError::Missing));
        assert_eq!(
            check_bearer(Some("Bearer nope"), "s3cret"),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            check_bearer(Some("Basic s3cret"), "s3cret"),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            check_bearer(Some("s3cret"), "s3cret"),
            Err(AuthError::Invalid)
        );
        assert_eq!(check_bearer(Some("Bearer s3cret"), "s3cret"), Ok(()));
        assert_eq!(check_bearer(Some("bearer s3cret"), "s3cret"), Ok(()));
    }
}
