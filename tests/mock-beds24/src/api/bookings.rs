//! `GET /v2/bookings`: filters, the status default, item inclusion and paging like the real API.

use axum::extract::{ConnectInfo, RawQuery, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::common::{self, paged, Outcome, Req};
use crate::conn::ConnHandle;
use crate::key::BookingKey;
use crate::query::Params;
use crate::state::{json_id, App, State};
use crate::types::Endpoint;

/// Every status the API knows; the default filter is all of them but `cancelled`.
const STATUSES: [&str; 6] = [
    "confirmed",
    "request",
    "new",
    "cancelled",
    "black",
    "inquiry",
];

pub(crate) async fn handler(
    AxState(app): AxState<App>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = Req::new(Endpoint::Bookings, headers, raw, conn);
    let requested = req.params.all("id");
    common::run(&app, req, requested, list).await
}

#[derive(Debug)]
struct Filter {
    ids: Vec<BookingKey>,
    statuses: Vec<String>,
    property_ids: Vec<u64>,
    modified: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    arrival: (Option<NaiveDate>, Option<NaiveDate>),
    departure: (Option<NaiveDate>, Option<NaiveDate>),
    invoice_items: bool,
    info_items: bool,
    page: usize,
}

impl Filter {
    fn parse(p: &Params) -> Result<Self, String> {
        let mut statuses = p.array("status")?;
        if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
            return Err(format!(
                "status: invalid value '{bad}', expected one of {}",
                STATUSES.join(", ")
            ));
        }
        if statuses.is_empty() {
            statuses = STATUSES
                .iter()
                .filter(|s| **s != "cancelled")
                .map(|s| s.to_string())
                .collect();
        }
        Ok(Filter {
            ids: p.keys("id")?,
            statuses,
            property_ids: p.ids("propertyId")?,
            modified: (time(p, "modifiedFrom")?, time(p, "modifiedTo")?),
            arrival: (date(p, "arrivalFrom")?, date(p, "arrivalTo")?),
            departure: (date(p, "departureFrom")?, date(p, "departureTo")?),
            invoice_items: p.flag("includeInvoiceItems"),
            info_items: p.flag("includeInfoItems"),
            page: p.page()?,
        })
    }

    fn has_dates(&self) -> bool {
        self.modified.0.is_some()
            || self.modified.1.is_some()
            || self.arrival.0.is_some()
            || self.arrival.1.is_some()
            || self.departure.0.is_some()
            || self.departure.1.is_some()
    }

    fn matches(&self, id: &BookingKey, b: &Value) -> bool {
        let status = b["status"].as_str().unwrap_or("");
        (self.ids.is_empty() || self.ids.contains(id))
            && self.statuses.iter().any(|s| s == status)
            && (self.property_ids.is_empty()
                || json_id(&b["propertyId"]).is_some_and(|p| self.property_ids.contains(&p)))
            && within(self.modified, booking_time(b, "modifiedTime"))
            && within(self.arrival, booking_date(b, "arrival"))
            && within(self.departure, booking_date(b, "departure"))
    }
}

/// Inclusive range check; a bound on a missing field excludes the booking.
fn within<T: PartialOrd>(range: (Option<T>, Option<T>), value: Option<T>) -> bool {
    match value {
        Some(v) => range.0.is_none_or(|lo| v >= lo) && range.1.is_none_or(|hi| v <= hi),
        None => range.0.is_none() && range.1.is_none(),
    }
}

fn time(p: &Params, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some(v) = p.first(key) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    // A bare date means midnight UTC, as the API accepts both.
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| format!("{key}: '{v}' is not an RFC 3339 date-time"))
}

fn date(p: &Params, key: &str) -> Result<Option<NaiveDate>, String> {
    p.first(key)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| format!("{key}: '{v}' is not a YYYY-MM-DD date"))
        })
        .transpose()
}

fn booking_time(b: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = b[key].as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn booking_date(b: &Value, key: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(b[key].as_str()?, "%Y-%m-%d").ok()
}

/// Items are stored on the booking and only sent when asked for.
fn shape(b: &Value, invoice_items: bool, info_items: bool) -> Value {
    let mut out = b.clone();
    if let Some(o) = out.as_object_mut() {
        for (key, wanted) in [("invoiceItems", invoice_items), ("infoItems", info_items)] {
            if wanted {
                o.entry(key).or_insert_with(|| json!([]));
            } else {
                o.remove(key);
            }
        }
    }
    out
}

fn list(st: &mut State, p: &Params) -> Outcome {
    let f = match Filter::parse(p) {
        Ok(f) => f,
        Err(e) => return Outcome::error(400, &e),
    };
    // Real Beds24: without id or date filters only upcoming stays are listed.
    let upcoming = st.upcoming_only_default && f.ids.is_empty() && !f.has_dates();
    let today = Utc::now().date_naive();
    let mut hits = Vec::new();
    // With an `id` filter, look those up instead of scanning every stored booking: the
    // bench keeps tens of thousands, and a scan per request made the stand-in, not the
    // app, the slow part. Same order (by key) and the same checks either way.
    let candidates: Vec<(&BookingKey, &Value)> = if f.ids.is_empty() {
        st.bookings.iter().collect()
    } else {
        let wanted: std::collections::BTreeSet<&BookingKey> = f.ids.iter().collect();
        wanted
            .into_iter()
            .filter_map(|id| st.bookings.get_key_value(id))
            .collect()
    };
    for (id, b) in candidates {
        if !f.matches(id, b) {
            continue;
        }
        if upcoming && booking_date(b, "departure").is_some_and(|d| d < today) {
            continue;
        }
        if st.faults.take_deleted(Endpoint::Bookings, id) {
            continue;
        }
        hits.push(shape(b, f.invoice_items, f.info_items));
    }
    let (body, count) = paged("booking", st, Endpoint::Bookings, p, hits, f.page);
    let ids = page_ids(&body);
    Outcome::ok(body, ids, count)
}

fn page_ids(body: &Value) -> Vec<BookingKey> {
    body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|b| BookingKey::from_json(&b["id"]))
                .collect()
        })
        .unwrap_or_default()
}
