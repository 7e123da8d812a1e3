//! Bearer-token checks for the webhook and admin routes (constant-time comparison).

use subtle::ConstantTimeEq;

/// Why a request to the webhook or admin API was refused. The unreadable-variable
/// case answers 503 (a configuration fault, retried by Beds24); the others 401.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A token is required and the request has no `Authorization` header.
    #[error("missing Authorization: Bearer <token> header")]
    Missing,
    /// The header is not `Bearer <token>` or the token does not match.
    #[error("invalid bearer token")]
    Invalid,
    /// The admin API is closed because `admin_token` is empty (its default).
    #[error("admin API disabled: set the admin_token variable")]
    AdminDisabled,
    /// The token variable could not be read, so every request is refused.
    #[error(transparent)]
    Unreadable(#[from] VariableUnreadable),
}

/// A token variable the component could not read (not declared for it, or its
/// variable provider failed). Never taken as "unset": that would open the webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {variable} variable could not be read ({reason}); every request is refused until it can be")]
pub struct VariableUnreadable {
    /// The Spin variable's name (`webhook_token`, `admin_token`).
    pub variable: &'static str,
    /// What the variable provider said.
    pub reason: String,
}

/// The webhook: a token set to `""` leaves it open (the documented default, since
/// Beds24 sends no header unless one is set up); a token that cannot be read closes it.
pub fn check_webhook(
    header: Option<&str>,
    token: Result<String, VariableUnreadable>,
) -> Result<(), AuthError> {
    check_bearer(header, &token?)
}

/// The admin API: closed when no token is set and when it cannot be read, each
/// refusal saying which.
pub fn check_admin(
    header: Option<&str>,
    token: Result<String, VariableUnreadable>,
) -> Result<(), AuthError> {
    match token? {
        token if token.is_empty() => Err(AuthError::AdminDisabled),
        token => check_bearer(header, &token),
    }
}

/// The worker route: open when `worker_token` is empty (it can only run due work);
/// otherwise the token comes as a bearer header or, for schedulers that send only a
/// path and query (Akamai's cron), as `?token=`.
pub fn check_worker_run(
    header: Option<&str>,
    query_token: Option<&str>,
    token: Result<String, VariableUnreadable>,
) -> Result<(), AuthError> {
    let token = token?;
    match (header, query_token) {
        (None, Some(given)) if !token.is_empty() => {
            if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(AuthError::Invalid)
            }
        }
        _ => check_bearer(header, &token),
    }
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
    fn the_worker_route_takes_its_token_as_a_header_or_in_the_query() {
        let token = || Ok("w0rk".to_owned());
        assert_eq!(check_worker_run(None, None, Ok(String::new())), Ok(()));
        assert_eq!(
            check_worker_run(None, None, token()),
            Err(AuthError::Missing)
        );
        assert_eq!(check_worker_run(Some("Bearer w0rk"), None, token()), Ok(()));
        assert_eq!(check_worker_run(None, Some("w0rk"), token()), Ok(()));
        assert_eq!(
            check_worker_run(None, Some("nope"), token()),
            Err(AuthError::Invalid)
        );
        // A wrong header is not rescued by a right query token.
        assert_eq!(
            check_worker_run(Some("Bearer nope"), Some("w0rk"), token()),
            Err(AuthError::Invalid)
        );
        let unreadable = VariableUnreadable {
            variable: "worker_token",
            reason: "provider down".into(),
        };
        assert!(matches!(
            check_worker_run(None, Some("w0rk"), Err(unreadable)),
            Err(AuthError::Unreadable(_))
        ));
    }

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

    fn unreadable(variable: &'static str) -> VariableUnreadable {
        VariableUnreadable {
            variable,
            reason: "undefined".into(),
        }
    }

    #[test]
    fn an_unreadable_webhook_token_closes_the_webhook() {
        assert_eq!(check_webhook(None, Ok(String::new())), Ok(()));
        assert_eq!(
            check_webhook(Some("Bearer s3cret"), Ok("s3cret".into())),
            Ok(())
        );
        let refused = check_webhook(None, Err(unreadable("webhook_token"))).unwrap_err();
        assert_eq!(refused, AuthError::Unreadable(unreadable("webhook_token")));
        let api = crate::error_body::ApiError::from(refused);
        assert_eq!((api.status, api.body.error), (503, "configuration_error"));
        assert!(api.body.message.contains("webhook_token"), "{api:?}");
    }

    #[test]
    fn the_admin_api_is_closed_unset_or_unreadable_and_says_which() {
        assert_eq!(
            check_admin(Some("Bearer x"), Ok(String::new())),
            Err(AuthError::AdminDisabled)
        );
        let api = crate::error_body::ApiError::from(AuthError::AdminDisabled);
        assert_eq!((api.status, api.body.error), (401, "unauthorized"));
        let refused = check_admin(Some("Bearer x"), Err(unreadable("admin_token"))).unwrap_err();
        let api = crate::error_body::ApiError::from(refused);
        assert_eq!(api.status, 503);
        assert!(api.body.message.contains("admin_token"), "{api:?}");
        assert_eq!(check_admin(Some("Bearer x"), Ok("x".into())), Ok(()));
        assert_eq!(check_admin(None, Ok("x".into())), Err(AuthError::Missing));
    }
}
