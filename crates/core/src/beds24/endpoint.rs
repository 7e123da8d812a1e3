//! The Beds24 API v2 endpoints beds24-sync calls, named once (URLs, counters, logs).

use serde::Serialize;

/// One Beds24 endpoint we call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `GET /bookings`: bookings by id, with invoice and info items.
    Bookings,
    /// `GET /bookings/messages`: guest messages by booking id.
    Messages,
    /// `GET /properties`: property names.
    Properties,
    /// `GET /authentication/token`: a fresh access token for the refresh token.
    Token,
    /// `GET /authentication/details`: what the token may do (its scopes).
    Details,
}

impl Endpoint {
    /// Every endpoint, for metrics.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Bookings,
        Endpoint::Messages,
        Endpoint::Properties,
        Endpoint::Token,
        Endpoint::Details,
    ];

    /// Short name used in counters, metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Bookings => "bookings",
            Endpoint::Messages => "messages",
            Endpoint::Properties => "properties",
            Endpoint::Token => "token",
            Endpoint::Details => "details",
        }
    }

    /// Path below the API base.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Bookings => "bookings",
            Endpoint::Messages => "bookings/messages",
            Endpoint::Properties => "properties",
            Endpoint::Token => "authentication/token",
            Endpoint::Details => "authentication/details",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
