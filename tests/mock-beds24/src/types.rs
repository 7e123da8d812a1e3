//! Public vocabulary of the mock: endpoints, faults, credit settings, configuration and call records.

use std::time::Duration;

use serde_json::{json, Value};

/// The API endpoints the mock serves (all under `/v2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /v2/bookings`
    Bookings,
    /// `GET /v2/bookings/messages`
    Messages,
    /// `GET /v2/properties`
    Properties,
    /// `GET /v2/authentication/token`
    Token,
    /// `GET /v2/authentication/details`
    Details,
}

impl Endpoint {
    /// Every endpoint, in a stable order.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Bookings,
        Endpoint::Messages,
        Endpoint::Properties,
        Endpoint::Token,
        Endpoint::Details,
    ];

    /// Path below the origin, e.g. `/v2/bookings`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Bookings => "/v2/bookings",
            Endpoint::Messages => "/v2/bookings/messages",
            Endpoint::Properties => "/v2/properties",
            Endpoint::Token => "/v2/authentication/token",
            Endpoint::Details => "/v2/authentication/details",
        }
    }

    /// Data endpoints cost credits and receive `FaultTarget::Any` faults; the
    /// authentication endpoints do neither, so token plumbing stays out of the way
    /// of tests that only mean to break data fetches.
    pub fn is_data(self) -> bool {
        matches!(
            self,
            Endpoint::Bookings | Endpoint::Messages | Endpoint::Properties
        )
    }
}

/// A failure the mock injects instead of (or on top of) its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a JSON error envelope
    /// `{"success":false,"type":"error","code":N,"error":"..."}`
    /// (401 uses the real "Token not valid" text, 429 the credit-limit text).
    Status(u16),
    /// Answer with this HTTP status and an HTML page, as a proxy or load balancer in
    /// front of the real API does for 502/503/504.
    HtmlStatus(u16),
    /// HTTP 400 with this message in the JSON error envelope.
    BadRequest(String),
    /// HTTP 403 whose message names this missing token scope (e.g. "bookings-personal").
    Forbidden(String),
    /// Wait this long, then carry on (other faults and the normal answer still apply).
    Delay(Duration),
    /// HTTP 200 with `content-type: application/json` and a truncated, unparseable body.
    InvalidJson,
    /// Drop the connection (TCP reset) without sending any response bytes.
    ConnectionReset,
    /// The booking is simply absent from `GET /bookings` data (list and by-id alike).
    /// Only meaningful for a booking target; it affects the bookings endpoint only.
    Deleted,
}

impl Fault {
    /// Delays and deletions modify the normal answer; every other fault replaces it.
    pub(crate) fn is_terminal(&self) -> bool {
        !matches!(self, Fault::Delay(_) | Fault::Deleted)
    }
}

/// How many matching requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next matching request only.
    Once,
    /// The next N matching requests.
    N(u32),
    /// Every matching request until `clear_faults`.
    Always,
}

impl Times {
    pub(crate) fn budget(self) -> Option<u32> {
        match self {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        }
    }
}

/// Which requests a fault rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// Every request to a data endpoint (bookings, messages, properties).
    Any,
    /// Requests to bookings/messages that name this booking id (`id=` / `bookingId=`)
    /// or whose returned page contains it. For a text id (`"TEST123"`) use
    /// `MockBeds24::add_fault_text` / `set_fault_text`.
    Booking(u64),
    /// Every request to this endpoint (the only way to break token/details).
    Endpoint(Endpoint),
}

/// The per-account credit budget (Beds24: 100 credits per 5 minutes).
#[derive(Debug, Clone, PartialEq)]
pub struct CreditsConfig {
    /// Credits available per window.
    pub budget: f64,
    /// Window length; it starts with the first charged request after a reset.
    pub window: Duration,
    /// Cost of every successful data request.
    pub base_cost: f64,
    /// Extra cost per returned item (bookings, messages, properties).
    pub per_result_cost: f64,
}

impl Default for CreditsConfig {
    fn default() -> Self {
        CreditsConfig {
            budget: 100.0,
            window: Duration::from_secs(300),
            base_cost: 1.0,
            per_result_cost: 0.1,
        }
    }
}

/// Start-up configuration; every field can also be changed later through `MockBeds24`.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Items per page for every paged endpoint.
    pub page_size: usize,
    /// Objects served by `GET /properties` (each needs a numeric `id`).
    pub properties: Vec<Value>,
    /// A token that is always valid (Beds24 "long life" token).
    pub long_life_token: String,
    /// The refresh token accepted by `GET /authentication/token`.
    pub refresh_token: String,
    /// Lifetime of tokens issued from the refresh token, in seconds.
    pub token_expires_in: u64,
    pub credits: CreditsConfig,
    /// Added to every request (benchmarks).
    pub latency: Duration,
    /// Real Beds24 returns only upcoming bookings (departure >= today) when a
    /// `GET /bookings` has neither `id` nor a date filter; `false` returns all.
    pub upcoming_only_default: bool,
    /// Keep a `CallRecord` per request (`call_log`, `requested_ids`, `fetches_of`);
    /// `calls` counts are kept either way.
    pub record_calls: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            page_size: 100,
            properties: vec![json!({"id": 125517, "name": "Casa Azul"})],
            long_life_token: "mock-long-life-token".to_string(),
            refresh_token: "mock-refresh-token".to_string(),
            token_expires_in: 86_400,
            credits: CreditsConfig::default(),
            latency: Duration::ZERO,
            upcoming_only_default: true,
            record_calls: true,
        }
    }
}

/// One request as the mock saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub endpoint: Endpoint,
    /// The ids the request named, as sent: `id` for bookings/properties, `bookingId`
    /// for messages, empty for the authentication endpoints.
    pub ids: Vec<String>,
    /// The raw query string (without `?`).
    pub query: String,
    /// Status sent; `None` while in flight or when the connection was reset.
    pub status: Option<u16>,
}
