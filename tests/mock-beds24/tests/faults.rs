//! Every fault kind, per booking and global, one-shot, counted and sticky.

mod common;

use std::time::{Duration, Instant};

use common::{get, get_with};
use mock_beds24::{Endpoint, Fault, FaultTarget, MockBeds24, Times};

fn mock_with(ids: &[u64]) -> MockBeds24 {
    let mock = MockBeds24::start().unwrap();
    for &id in ids {
        mock.booking_from_fixture(id, |_| {});
    }
    mock
}

#[tokio::test]
async fn status_faults_once_n_and_always() {
    let mock = mock_with(&[1, 2]);
    mock.set_fault(Some(1), Fault::Status(503), Times::Once);
    let r = get(&mock, "/bookings?id=1&id=2").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["code"], 503);
    assert_eq!(r.header("x-request-cost"), "0");
    assert!(!r.header("x-five-min-limit-remaining").is_empty());
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);

    mock.set_fault(None, Fault::Status(500), Times::N(2));
    assert_eq!(get(&mock, "/properties").await.status, 500);
    assert_eq!(get(&mock, "/bookings?id=2").await.status, 500);
    assert_eq!(get(&mock, "/bookings?id=2").await.status, 200);

    mock.set_fault(Some(2), Fault::Status(502), Times::Always);
    for _ in 0..3 {
        assert_eq!(get(&mock, "/bookings?id=2").await.status, 502);
    }
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);
    // A booking fault also hits a list page that contains the booking.
    assert_eq!(
        get(&mock, "/bookings?modifiedFrom=2020-01-01").await.status,
        502
    );
    assert_eq!(mock.armed_faults(), 1);
    mock.clear_faults();
    assert_eq!(get(&mock, "/bookings?id=2").await.status, 200);
}

#[tokio::test]
async fn html_400_401_403_429_bodies() {
    let mock = mock_with(&[1]);
    mock.set_fault(None, Fault::HtmlStatus(502), Times::Once);
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(r.text.contains("502 Bad Gateway"));

    mock.set_fault(
        None,
        Fault::BadRequest("arrivalFrom is invalid".into()),
        Times::Once,
    );
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("arrivalFrom is invalid"))
    );

    mock.set_fault(None, Fault::Status(401), Times::Once);
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("Token not valid"))
    );

    mock.set_fault(
        Some(1),
        Fault::Forbidden("bookings-personal".into()),
        Times::Once,
    );
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(r.status, 403);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("bookings-personal"));

    mock.set_fault(None, Fault::Status(429), Times::Once);
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!((r.status, r.json()["code"].as_u64()), (429, Some(429)));
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);
}

#[tokio::test]
async fn delays_per_booking_and_global_latency() {
    let mock = mock_with(&[1, 2]);
    mock.set_fault(
        Some(1),
        Fault::Delay(Duration::from_millis(300)),
        Times::Once,
    );
    let t = Instant::now();
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.armed_faults(), 0, "the one-shot delay is used up");

    // A delay combines with a terminal fault on the same target via add_fault.
    mock.add_fault(
        FaultTarget::Booking(2),
        Fault::Delay(Duration::from_millis(200)),
        Times::Once,
    );
    mock.add_fault(FaultTarget::Booking(2), Fault::Status(500), Times::Once);
    let t = Instant::now();
    assert_eq!(get(&mock, "/bookings?id=2").await.status, 500);
    assert!(t.elapsed() >= Duration::from_millis(200));

    mock.set_latency(Duration::from_millis(200));
    let t = Instant::now();
    get(&mock, "/properties").await;
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn invalid_json_body() {
    let mock = mock_with(&[1]);
    mock.set_fault(Some(1), Fault::InvalidJson, Times::Once);
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
}

#[tokio::test]
async fn connection_reset_without_response() {
    let mock = mock_with(&[1]);
    mock.set_fault(Some(1), Fault::ConnectionReset, Times::Once);
    // The failure comes from `send()`: no status line ever arrives.
    let sent = reqwest::Client::new()
        .get(format!("{}/bookings?id=1", mock.base_url()))
        .header("token", mock.long_life_token())
        .send()
        .await;
    let err = sent.expect_err("expected a transport error");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    let log = mock.call_log();
    assert_eq!(log.last().unwrap().status, None);
    // The server keeps serving new connections.
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);
}

#[tokio::test]
async fn deleted_booking_is_absent_from_data() {
    let mock = mock_with(&[1, 2]);
    mock.set_fault(Some(1), Fault::Deleted, Times::N(2));
    assert_eq!(get(&mock, "/bookings?id=1&id=2").await.ids(), [2]);
    assert_eq!(
        get(&mock, "/bookings?modifiedFrom=2020-01-01").await.ids(),
        [2]
    );
    assert_eq!(get(&mock, "/bookings?id=1&id=2").await.ids(), [1, 2]);
}

#[tokio::test]
async fn endpoint_faults_reach_the_token_endpoint() {
    let mock = mock_with(&[]);
    // Global faults leave the authentication endpoints alone...
    mock.set_fault(None, Fault::Status(500), Times::Always);
    let refresh = mock.refresh_token();
    let h = [("refreshToken", refresh.as_str())];
    assert_eq!(
        get_with(&mock, "/authentication/token", &h).await.status,
        200
    );
    // ...an endpoint fault does not.
    mock.set_endpoint_fault(Endpoint::Token, Fault::Status(503), Times::Once);
    assert_eq!(
        get_with(&mock, "/authentication/token", &h).await.status,
        503
    );
    assert_eq!(
        get_with(&mock, "/authentication/token", &h).await.status,
        200
    );
}
