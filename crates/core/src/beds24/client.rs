//! The Beds24 client: authenticated, counted GETs with credits and token state kept in Redis, paging.
//!
//! A [`Client`] lives for one batch, or for half of one: the worker sends a batch's
//! first requests with one client and reads their answers with another, after storing
//! the batch before. The token policy (long-life token, or a refreshed one shared
//! through Redis) and the scope check are in `token.rs`, the batch fetch on top of
//! this in `fetch.rs`.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::http::{Answer, HttpError, HttpGet, Request};
use super::urls::ApiBase;
use super::{classify, ApiFailure, Credits, CreditsBudget, Endpoint, Envelope};
use crate::keys::Keys;
use crate::logging::{now_ms, rfc3339};
use crate::queue::{Counter, Queue};
use crate::store::RedisExec;

/// Safety stop for paging loops.
pub const MAX_PAGES: u32 = 100;

/// A rejected call's window is assumed to reset this long after it when Beds24 does
/// not say (its credit window is five minutes).
const DEFAULT_RESET_S: f64 = 300.0;

/// What the client needs to know about the account, read once per invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The API base, e.g. `https://api.beds24.com/v2`.
    pub api: ApiBase,
    /// Long-life read token; used first when not empty.
    pub long_life_token: String,
    /// Refresh token, exchanged for an access token when no long-life token is set.
    pub refresh_token: String,
    /// Timeout of each call (first byte, between bytes; connecting at most 10 s).
    pub timeout: Duration,
    /// Credits left for other users of the account: at or below this, no call goes out
    /// until the window resets.
    pub credit_reserve: f64,
}

/// A Beds24 client over one Redis connection and one HTTP door, for one batch.
pub struct Client<'a, R: RedisExec, H: HttpGet> {
    pub(super) config: &'a ClientConfig,
    pub(super) keys: &'a Keys,
    pub(super) redis: &'a mut R,
    pub(super) http: &'a mut H,
    /// The token this client uses, once known.
    pub(super) token: Option<String>,
    /// Whether this client cleared the auth-failed flag since its last rejection (one
    /// DEL per client, not one per call).
    auth_cleared: bool,
}

/// One list being paged: its endpoint and the URL of each page (1-based).
pub type PagedList<'f> = (Endpoint, &'f dyn Fn(u32) -> Url);

/// One page of several lists sent and not yet answered, with what the earlier pages
/// returned. Owns no borrow of the client: Redis and Postgres stay free for other
/// work while Beds24 answers.
pub struct StartedLists<P> {
    page: u32,
    /// Each list still open: its index, the URL sent and the request in flight.
    pending: Vec<(usize, Url, Result<P, HttpError>)>,
    results: Vec<Result<Vec<Value>, ApiFailure>>,
    /// A rejected token was already refreshed for these lists: one refresh for them
    /// all, however many of their requests Beds24 rejects.
    refreshed: bool,
}

impl<'a, R: RedisExec, H: HttpGet> Client<'a, R, H> {
    /// A client for `config`'s account, keeping its shared state under `keys`.
    pub fn new(
        config: &'a ClientConfig,
        keys: &'a Keys,
        redis: &'a mut R,
        http: &'a mut H,
    ) -> Self {
        Self {
            config,
            keys,
            redis,
            http,
            token: None,
            auth_cleared: false,
        }
    }

    /// The API base URLs are built from.
    pub fn api(&self) -> &ApiBase {
        &self.config.api
    }

    /// The shared credit budget: when the last answer (any worker's) left it at or
    /// below the reserve and the window has not reset, the time (epoch ms) to wait until.
    pub fn credits_wait_until(&mut self) -> Option<i64> {
        let args = [
            self.keys.beds24_credits().into(),
            "remaining".into(),
            "resetsAt".into(),
        ];
        let reply = self.redis.execute("HMGET", &args).ok()?;
        let remaining = reply.first()?.as_text()?.parse::<f64>().ok()?;
        let resets_at_ms = reply.get(1)?.as_i64()?;
        CreditsBudget {
            remaining,
            resets_at_ms,
        }
        .wait_until(self.config.credit_reserve, now_ms())
    }

    /// Every page of a list endpoint.
    pub fn get_all(
        &mut self,
        endpoint: Endpoint,
        url_for_page: impl Fn(u32) -> Url,
    ) -> Result<Vec<Value>, ApiFailure> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let envelope = self.get(endpoint, &url_for_page(page))?;
            all.extend(envelope.data);
            if !envelope.next_page {
                break;
            }
        }
        Ok(all)
    }

    /// Every page of several list endpoints, the same page of each in flight at once
    /// (a batch's bookings and messages cost one round trip, not two). Each list ends
    /// with its own result: one failing list does not throw away the others.
    pub fn get_all_concurrently(
        &mut self,
        lists: &[PagedList<'_>],
    ) -> Vec<Result<Vec<Value>, ApiFailure>> {
        let started = self.start_lists(lists);
        self.finish_lists(started, lists)
    }

    /// Send the first page of each list and return without waiting for the answers,
    /// so the caller can do other work (store the previous batch) while Beds24 answers.
    /// A token that cannot be had fails every list here, before anything is sent.
    pub fn start_lists(&mut self, lists: &[PagedList<'_>]) -> StartedLists<H::Pending> {
        let results = vec![Ok(Vec::new()); lists.len()];
        self.start_page(lists, 1, (0..lists.len()).collect(), results, false)
    }

    /// Wait for the lists [`Client::start_lists`] sent (`lists` must be the same) and
    /// page on, the same page of each in flight at once. A client other than the one
    /// that started them may finish them.
    pub fn finish_lists(
        &mut self,
        started: StartedLists<H::Pending>,
        lists: &[PagedList<'_>],
    ) -> Vec<Result<Vec<Value>, ApiFailure>> {
        let mut started = started;
        loop {
            let StartedLists {
                page,
                pending,
                mut results,
                mut refreshed,
            } = started;
            let mut next = Vec::new();
            for (i, url, sent) in pending {
                let endpoint = lists[i].0;
                let answer = sent.and_then(|p| self.http.finish(p));
                let first = self.settle(endpoint, answer);
                match (
                    self.retry_if_unauthorized(endpoint, &url, first, &mut refreshed),
                    &mut results[i],
                ) {
                    (Ok(envelope), Ok(list)) => {
                        list.extend(envelope.data);
                        if envelope.next_page {
                            next.push(i);
                        }
                    }
                    (Err(failure), slot) => *slot = Err(failure),
                    (Ok(_), Err(_)) => {}
                }
            }
            if next.is_empty() || page >= MAX_PAGES {
                return results;
            }
            started = self.start_page(lists, page + 1, next, results, refreshed);
        }
    }

    /// Send page `page` of the `open` lists.
    fn start_page(
        &mut self,
        lists: &[PagedList<'_>],
        page: u32,
        open: Vec<usize>,
        mut results: Vec<Result<Vec<Value>, ApiFailure>>,
        refreshed: bool,
    ) -> StartedLists<H::Pending> {
        let mut pending = Vec::with_capacity(open.len());
        match self.token() {
            Ok(token) => {
                for i in open {
                    let (endpoint, url_for_page) = lists[i];
                    self.count(endpoint);
                    let request = data_request(url_for_page(page), &token);
                    let started = self.http.start(&request, self.config.timeout);
                    pending.push((i, request.url, started));
                }
            }
            Err(failure) => {
                for i in open {
                    results[i] = Err(failure.clone());
                }
            }
        }
        StartedLists {
            page,
            pending,
            results,
            refreshed,
        }
    }

    /// One page of a list endpoint (bulk runs page by page, storing each page before the next).
    pub fn get_page(&mut self, endpoint: Endpoint, url: &Url) -> Result<Envelope, ApiFailure> {
        self.get(endpoint, url)
    }

    /// One authenticated GET; a 401 with a refresh token configured refreshes once and retries.
    fn get(&mut self, endpoint: Endpoint, url: &Url) -> Result<Envelope, ApiFailure> {
        let token = self.token()?;
        let first = self.send(endpoint, url, &token);
        self.retry_if_unauthorized(endpoint, url, first, &mut false)
    }

    /// The one place a rejected token is handled: with a refresh token configured, a
    /// 401 drops the cached token (once per `refreshed` flag), gets a fresh one and
    /// sends the call again, once. Anything else passes through.
    fn retry_if_unauthorized(
        &mut self,
        endpoint: Endpoint,
        url: &Url,
        first: Result<Envelope, ApiFailure>,
        refreshed: &mut bool,
    ) -> Result<Envelope, ApiFailure> {
        match first {
            Err(ApiFailure::Unauthorized(_)) if !self.config.refresh_token.is_empty() => {
                if !*refreshed {
                    *refreshed = true;
                    self.forget_token();
                }
                let token = self.token()?;
                self.send(endpoint, url, &token)
            }
            other => other,
        }
    }

    /// Send one counted, authenticated GET and classify its answer.
    fn send(&mut self, endpoint: Endpoint, url: &Url, token: &str) -> Result<Envelope, ApiFailure> {
        self.count(endpoint);
        let request = data_request(url.clone(), token);
        let answer = self.http.get(&request, self.config.timeout);
        self.settle(endpoint, answer)
    }

    /// Count one call to `endpoint` in the stats hash (best effort).
    pub(super) fn count(&mut self, endpoint: Endpoint) {
        let _ =
            Queue::with_keys(self.redis, self.keys.clone()).count(Counter::ApiCall(endpoint), 1);
    }

    /// Classify an answer, recording the credits and token state it reports.
    fn settle(
        &mut self,
        endpoint: Endpoint,
        answer: Result<Answer, HttpError>,
    ) -> Result<Envelope, ApiFailure> {
        let answer =
            answer.map_err(|e| ApiFailure::Unreachable(format!("{endpoint} call: {e}")))?;
        let credits =
            Credits::from_headers(answer.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        self.record_credits(&credits, answer.status);
        let result = classify(answer.status, &answer.body, credits.resets_in_whole_s());
        self.record_auth(&result);
        result
    }

    /// Readiness turns red while Beds24 rejects our token; the first accepted call of
    /// each client, and the first after a rejection (a batch whose two lists were both
    /// rejected and retried), clears it.
    pub(super) fn record_auth(&mut self, result: &Result<Envelope, ApiFailure>) {
        match result {
            Err(ApiFailure::Unauthorized(message) | ApiFailure::Forbidden(message)) => {
                self.auth_cleared = false;
                let value = format!("{}: {message}", rfc3339(chrono::Utc::now()));
                let _ = self.redis.execute(
                    "SET",
                    &[self.keys.beds24_auth_failed().into(), value.into()],
                );
            }
            Ok(_) if !self.auth_cleared => {
                self.auth_cleared = true;
                let _ = self
                    .redis
                    .execute("DEL", &[self.keys.beds24_auth_failed().into()]);
            }
            _ => {}
        }
    }

    /// Store what an answer said about the shared credit window.
    fn record_credits(&mut self, credits: &Credits, status: u16) {
        // A 429 without credit headers still says the window is spent.
        let Some(remaining) = credits.remaining.or((status == 429).then_some(0.0)) else {
            return;
        };
        let now = now_ms();
        let resets_at = now + (credits.resets_in_s.unwrap_or(DEFAULT_RESET_S) * 1000.0) as i64;
        let args = [
            self.keys.beds24_credits().into(),
            "remaining".into(),
            remaining.to_string().into(),
            "resetsAt".into(),
            resets_at.into(),
            "seenAt".into(),
            now.into(),
        ];
        let _ = self.redis.execute("HSET", &args);
        if let Some(cost) = credits.cost.filter(|c| *c > 0.0) {
            // Never reset: a bulk run's cost is the difference over the run.
            let spent = [
                self.keys.beds24_credits().into(),
                "spent".into(),
                cost.to_string().into(),
            ];
            let _ = self.redis.execute("HINCRBYFLOAT", &spent);
        }
    }
}

/// A data call: the access token and a JSON answer asked for.
pub(super) fn data_request(url: Url, token: &str) -> Request {
    Request::get(
        url,
        vec![
            ("token", token.to_owned()),
            ("accept", "application/json".to_owned()),
        ],
    )
}
