//! `MockBeds24`: start/stop, addresses, tokens and the stored bookings, messages and properties.

use std::io;
use std::net::{SocketAddr, TcpListener};

use serde_json::{json, Value};

use crate::fixtures;
use crate::key::BookingKey;
use crate::server::Server;
use crate::state::{App, State};
use crate::types::MockConfig;

/// A running mock Beds24 API v2 on loopback.
///
/// The server runs on its own thread and tokio runtime, so every method here is
/// synchronous and cheap (a mutex, never held across I/O) and works equally from
/// `#[tokio::test]` and blocking code. Dropping the value stops the server.
pub struct MockBeds24 {
    pub(crate) app: App,
    server: Server,
}

impl MockBeds24 {
    /// Starts on `127.0.0.1:0` with `MockConfig::default()` and no bookings.
    pub fn start() -> io::Result<Self> {
        Self::start_with(MockConfig::default())
    }

    /// Starts on `127.0.0.1:0` with the given configuration.
    pub fn start_with(config: MockConfig) -> io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().expect("valid address"), config)
    }

    /// Starts on a fixed address (the binary uses this).
    pub fn start_on(addr: SocketAddr, config: MockConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let bound = listener.local_addr()?;
        let app = App::new(State::new(config, format!("http://{bound}")));
        let server = Server::spawn(listener, app.clone())?;
        Ok(MockBeds24 { app, server })
    }

    /// Stops the server and waits for its thread (also done on drop).
    pub fn stop(mut self) {
        self.server.stop();
    }

    /// Blocks the calling thread until the server ends (i.e. forever); for the binary.
    pub fn wait(self) {
        self.server.join();
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://127.0.0.1:PORT/v2`, the equivalent of `https://api.beds24.com/v2`.
    pub fn base_url(&self) -> String {
        format!("{}/v2", self.origin())
    }

    // ---- tokens ----

    /// A token that is always valid (default `mock-long-life-token`).
    pub fn long_life_token(&self) -> String {
        self.app.lock().long_life_token.clone()
    }

    pub fn set_long_life_token(&self, token: &str) {
        self.app.lock().long_life_token = token.to_string();
    }

    /// The refresh token accepted by `/authentication/token` (default `mock-refresh-token`).
    pub fn refresh_token(&self) -> String {
        self.app.lock().refresh_token.clone()
    }

    /// Sets the accepted refresh token and the lifetime of tokens issued from now on
    /// (tokens already issued keep their expiry).
    /// The scopes `/authentication/details` reports for valid tokens.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.app.lock().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    pub fn set_refresh_token(&self, token: &str, expires_in_secs: u64) {
        let mut st = self.app.lock();
        st.refresh_token = token.to_string();
        st.token_expires_in = expires_in_secs;
    }

    /// Every token issued by `/authentication/token`, expired ones included.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.app.lock().tokens.keys().cloned().collect()
    }

    /// Makes an issued token invalid now, as if its `expiresIn` had elapsed.
    /// Returns false if the mock never issued it.
    pub fn expire_token(&self, token: &str) -> bool {
        let now = std::time::Instant::now();
        match self.app.lock().tokens.get_mut(token) {
            Some(exp) => {
                *exp = now;
                true
            }
            None => false,
        }
    }

    /// Expires every issued token (the long-life token stays valid).
    pub fn expire_all_tokens(&self) {
        let now = std::time::Instant::now();
        for exp in self.app.lock().tokens.values_mut() {
            *exp = now;
        }
    }

    // ---- bookings ----

    /// Stores (or replaces) a booking, shaped like `bookings-response.json` `data[0]`
    /// including `invoiceItems` / `infoItems`, under the text form of its `id`
    /// (a JSON number, or a string such as `"TEST123"`; it is served back as
    /// stored). Returns its key.
    ///
    /// # Panics
    /// If `booking["id"]` is absent, an empty string or neither number nor string
    /// (a test bug).
    pub fn upsert_booking(&self, booking: Value) -> BookingKey {
        let id = BookingKey::from_json(&booking["id"])
            .expect("booking needs an \"id\" that is a number or a non-empty string");
        self.app.lock().bookings.insert(id.clone(), booking);
        id
    }

    /// Stores a copy of the sample booking re-keyed to `id` (`7` or `"TEST123"`;
    /// item ids and `bookingId`s follow), after `edit` has changed it; returns what
    /// was stored. Times, status and amounts stay those of the fixture unless edited.
    pub fn booking_from_fixture(
        &self,
        id: impl Into<BookingKey>,
        edit: impl FnOnce(&mut Value),
    ) -> Value {
        let id = id.into();
        let mut b = fixtures::booking_with_id(&id);
        edit(&mut b);
        b["id"] = id.to_json();
        self.upsert_booking(b.clone());
        b
    }

    /// Edits a stored booking like Beds24 does on a change: unless `edit` set
    /// `modifiedTime` itself, it becomes now. Returns the new booking, or `None`.
    pub fn update_booking(
        &self,
        id: impl Into<BookingKey>,
        edit: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let mut st = self.app.lock();
        let b = st.bookings.get_mut(&id.into())?;
        let before = b["modifiedTime"].clone();
        edit(b);
        if b["modifiedTime"] == before {
            b["modifiedTime"] = json!(fixtures::now_timestamp());
        }
        Some(b.clone())
    }

    /// A stored booking (`booking(7)`, `booking("TEST123")`), with its items.
    pub fn booking(&self, id: impl Into<BookingKey>) -> Option<Value> {
        self.app.lock().bookings.get(&id.into()).cloned()
    }

    /// Stored numeric booking ids, ascending (text ids are left out; see `booking_keys`).
    pub fn booking_ids(&self) -> Vec<u64> {
        let st = self.app.lock();
        st.bookings.keys().filter_map(BookingKey::as_u64).collect()
    }

    /// Every stored booking id: numeric ones ascending, then text ones.
    pub fn booking_keys(&self) -> Vec<BookingKey> {
        self.app.lock().bookings.keys().cloned().collect()
    }

    /// Deletes a booking for good (it vanishes from every response).
    pub fn remove_booking(&self, id: impl Into<BookingKey>) -> Option<Value> {
        self.app.lock().bookings.remove(&id.into())
    }

    pub fn clear_bookings(&self) {
        self.app.lock().bookings.clear();
    }

    /// Loads `n` generated bookings with ids `1..=n` (future stays, every 20th
    /// cancelled) and one message per 10 bookings, as the binary serves them.
    pub fn seed_generated(&self, n: u64) {
        let today = chrono::Utc::now().date_naive();
        let mut st = self.app.lock();
        for id in 1..=n {
            st.bookings
                .insert(id.into(), fixtures::generated_booking(id, today));
            if id % 10 == 0 {
                st.messages.push(fixtures::generated_message(id, id));
            }
        }
    }

    /// The webhook v2 body Beds24 would POST for a stored booking, with its messages.
    pub fn webhook_v2_body(&self, id: impl Into<BookingKey>) -> Option<Value> {
        let id = id.into();
        let st = self.app.lock();
        let b = st.bookings.get(&id)?;
        let msgs = st
            .messages
            .iter()
            .filter(|m| BookingKey::from_json(&m["bookingId"]).as_ref() == Some(&id))
            .cloned()
            .collect();
        Some(fixtures::webhook_v2_for(b, msgs))
    }

    // ---- messages and properties ----

    /// Adds a message shaped like `messages-response.json` `data[*]`
    /// (`id`, `bookingId`, `time`, `source`, `message`, `read`, ...).
    /// Messages are served in the order added.
    pub fn add_message(&self, message: Value) {
        self.app.lock().messages.push(message);
    }

    pub fn messages(&self) -> Vec<Value> {
        self.app.lock().messages.clone()
    }

    pub fn clear_messages(&self) {
        self.app.lock().messages.clear();
    }

    /// Replaces the properties list (objects with a numeric `id` and a `name`).
    pub fn set_properties(&self, properties: Vec<Value>) {
        self.app.lock().properties = properties;
    }

    /// Items per page for every paged endpoint (minimum 1).
    pub fn set_page_size(&self, size: usize) {
        self.app.lock().page_size = size.max(1);
    }

    /// See `MockConfig::upcoming_only_default`.
    pub fn set_upcoming_only_default(&self, on: bool) {
        self.app.lock().upcoming_only_default = on;
    }
}
