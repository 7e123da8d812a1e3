//! `GET /v2/bookings/messages` and `GET /v2/properties`: simple filtered, paged lists.

use axum::extract::{ConnectInfo, RawQuery, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::common::{self, paged, Outcome, Req};
use crate::conn::ConnHandle;
use crate::key::BookingKey;
use crate::query::Params;
use crate::state::{json_id, App, State};
use crate::types::Endpoint;

pub(crate) async fn messages(
    AxState(app): AxState<App>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = Req::new(Endpoint::Messages, headers, raw, conn);
    let requested = req.params.all("bookingId");
    common::run(&app, req, requested, list_messages).await
}

fn list_messages(st: &mut State, p: &Params) -> Outcome {
    let (booking_ids, page) = match p.keys("bookingId").and_then(|ids| Ok((ids, p.page()?))) {
        Ok(v) => v,
        Err(e) => return Outcome::error(400, &e),
    };
    let hits: Vec<Value> = st
        .messages
        .iter()
        .filter(|m| {
            booking_ids.is_empty()
                || BookingKey::from_json(&m["bookingId"]).is_some_and(|b| booking_ids.contains(&b))
        })
        .cloned()
        .collect();
    let (body, count) = paged("message", st, Endpoint::Messages, p, hits, page);
    // Booking faults match on the bookings whose messages are on the page.
    let ids = body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|m| BookingKey::from_json(&m["bookingId"]))
                .collect()
        })
        .unwrap_or_default();
    Outcome::ok(body, ids, count)
}

pub(crate) async fn properties(
    AxState(app): AxState<App>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = Req::new(Endpoint::Properties, headers, raw, conn);
    let requested = req.params.all("id");
    common::run(&app, req, requested, list_properties).await
}

fn list_properties(st: &mut State, p: &Params) -> Outcome {
    let (ids, page) = match p.ids("id").and_then(|ids| Ok((ids, p.page()?))) {
        Ok(v) => v,
        Err(e) => return Outcome::error(400, &e),
    };
    let hits: Vec<Value> = st
        .properties
        .iter()
        .filter(|prop| ids.is_empty() || json_id(&prop["id"]).is_some_and(|i| ids.contains(&i)))
        .cloned()
        .collect();
    let (body, count) = paged("property", st, Endpoint::Properties, p, hits, page);
    Outcome::ok(body, Vec::new(), count)
}
