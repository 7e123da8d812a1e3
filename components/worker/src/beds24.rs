//! The worker's Beds24 client: token (long-life or refreshed, cached in Redis), credits, paging.

use beds24_spin_glue::{log, now_ms, redis::SpinRedis};
use beds24_sync_core::beds24::response::TokenAnswer;
use beds24_sync_core::beds24::{classify, scopes, ApiFailure, Credits, CreditsBudget, Envelope};
use beds24_sync_core::logging::Level;
use beds24_sync_core::queue::Queue;
use beds24_sync_core::store::{RedisExec, RedisValue};
use serde_json::{json, Value};

use crate::http_client;
use crate::settings::Settings;

const TOKEN_KEY: &str = "b24:beds24:token";
const TOKEN_LOCK: &str = "b24:beds24:token-lock";
const CREDITS_KEY: &str = "b24:beds24:credits";
/// Set while Beds24 rejects our token (read by the admin readiness check).
const AUTH_FAILED_KEY: &str = "b24:beds24:auth-failed";
/// Set for an hour once the token's scopes were found sufficient.
const SCOPES_OK_KEY: &str = "b24:beds24:scopes-ok";
const SCOPES_OK_TTL_S: i64 = 3600;
/// Compare-and-delete: only the refresh that took the lock may release it.
const RELEASE_LOCK: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/// Refresh this long before Beds24's expiry, so no call races the deadline.
const TOKEN_EARLY_S: i64 = 300;
/// Safety stop for paging loops.
const MAX_PAGES: u32 = 100;

pub struct Client<'a> {
    settings: &'a Settings,
    redis: &'a mut SpinRedis,
    token: Option<String>,
    auth_cleared: bool,
}

impl<'a> Client<'a> {
    pub fn new(settings: &'a Settings, redis: &'a mut SpinRedis) -> Self {
        Self {
            settings,
            redis,
            token: None,
            auth_cleared: false,
        }
    }

    pub fn api(&self) -> beds24_sync_core::beds24::urls::ApiBase {
        self.settings.api.clone()
    }

    pub fn redis(&mut self) -> &mut SpinRedis {
        self.redis
    }

    /// The shared credit budget, when the last answer left it below the reserve.
    pub fn credits_wait_until(&mut self) -> Option<i64> {
        let reply = self
            .redis
            .execute(
                "HMGET",
                &[CREDITS_KEY.into(), "remaining".into(), "resetsAt".into()],
            )
            .ok()?;
        let remaining = reply.first()?.as_text()?.parse::<f64>().ok()?;
        let resets_at_ms = reply.get(1)?.as_i64()?;
        CreditsBudget {
            remaining,
            resets_at_ms,
        }
        .wait_until(self.settings.credit_reserve, now_ms())
    }

    /// Every page of a list endpoint.
    pub async fn get_all(
        &mut self,
        endpoint: &str,
        url_for_page: impl Fn(u32) -> String,
    ) -> Result<Vec<Value>, ApiFailure> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let envelope = self.get(endpoint, &url_for_page(page)).await?;
            all.extend(envelope.data);
            if !envelope.next_page {
                break;
            }
        }
        Ok(all)
    }

    /// One authenticated GET; a 401 with a refresh token configured refreshes once and retries.
    async fn get(&mut self, endpoint: &str, url: &str) -> Result<Envelope, ApiFailure> {
        let token = self.token().await?;
        match self.send(endpoint, url, &token).await {
            Err(ApiFailure::Unauthorized(_)) if !self.settings.refresh_token.is_empty() => {
                let _ = self.redis.execute("DEL", &[TOKEN_KEY.into()]);
                self.token = None;
                let token = self.token().await?;
                self.send(endpoint, url, &token).await
            }
            other => other,
        }
    }

    async fn send(
        &mut self,
        endpoint: &str,
        url: &str,
        token: &str,
    ) -> Result<Envelope, ApiFailure> {
        let _ = Queue::new(self.redis).count(&format!("api:{endpoint}"), 1);
        let headers = [("token", token), ("accept", "application/json")];
        let answer = http_client::get(url, &headers, self.settings.api_timeout);
        self.settle(endpoint, answer)
    }

    /// Classify an answer, recording the credits and token state it reports.
    fn settle(
        &mut self,
        endpoint: &str,
        answer: Result<http_client::Answer, String>,
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

    /// Every page of several list endpoints, the same page of each in flight at once
    /// (a batch's bookings and messages cost one round trip, not two). Each list ends
    /// with its own result: one failing list does not throw away the others.
    pub async fn get_all_concurrently(
        &mut self,
        lists: &[(&str, &dyn Fn(u32) -> String)],
    ) -> Vec<Result<Vec<Value>, ApiFailure>> {
        let mut results: Vec<Result<Vec<Value>, ApiFailure>> = vec![Ok(Vec::new()); lists.len()];
        let mut open: Vec<usize> = (0..lists.len()).collect();
        let mut refreshed = false;
        for page in 1..=MAX_PAGES {
            if open.is_empty() {
                break;
            }
            let token = match self.token().await {
                Ok(token) => token,
                Err(failure) => {
                    for &i in &open {
                        results[i] = Err(failure.clone());
                    }
                    break;
                }
            };
            let headers = [("token", token.as_str()), ("accept", "application/json")];
            let mut pending = Vec::with_capacity(open.len());
            for &i in &open {
                let _ = Queue::new(self.redis).count(&format!("api:{}", lists[i].0), 1);
                let url = (lists[i].1)(page);
                pending.push((
                    i,
                    url.clone(),
                    http_client::start(&url, &headers, self.settings.api_timeout),
                ));
            }
            let mut next = Vec::new();
            for (i, url, request) in pending {
                let endpoint = lists[i].0;
                let answer = match self
                    .settle(endpoint, request.and_then(http_client::Pending::wait))
                {
                    // A rejected token: refresh once for the whole batch, then retry this call.
                    Err(ApiFailure::Unauthorized(_)) if !self.settings.refresh_token.is_empty() => {
                        if !refreshed {
                            refreshed = true;
                            let _ = self.redis.execute("DEL", &[TOKEN_KEY.into()]);
                            self.token = None;
                        }
                        match self.token().await {
                            Ok(token) => self.send(endpoint, &url, &token).await,
                            Err(failure) => Err(failure),
                        }
                    }
                    other => other,
                };
                match (answer, &mut results[i]) {
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
            open = next;
        }
        results
    }

    /// Whether the token may read what a sync writes: Beds24 answers a token without
    /// the personal or financial scope with those fields left out, not with an error.
    /// Checked once an hour (one call); a details call that fails for another reason
    /// does not hold the sync.
    pub async fn check_scopes(&mut self) -> Result<(), ApiFailure> {
        let known = self.redis.execute("EXISTS", &[SCOPES_OK_KEY.into()]);
        if matches!(known.as_deref(), Ok([RedisValue::Int(1)])) {
            return Ok(());
        }
        let token = self.token().await?;
        let _ = Queue::new(self.redis).count("api:details", 1);
        let headers = [("token", token.as_str()), ("accept", "application/json")];
        let url = self.settings.api.token_details();
        let answer = match http_client::get(&url, &headers, self.settings.api_timeout) {
            Ok(answer) => answer,
            Err(_) => return Ok(()),
        };
        let details: Option<Value> = serde_json::from_slice(&answer.body).ok();
        match (answer.status, details) {
            (200, Some(details)) => match scopes::missing(&details) {
                Some(missing) if !missing.is_empty() => {
                    let failure = ApiFailure::Forbidden(format!(
                        "the token lacks the scope(s) {}: Beds24 would leave those fields empty",
                        missing.join(", ")
                    ));
                    self.record_auth(&Err(failure.clone()));
                    Err(failure)
                }
                _ => {
                    let _ = self.redis.execute(
                        "SET",
                        &[
                            SCOPES_OK_KEY.into(),
                            "1".into(),
                            "EX".into(),
                            SCOPES_OK_TTL_S.into(),
                        ],
                    );
                    Ok(())
                }
            },
            // A refreshed token may just have expired: the batch's own call refreshes it.
            (401, _) if !self.settings.refresh_token.is_empty() => Ok(()),
            (status @ (401 | 403), _) => {
                let failure = ApiFailure::Unauthorized(format!("token rejected (HTTP {status})"));
                self.record_auth(&Err(failure.clone()));
                Err(failure)
            }
            _ => Ok(()),
        }
    }

    /// Readiness turns red while Beds24 rejects our token; any accepted call clears it.
    fn record_auth(&mut self, result: &Result<Envelope, ApiFailure>) {
        match result {
            Err(ApiFailure::Unauthorized(message) | ApiFailure::Forbidden(message)) => {
                let value = format!(
                    "{}: {message}",
                    beds24_sync_core::logging::rfc3339(chrono::Utc::now())
                );
                let _ = self
                    .redis
                    .execute("SET", &[AUTH_FAILED_KEY.into(), value.into()]);
            }
            Ok(_) if !self.auth_cleared => {
                self.auth_cleared = true;
                let _ = self.redis.execute("DEL", &[AUTH_FAILED_KEY.into()]);
            }
            _ => {}
        }
    }

    fn record_credits(&mut self, credits: &Credits, status: u16) {
        // A 429 without credit headers still says the window is spent.
        let Some(remaining) = credits.remaining.or((status == 429).then_some(0.0)) else {
            return;
        };
        let resets_at = now_ms() + (credits.resets_in_s.unwrap_or(300.0) * 1000.0) as i64;
        let args = [
            CREDITS_KEY.into(),
            "remaining".into(),
            remaining.to_string().into(),
            "resetsAt".into(),
            resets_at.into(),
            "seenAt".into(),
            now_ms().into(),
        ];
        let _ = self.redis.execute("HSET", &args);
    }

    /// The long-life token, or a refreshed one shared by all workers through Redis.
    async fn token(&mut self) -> Result<String, ApiFailure> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        if !self.settings.long_life_token.is_empty() {
            self.token = Some(self.settings.long_life_token.clone());
            return Ok(self.settings.long_life_token.clone());
        }
        if self.settings.refresh_token.is_empty() {
            let failure = ApiFailure::Unauthorized(
                "no Beds24 token configured (beds24_token or beds24_write_refresh_token)".into(),
            );
            self.record_auth(&Err(failure.clone()));
            return Err(failure);
        }
        let cached = self.redis.execute("GET", &[TOKEN_KEY.into()]).ok();
        if let Some(token) = cached
            .as_deref()
            .and_then(|r| r.first())
            .and_then(RedisValue::as_text)
        {
            self.token = Some(token.clone());
            return Ok(token);
        }
        // Single flight across every worker process: only the lock holder refreshes. The
        // lock outlives the refresh call (its timeout plus a margin) and carries a unique
        // owner, so a slow refresh is never joined by a second one and only its owner
        // releases it.
        let owner = self
            .redis
            .execute("INCR", &[format!("{TOKEN_LOCK}:seq").into()])
            .ok()
            .and_then(|r| r.first().and_then(RedisValue::as_i64))
            .unwrap_or_else(now_ms)
            .to_string();
        let lock_ms = self.settings.api_timeout.as_millis() as i64 + 5_000;
        let lock = self.redis.execute(
            "SET",
            &[
                TOKEN_LOCK.into(),
                owner.clone().into(),
                "NX".into(),
                "PX".into(),
                lock_ms.into(),
            ],
        );
        if !matches!(lock.as_deref(), Ok([RedisValue::Status(s)]) if s == "OK") {
            return Err(ApiFailure::RateLimited(
                "another worker is refreshing the Beds24 token".into(),
                Some(1),
            ));
        }
        let result = self.refresh().await;
        let _ = self.redis.execute(
            "EVAL",
            &[
                RELEASE_LOCK.into(),
                1i64.into(),
                TOKEN_LOCK.into(),
                owner.into(),
            ],
        );
        let answer = result?;
        let ttl = (answer.expires_in as i64 - TOKEN_EARLY_S).max(1);
        let _ = self.redis.execute(
            "SET",
            &[
                TOKEN_KEY.into(),
                answer.token.clone().into(),
                "EX".into(),
                ttl.into(),
            ],
        );
        log(
            Level::Info,
            "Beds24 token refreshed",
            &[("expiresIn", json!(answer.expires_in))],
        );
        self.token = Some(answer.token.clone());
        Ok(answer.token)
    }

    async fn refresh(&mut self) -> Result<TokenAnswer, ApiFailure> {
        let _ = Queue::new(self.redis).count("api:token", 1);
        let headers = [
            ("refreshToken", self.settings.refresh_token.as_str()),
            ("accept", "application/json"),
        ];
        let answer = http_client::get(
            &self.settings.api.token(),
            &headers,
            self.settings.api_timeout,
        )
        .map_err(|e| ApiFailure::Unreachable(format!("token call: {e}")))?;
        match answer.status {
            200 => serde_json::from_slice(&answer.body)
                .map_err(|e| ApiFailure::Transient(format!("token answer is not valid JSON: {e}"))),
            status => match classify(status, &answer.body, None) {
                // Beds24 answers a bad refresh token with 400, not 401.
                Err(ApiFailure::Unauthorized(m) | ApiFailure::BadRequest(m)) => {
                    let failure = ApiFailure::Unauthorized(format!("refresh token rejected: {m}"));
                    self.record_auth(&Err(failure.clone()));
                    Err(failure)
                }
                Err(other) => Err(other),
                Ok(_) => Err(ApiFailure::Transient(format!("token answer HTTP {status}"))),
            },
        }
    }
}
