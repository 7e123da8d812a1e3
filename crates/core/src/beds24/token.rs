//! The client's token: long-life, or refreshed single-flight and shared through Redis; its scopes.

use serde_json::{json, Value};

use super::client::{data_request, Client};
use super::http::{HttpGet, Request};
use super::response::TokenAnswer;
use super::{classify, scopes, ApiFailure, Endpoint};
use crate::logging::{emit, now_ms, Level};
use crate::queue::scripts::RELEASE_LOCK;
use crate::store::{RedisExec, RedisValue};

/// Refresh this long before Beds24's expiry, so no call races the deadline.
const TOKEN_EARLY_S: i64 = 300;
/// The refresh lock outlives the refresh call's timeout by this much.
const LOCK_MARGIN_MS: i64 = 5_000;
/// How long sufficient scopes are trusted before they are checked again.
const SCOPES_OK_TTL_S: i64 = 3600;

impl<R: RedisExec, H: HttpGet> Client<'_, R, H> {
    /// Whether the token may read what a sync writes: Beds24 answers a token without
    /// the personal or financial scope with those fields left out, not with an error.
    /// Checked once an hour (one call, remembered in Redis); a details call that fails
    /// for another reason does not hold the sync.
    pub fn check_scopes(&mut self) -> Result<(), ApiFailure> {
        let known = self
            .redis
            .execute("EXISTS", &[self.keys.beds24_scopes_ok().into()]);
        if matches!(known.as_deref(), Ok([RedisValue::Int(1)])) {
            return Ok(());
        }
        let token = self.token()?;
        self.count(Endpoint::Details);
        let request = data_request(self.config.api.url(Endpoint::Details), &token);
        let answer = match self.http.get(&request, self.config.timeout) {
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
                    let args = [
                        self.keys.beds24_scopes_ok().into(),
                        "1".into(),
                        "EX".into(),
                        SCOPES_OK_TTL_S.into(),
                    ];
                    let _ = self.redis.execute("SET", &args);
                    Ok(())
                }
            },
            // A refreshed token may just have expired: the batch's own call refreshes it.
            (401, _) if !self.config.refresh_token.is_empty() => Ok(()),
            (status @ (401 | 403), _) => {
                let failure = ApiFailure::Unauthorized(format!("token rejected (HTTP {status})"));
                self.record_auth(&Err(failure.clone()));
                Err(failure)
            }
            _ => Ok(()),
        }
    }

    /// Drop the token: this client's and the one cached for every worker.
    pub(super) fn forget_token(&mut self) {
        let _ = self
            .redis
            .execute("DEL", &[self.keys.beds24_token().into()]);
        self.token = None;
    }

    /// The long-life token, or a refreshed one shared by all workers through Redis.
    pub(super) fn token(&mut self) -> Result<String, ApiFailure> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        if !self.config.long_life_token.is_empty() {
            self.token = Some(self.config.long_life_token.clone());
            return Ok(self.config.long_life_token.clone());
        }
        if self.config.refresh_token.is_empty() {
            let failure = ApiFailure::Unauthorized(
                "no Beds24 token configured (beds24_token or beds24_write_refresh_token)".into(),
            );
            self.record_auth(&Err(failure.clone()));
            return Err(failure);
        }
        let cached = self
            .redis
            .execute("GET", &[self.keys.beds24_token().into()])
            .ok();
        if let Some(token) = cached
            .as_deref()
            .and_then(|r| r.first())
            .and_then(RedisValue::as_text)
        {
            self.token = Some(token.clone());
            return Ok(token);
        }
        let answer = self.refresh_single_flight()?;
        let ttl = (answer.expires_in as i64 - TOKEN_EARLY_S).max(1);
        let args = [
            self.keys.beds24_token().into(),
            answer.token.clone().into(),
            "EX".into(),
            ttl.into(),
        ];
        let _ = self.redis.execute("SET", &args);
        emit(
            Level::Info,
            "Beds24 token refreshed",
            &[("expiresIn", json!(answer.expires_in))],
        );
        self.token = Some(answer.token.clone());
        Ok(answer.token)
    }

    /// Single flight across every worker process: only the lock holder refreshes. The
    /// lock outlives the refresh call (its timeout plus a margin) and carries a unique
    /// owner, so a slow refresh is never joined by a second one and only its owner
    /// releases it. A worker that finds it taken waits (a rate limit of 1 s).
    fn refresh_single_flight(&mut self) -> Result<TokenAnswer, ApiFailure> {
        let owner = self
            .redis
            .execute("INCR", &[self.keys.beds24_token_lock_seq().into()])
            .ok()
            .and_then(|r| r.first().and_then(RedisValue::as_i64))
            .unwrap_or_else(now_ms)
            .to_string();
        let lock_key = self.keys.beds24_token_lock();
        let lock_ms = self.config.timeout.as_millis() as i64 + LOCK_MARGIN_MS;
        let lock = self.redis.execute(
            "SET",
            &[
                lock_key.as_str().into(),
                owner.as_str().into(),
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
        let result = self.refresh();
        let _ = RELEASE_LOCK.run(self.redis, &[lock_key], vec![owner.into()]);
        result
    }

    /// Exchange the refresh token for an access token (one counted call).
    fn refresh(&mut self) -> Result<TokenAnswer, ApiFailure> {
        self.count(Endpoint::Token);
        let request = Request::get(
            self.config.api.url(Endpoint::Token),
            vec![
                ("refreshToken", self.config.refresh_token.clone()),
                ("accept", "application/json".to_owned()),
            ],
        );
        let answer = self
            .http
            .get(&request, self.config.timeout)
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
