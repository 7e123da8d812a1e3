//! The pipeline every endpoint shares: record, delay, authenticate, meter credits, inject faults, reply.

use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::conn::ConnHandle;
use crate::credits::{format_credits, Milli};
use crate::key::BookingKey;
use crate::query::Params;
use crate::state::{App, State};
use crate::types::{Endpoint, Fault};

/// One incoming request, already taken apart by the axum handler.
pub(crate) struct Req {
    pub endpoint: Endpoint,
    pub headers: HeaderMap,
    pub params: Params,
    pub raw_query: String,
    pub conn: ConnHandle,
}

impl Req {
    pub(crate) fn new(
        endpoint: Endpoint,
        headers: HeaderMap,
        raw_query: Option<String>,
        conn: ConnHandle,
    ) -> Self {
        Req {
            endpoint,
            headers,
            params: Params::parse(raw_query.as_deref()),
            raw_query: raw_query.unwrap_or_default(),
            conn,
        }
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// What an endpoint computed, before faults and credits are applied.
pub(crate) struct Outcome {
    pub status: u16,
    pub body: Value,
    /// Booking ids on the returned page (lets booking faults hit list queries).
    pub ids: Vec<BookingKey>,
    /// Items returned, for the per-result credit cost.
    pub results: usize,
}

impl Outcome {
    pub(crate) fn ok(body: Value, ids: Vec<BookingKey>, results: usize) -> Self {
        Outcome {
            status: 200,
            body,
            ids,
            results,
        }
    }

    pub(crate) fn error(code: u16, msg: &str) -> Self {
        Outcome {
            status: code,
            body: error_body(code, msg),
            ids: Vec::new(),
            results: 0,
        }
    }
}

/// The real error envelope (see fixtures/error-401.json).
pub(crate) fn error_body(code: u16, msg: &str) -> Value {
    json!({"success": false, "type": "error", "code": code, "error": msg})
}

fn default_message(code: u16) -> String {
    match code {
        401 => "Token not valid".to_string(),
        429 => "Credit limit exceeded, wait for x-five-min-limit-resets-in seconds".to_string(),
        _ => StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_string(),
    }
}

/// Runs `handler` (under the state lock) inside the shared pipeline; `requested`
/// are the ids the query named, kept in the call log as sent.
pub(crate) async fn run<F>(app: &App, req: Req, requested: Vec<String>, handler: F) -> Response
where
    F: FnOnce(&mut State, &Params) -> Outcome,
{
    let idx = app
        .lock()
        .record(req.endpoint, requested.clone(), req.raw_query.clone());
    let resp = pipeline(app, &req, &requested, handler).await;
    let status = (!req.conn.is_killed()).then(|| resp.status().as_u16());
    app.lock().set_status(idx, status);
    resp
}

async fn pipeline<F>(app: &App, req: &Req, requested: &[String], handler: F) -> Response
where
    F: FnOnce(&mut State, &Params) -> Outcome,
{
    let latency = app.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let now = Instant::now();
    // The token endpoint authenticates with its refresh token instead.
    if req.endpoint != Endpoint::Token && !app.lock().token_valid(req.header("token"), now) {
        return json_reply(app, 401, &error_body(401, &default_message(401)), 0);
    }
    // Checked before the handler runs so a refused call consumes no fault.
    if req.endpoint.is_data() && app.lock().ledger.exhausted(now) {
        return json_reply(app, 429, &error_body(429, &default_message(429)), 0);
    }
    let (outcome, plan) = {
        let mut st = app.lock();
        let outcome = handler(&mut st, &req.params);
        let mut ids: Vec<BookingKey> = requested
            .iter()
            .filter_map(|s| BookingKey::parse(s))
            .collect();
        ids.extend(outcome.ids.iter().cloned());
        let plan = st.faults.take(req.endpoint, &ids);
        (outcome, plan)
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(fault) = plan.terminal {
        return fault_reply(app, req, fault);
    }
    let cost = {
        let mut st = app.lock();
        let cost = if req.endpoint.is_data() && outcome.status == 200 {
            st.ledger.cost(outcome.results)
        } else {
            0
        };
        st.ledger.charge(Instant::now(), cost);
        cost
    };
    json_reply(app, outcome.status, &outcome.body, cost)
}

/// Injected faults cost no credits: the server did no work worth billing.
fn fault_reply(app: &App, req: &Req, fault: Fault) -> Response {
    match fault {
        Fault::Status(code) => json_reply(app, code, &error_body(code, &default_message(code)), 0),
        Fault::HtmlStatus(code) => {
            let title = format!("{code} {}", default_message(code));
            let html = format!(
                "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            reply(app, code, "text/html", html, 0)
        }
        Fault::BadRequest(msg) => json_reply(app, 400, &error_body(400, &msg), 0),
        Fault::Forbidden(scope) => {
            let msg = format!("Token is missing the required scope: {scope}");
            json_reply(app, 403, &error_body(403, &msg), 0)
        }
        Fault::InvalidJson => {
            let body = r#"{"success":true,"type":"booking","count":1,"pages":{"nextPageExists":false,"nextPageLink":null},"data":[{"id":"#;
            reply(app, 200, "application/json", body.to_string(), 0)
        }
        Fault::ConnectionReset => {
            req.conn.kill();
            // Never written: the killed stream fails hyper's first write.
            reply(app, 500, "text/plain", String::new(), 0)
        }
        // Not terminal, never chosen as one; answer as a server bug would.
        Fault::Delay(_) | Fault::Deleted => json_reply(app, 500, &error_body(500, "mock"), 0),
    }
}

pub(crate) fn json_reply(app: &App, code: u16, body: &Value, cost: Milli) -> Response {
    reply(app, code, "application/json", render(body), cost)
}

/// Top-level keys in the order the real API sends them (`success`, `type`, ...);
/// serde_json's default map sorts keys, and enabling `preserve_order` would change
/// JSON output for every crate built alongside this one.
const KEY_ORDER: [&str; 10] = [
    "success",
    "type",
    "code",
    "count",
    "pages",
    "error",
    "data",
    "validToken",
    "token",
    "expiresIn",
];

pub(crate) fn render(body: &Value) -> String {
    let Some(obj) = body.as_object() else {
        return body.to_string();
    };
    let rank = |k: &str| {
        KEY_ORDER
            .iter()
            .position(|x| *x == k)
            .unwrap_or(KEY_ORDER.len())
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_by_key(|k| rank(k));
    let fields: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{}:{}", Value::from(k.as_str()), obj[k]))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// Every response carries the credit headers, as the real API's do.
fn reply(app: &App, code: u16, content_type: &str, body: String, cost: Milli) -> Response {
    let (remaining, resets_in) = {
        let mut st = app.lock();
        let now = Instant::now();
        (st.ledger.remaining(now), st.ledger.resets_in(now))
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(header::CONTENT_TYPE.as_str(), content_type.to_string());
    put("x-five-min-limit-remaining", format_credits(remaining));
    put("x-five-min-limit-resets-in", resets_in.to_string());
    put("x-request-cost", format_credits(cost));
    resp
}

/// The paged envelope shared by bookings, messages and properties; returns the
/// body and the number of items on the page.
pub(crate) fn paged(
    kind: &str,
    st: &State,
    endpoint: Endpoint,
    params: &Params,
    mut items: Vec<Value>,
    page: usize,
) -> (Value, usize) {
    let size = st.page_size;
    let total = items.len();
    let start = (page - 1).saturating_mul(size).min(total);
    let end = start.saturating_add(size).min(total);
    let data: Vec<Value> = items.drain(start..end).collect();
    let next = end < total;
    // Real links are absolute URLs with the same filters and the next page number.
    let link = next.then(|| {
        format!(
            "{}{}?{}",
            st.origin,
            endpoint.path(),
            params.with_page(page + 1)
        )
    });
    let count = data.len();
    let body = json!({
        "success": true,
        "type": kind,
        "count": count,
        "pages": {"nextPageExists": next, "nextPageLink": link},
        "data": data,
    });
    (body, count)
}
