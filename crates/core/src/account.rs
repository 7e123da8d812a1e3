//! What workers last learned about the Beds24 account (credits left, token rejected), read back for the admin API.

use crate::keys::Keys;
use crate::store::{RedisExec, RedisValue, StoreError};

/// Beds24 credits left in the window, as a worker last saw them.
pub fn credits_remaining(redis: &mut impl RedisExec, keys: &Keys) -> Option<f64> {
    let reply = redis
        .execute("HGET", &[keys.beds24_credits().into(), "remaining".into()])
        .ok()?;
    reply.first()?.as_text()?.parse().ok()
}

/// Since when and why Beds24 rejects the configured token, while it does (set by the
/// worker on a 401 / 403 or a missing scope, cleared by its next accepted call).
pub fn token_rejected(
    redis: &mut impl RedisExec,
    keys: &Keys,
) -> Result<Option<String>, StoreError> {
    let reply = redis.execute("GET", &[keys.beds24_auth_failed().into()])?;
    Ok(reply.first().and_then(RedisValue::as_text))
}
