//! `GET /v2/authentication/token` (refresh-token exchange) and `/authentication/details`.

use std::time::Instant;

use axum::extract::{ConnectInfo, RawQuery, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::common::{self, Outcome, Req};
use crate::conn::ConnHandle;
use crate::state::App;
use crate::types::Endpoint;

/// Scopes reported for every valid token unless a test sets others (`set_scopes`).
/// Without the personal or financial scope the real API leaves those fields out
/// rather than failing; tests that need that answer use `Fault::Forbidden`.
pub(crate) const DEFAULT_SCOPES: [&str; 4] = [
    "read:bookings",
    "read:bookings-personal",
    "read:bookings-financial",
    "read:properties",
];

pub(crate) async fn token(
    AxState(app): AxState<App>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = Req::new(Endpoint::Token, headers, raw, conn);
    let refresh = req.header("refreshToken").to_string();
    common::run(&app, req, Vec::new(), move |st, _| {
        // Beds24 answers a missing or bad refresh token with 400.
        if refresh.is_empty() || refresh != st.refresh_token {
            return Outcome::error(400, "Refresh token not valid");
        }
        let token = st.issue_token(Instant::now());
        Outcome::ok(
            json!({"token": token, "expiresIn": st.token_expires_in}),
            Vec::new(),
            0,
        )
    })
    .await
}

/// The pipeline has already answered 401 for an invalid token.
pub(crate) async fn details(
    AxState(app): AxState<App>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = Req::new(Endpoint::Details, headers, raw, conn);
    let token = req.header("token").to_string();
    common::run(&app, req, Vec::new(), move |st, _| {
        let now = Instant::now();
        // Long-life tokens do not expire: the real API reports no expiry for them.
        let expires_in = st
            .token_expiry(&token)
            .map(|exp| exp.saturating_duration_since(now).as_secs());
        let body = json!({
            "validToken": true,
            "token": {
                "expiresIn": expires_in,
                "scopes": st.scopes.clone(),
                "longLife": token == st.long_life_token,
            },
        });
        Outcome::ok(body, Vec::new(), 0)
    })
    .await
}
