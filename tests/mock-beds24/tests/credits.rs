//! The credit budget: headers on every response, countdown, 429, and the window reset.

mod common;

use std::time::Duration;

use common::{get, get_with};
use mock_beds24::{CreditsConfig, MockBeds24};

#[tokio::test]
async fn headers_count_down_with_fractional_costs() {
    let mock = MockBeds24::start().unwrap();
    mock.seed_generated(12);
    let r = get(&mock, "/bookings?id=1&id=2").await;
    assert_eq!(r.header("x-request-cost"), "1.2");
    assert_eq!(r.header("x-five-min-limit-remaining"), "98.8");
    let resets: u64 = r.header("x-five-min-limit-resets-in").parse().unwrap();
    assert!((299..=300).contains(&resets));
    let r = get(&mock, "/bookings?id=3").await;
    assert_eq!(r.header("x-request-cost"), "1.1");
    assert_eq!(r.header("x-five-min-limit-remaining"), "97.7");
    assert!((mock.credits_remaining() - 97.7).abs() < 1e-9);
    // Errors carry the headers too and cost nothing.
    let r = get_with(&mock, "/properties", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-request-cost"), "0");
    assert_eq!(r.header("x-five-min-limit-remaining"), "97.7");
}

#[tokio::test]
async fn budget_exhaustion_gives_429_until_the_window_resets() {
    let mock = MockBeds24::start().unwrap();
    mock.set_credits(CreditsConfig {
        budget: 3.0,
        window: Duration::from_secs(1),
        base_cost: 1.0,
        per_result_cost: 0.5,
    });
    mock.seed_generated(2);
    let r = get(&mock, "/bookings?id=1").await; // 1.5
    assert_eq!(
        (r.status, r.header("x-five-min-limit-remaining")),
        (200, "1.5".into())
    );
    let r = get(&mock, "/bookings?id=1&id=2").await; // 2.0: overshoots to 0
    assert_eq!(
        (r.status, r.header("x-five-min-limit-remaining")),
        (200, "0".into())
    );
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["code"], 429);
    assert_eq!(r.json()["success"], false);
    assert_eq!(r.header("x-request-cost"), "0");
    assert_eq!(r.header("x-five-min-limit-resets-in"), "1");
    // Token endpoints are free and not blocked.
    let refresh = mock.refresh_token();
    let t = get_with(
        &mock,
        "/authentication/token",
        &[("refreshToken", &refresh)],
    )
    .await;
    assert_eq!(t.status, 200);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(
        (r.status, r.header("x-five-min-limit-remaining")),
        (200, "1.5".into())
    );
}

#[tokio::test]
async fn reset_credits_refills() {
    let mock = MockBeds24::start().unwrap();
    mock.set_credits(CreditsConfig {
        budget: 1.0,
        ..CreditsConfig::default()
    });
    assert_eq!(get(&mock, "/properties").await.status, 200);
    assert_eq!(get(&mock, "/properties").await.status, 429);
    assert_eq!(mock.credits_remaining(), 0.0);
    assert!((mock.credits_spent() - 1.0).abs() < 1e-9);
    mock.reset_credits();
    assert_eq!(get(&mock, "/properties").await.status, 200);
}
