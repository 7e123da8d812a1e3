//! The Beds24 client on the real mock Beds24 and a real Redis: tokens, refresh lock, auth flag, credits, scopes.

use std::time::Duration;

use beds24_sync_core::beds24::{fetch_batch, ApiFailure, Endpoint};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::BookingId;
use beds24_testkit::{Beds24Env, TokenKind};
use mock_beds24::{CreditsConfig, Endpoint as Mock, Fault, Times};

fn ids(list: &[&str]) -> Vec<BookingId> {
    list.iter().map(|s| BookingId::parse(s).unwrap()).collect()
}

#[test]
fn a_refreshed_token_is_cached_with_its_ttl_and_reused_by_the_next_client() {
    let mut w = Beds24Env::start("b24-token", TokenKind::Refresh);
    w.mock
        .set_refresh_token(&w.config.refresh_token.clone(), 3_600);
    w.mock.booking_from_fixture(1001, |_| {});

    let first = w.bookings(&ids(&["1001"])).unwrap();
    assert_eq!(first.len(), 1);
    let issued = w.mock.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(w.text(w.keys.beds24_token()), Some(issued[0].clone()));
    let ttl = w.ttl(w.keys.beds24_token());
    assert!(
        (3_290..=3_300).contains(&ttl),
        "expiresIn - 300 s, got {ttl}"
    );
    assert!(
        !w.exists(w.keys.beds24_token_lock()),
        "the refresher released its lock"
    );

    w.bookings(&ids(&["1001"])).unwrap();
    assert_eq!(w.mock.calls(Mock::Token), 1, "the second client reused it");
    assert_eq!(w.mock.calls(Mock::Bookings), 2);
    assert_eq!(w.api_calls(Endpoint::Token), 1);
    assert_eq!(w.api_calls(Endpoint::Bookings), 2);
}

#[test]
fn a_rejected_refresh_token_is_unauthorized_until_a_call_succeeds() {
    let mut w = Beds24Env::start("b24-badrefresh", TokenKind::Refresh);
    w.config.refresh_token = "not-the-refresh-token".into();
    w.mock.booking_from_fixture(7, |_| {});

    match w.bookings(&ids(&["7"])) {
        Err(ApiFailure::Unauthorized(m)) => assert!(m.contains("refresh token rejected"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.mock.calls(Mock::Token), 1);
    assert_eq!(
        w.mock.calls(Mock::Bookings),
        0,
        "no data call without a token"
    );
    let flag = w
        .text(w.keys.beds24_auth_failed())
        .expect("auth-failed set");
    assert!(flag.contains("refresh token rejected"), "{flag}");
    assert!(!w.exists(w.keys.beds24_token()));
    assert!(!w.exists(w.keys.beds24_token_lock()));

    w.config.long_life_token = w.mock.long_life_token();
    assert_eq!(w.bookings(&ids(&["7"])).unwrap().len(), 1);
    assert!(
        !w.exists(w.keys.beds24_auth_failed()),
        "an accepted call clears the flag"
    );
}

#[test]
fn no_token_at_all_is_unauthorized_and_flags_readiness() {
    let mut w = Beds24Env::start("b24-notoken", TokenKind::LongLife);
    w.config.long_life_token.clear();
    assert!(matches!(
        w.bookings(&ids(&["1"])),
        Err(ApiFailure::Unauthorized(m)) if m.contains("no Beds24 token configured")
    ));
    assert!(w.exists(w.keys.beds24_auth_failed()));
    assert_eq!(w.mock.total_calls(), 0);
}

#[test]
fn a_rejected_long_life_token_is_not_refreshed() {
    let mut w = Beds24Env::start("b24-badlonglife", TokenKind::LongLife);
    w.mock.set_long_life_token("another-token");
    assert!(matches!(
        w.bookings(&ids(&["1"])),
        Err(ApiFailure::Unauthorized(_))
    ));
    assert_eq!(w.mock.calls(Mock::Bookings), 1, "no second try");
    assert_eq!(w.mock.calls(Mock::Token), 0);
    assert!(w.exists(w.keys.beds24_auth_failed()));
}

#[test]
fn a_401_with_a_refresh_token_refreshes_once_and_retries() {
    let mut w = Beds24Env::start("b24-401", TokenKind::Refresh);
    w.mock.booking_from_fixture(1001, |_| {});
    w.bookings(&ids(&["1001"])).unwrap();
    let old = w.text(w.keys.beds24_token()).unwrap();

    w.mock.expire_all_tokens();
    assert_eq!(w.bookings(&ids(&["1001"])).unwrap().len(), 1);
    assert_eq!(w.mock.calls(Mock::Token), 2, "one refresh after the 401");
    assert_eq!(w.mock.calls(Mock::Bookings), 3, "first, rejected, retried");
    let new = w.text(w.keys.beds24_token()).unwrap();
    assert_ne!(new, old, "the cached token was replaced");
    assert!(
        !w.exists(w.keys.beds24_auth_failed()),
        "the retry cleared it"
    );

    // A batch whose bookings and messages are both rejected refreshes once for both.
    w.mock.expire_all_tokens();
    let data = fetch_batch(&mut w.client(), &ids(&["1001"])).unwrap();
    assert_eq!(data.bookings.len(), 1);
    assert!(data.messages.is_some());
    assert_eq!(
        w.mock.calls(Mock::Token),
        3,
        "one refresh for the whole batch"
    );
    assert_eq!(w.mock.calls(Mock::Bookings), 5);
    assert_eq!(w.mock.calls(Mock::Messages), 2);
    assert_eq!(w.api_calls(Endpoint::Token), 3);
    assert_eq!(w.api_calls(Endpoint::Messages), 2);
}

#[test]
fn a_refresh_lock_held_by_another_owner_rate_limits_and_stays_theirs() {
    let mut w = Beds24Env::start("b24-lock", TokenKind::Refresh);
    let lock = w.keys.beds24_token_lock();
    w.redis
        .execute(
            "SET",
            &[
                lock.clone().into(),
                "other-owner".into(),
                "PX".into(),
                60_000i64.into(),
            ],
        )
        .unwrap();

    assert_eq!(
        w.bookings(&ids(&["1"])),
        Err(ApiFailure::RateLimited(
            "another worker is refreshing the Beds24 token".into(),
            Some(1)
        ))
    );
    assert_eq!(w.text(lock.clone()), Some("other-owner".into()));
    assert!(w.ttl(lock) > 50, "the lock keeps its expiry");
    assert_eq!(w.mock.total_calls(), 0);
    assert!(
        !w.exists(w.keys.beds24_auth_failed()),
        "waiting is no rejection"
    );
}

#[test]
fn credit_headers_are_recorded_and_wait_until_answers_at_the_reserve() {
    let mut w = Beds24Env::start("b24-credits", TokenKind::LongLife);
    w.mock.set_credits(CreditsConfig {
        budget: 8.0,
        window: Duration::from_secs(60),
        base_cost: 1.0,
        per_result_cost: 0.0,
    });
    w.mock.booking_from_fixture(1, |_| {});

    w.bookings(&ids(&["1"])).unwrap();
    let credits = w.keys.beds24_credits();
    assert_eq!(w.hget(credits.clone(), "remaining"), Some("7".into()));
    let resets_at: i64 = w
        .hget(credits.clone(), "resetsAt")
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        (now + 55_000..=now + 61_000).contains(&resets_at),
        "{resets_at} vs {now}"
    );
    assert!(w.hget(credits.clone(), "seenAt").is_some());
    assert_eq!(w.client().credits_wait_until(), None, "7 left, reserve 5");

    w.bookings(&ids(&["1"])).unwrap();
    w.bookings(&ids(&["1"])).unwrap();
    assert_eq!(w.hget(credits, "remaining"), Some("5".into()));
    let until = w.client().credits_wait_until().expect("at the reserve");
    assert!(until > chrono::Utc::now().timestamp_millis());
    assert!(until <= resets_at + 1_000);
}

#[test]
fn missing_scopes_are_forbidden_and_flag_readiness() {
    let mut w = Beds24Env::start("b24-scopes", TokenKind::LongLife);
    w.mock.set_scopes(&["read:bookings", "read:properties"]);
    match w.client().check_scopes() {
        Err(ApiFailure::Forbidden(m)) => {
            assert!(m.contains("bookings-personal, bookings-financial"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(w.exists(w.keys.beds24_auth_failed()));
    assert!(!w.exists(w.keys.beds24_scopes_ok()));
    assert_eq!(w.mock.calls(Mock::Details), 1);
    assert_eq!(w.api_calls(Endpoint::Details), 1);
}

#[test]
fn sufficient_scopes_are_remembered_for_an_hour() {
    let mut w = Beds24Env::start("b24-scopes-ok", TokenKind::LongLife);
    w.client().check_scopes().unwrap();
    let ttl = w.ttl(w.keys.beds24_scopes_ok());
    assert!((3_590..=3_600).contains(&ttl), "{ttl}");
    w.client().check_scopes().unwrap();
    assert_eq!(
        w.mock.calls(Mock::Details),
        1,
        "the second check made no call"
    );
    assert_eq!(w.api_calls(Endpoint::Details), 1);
}

#[test]
fn a_rejected_token_fails_the_scope_check_but_a_broken_details_call_does_not() {
    let mut w = Beds24Env::start("b24-scopes-401", TokenKind::LongLife);
    w.mock.set_long_life_token("another-token");
    assert!(matches!(
        w.client().check_scopes(),
        Err(ApiFailure::Unauthorized(m)) if m == "token rejected (HTTP 401)"
    ));
    assert!(w.exists(w.keys.beds24_auth_failed()));

    let mut w = Beds24Env::start("b24-scopes-503", TokenKind::LongLife);
    w.mock
        .set_endpoint_fault(Mock::Details, Fault::Status(503), Times::Always);
    assert_eq!(w.client().check_scopes(), Ok(()));
    assert!(!w.exists(w.keys.beds24_scopes_ok()), "nothing learnt");
}
