//! The mock's shared state: stored data, tokens, credits, faults and the call log.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::credits::Ledger;
use crate::faults::Faults;
use crate::key::BookingKey;
use crate::types::{CallRecord, Endpoint, MockConfig};

/// Shared between the handle and the server; a plain mutex because no lock is
/// ever held across an `.await`.
#[derive(Clone)]
pub(crate) struct App(Arc<Mutex<State>>);

impl App {
    pub(crate) fn new(state: State) -> Self {
        App(Arc::new(Mutex::new(state)))
    }

    /// Ignores poisoning: a panicking test thread must not take the server down.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct State {
    pub origin: String,
    pub page_size: usize,
    pub properties: Vec<Value>,
    pub long_life_token: String,
    pub refresh_token: String,
    pub token_expires_in: u64,
    /// Reported by `/authentication/details` for every valid token.
    pub scopes: Vec<String>,
    pub latency: Duration,
    pub upcoming_only_default: bool,
    /// Keyed by id text so `?id=82279106` matches whatever JSON shape was stored
    /// and `?id=TEST123` finds a booking whose `id` is that string.
    pub bookings: BTreeMap<BookingKey, Value>,
    pub messages: Vec<Value>,
    /// Issued token -> expiry.
    pub tokens: HashMap<String, Instant>,
    pub ledger: Ledger,
    pub faults: Faults,
    /// Requests per endpoint (index = position in `Endpoint::ALL`); exact even
    /// when the call log is off.
    pub counts: [usize; 5],
    /// Off in the binary so a long benchmark does not grow memory per request.
    pub record_calls: bool,
    pub calls: Vec<CallRecord>,
    /// Bumped by `reset_counters` so an in-flight request never writes its status
    /// into a record of the next generation.
    pub calls_epoch: u64,
    token_seq: u64,
}

impl State {
    pub(crate) fn new(cfg: MockConfig, origin: String) -> Self {
        State {
            origin,
            page_size: cfg.page_size.max(1),
            properties: cfg.properties,
            long_life_token: cfg.long_life_token,
            refresh_token: cfg.refresh_token,
            token_expires_in: cfg.token_expires_in,
            scopes: crate::api::auth::DEFAULT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            latency: cfg.latency,
            upcoming_only_default: cfg.upcoming_only_default,
            bookings: BTreeMap::new(),
            messages: Vec::new(),
            tokens: HashMap::new(),
            ledger: Ledger::new(cfg.credits),
            faults: Faults::default(),
            counts: [0; 5],
            record_calls: cfg.record_calls,
            calls: Vec::new(),
            calls_epoch: 0,
            token_seq: 0,
        }
    }

    pub(crate) fn token_valid(&self, token: &str, now: Instant) -> bool {
        token == self.long_life_token || self.token_expiry(token).is_some_and(|exp| exp > now)
    }

    pub(crate) fn token_expiry(&self, token: &str) -> Option<Instant> {
        self.tokens.get(token).copied()
    }

    /// A fresh token of realistic length (160 hex chars, real ones are 152-172).
    pub(crate) fn issue_token(&mut self, now: Instant) -> String {
        self.token_seq += 1;
        // RandomState is seeded randomly per instance: good enough for unguessable
        // test tokens without pulling in a RNG crate.
        let token: String = (0..10)
            .map(|i| format!("{:016x}", RandomState::new().hash_one((self.token_seq, i))))
            .collect();
        let expiry = now + Duration::from_secs(self.token_expires_in);
        self.tokens.insert(token.clone(), expiry);
        token
    }

    /// Logs a request; the returned key lets `set_status` find it later.
    pub(crate) fn record(
        &mut self,
        endpoint: Endpoint,
        ids: Vec<String>,
        query: String,
    ) -> (u64, usize) {
        self.counts[endpoint_index(endpoint)] += 1;
        if !self.record_calls {
            return (self.calls_epoch, usize::MAX);
        }
        self.calls.push(CallRecord {
            endpoint,
            ids,
            query,
            status: None,
        });
        (self.calls_epoch, self.calls.len() - 1)
    }

    pub(crate) fn set_status(&mut self, key: (u64, usize), status: Option<u16>) {
        if key.0 != self.calls_epoch {
            return;
        }
        if let Some(c) = self.calls.get_mut(key.1) {
            c.status = status;
        }
    }

    pub(crate) fn reset_calls(&mut self) {
        self.counts = [0; 5];
        self.calls.clear();
        self.calls_epoch += 1;
    }
}

/// Reads a numeric id from a JSON value that may be a number or a numeric string.
pub(crate) fn json_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn endpoint_index(endpoint: Endpoint) -> usize {
    Endpoint::ALL
        .iter()
        .position(|e| *e == endpoint)
        .expect("every endpoint is in ALL")
}
