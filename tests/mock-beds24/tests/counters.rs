//! Request counters and the per-call id log.

mod common;

use common::{get, get_with};
use mock_beds24::{Endpoint, MockBeds24};

#[tokio::test]
async fn counts_calls_and_ids_per_endpoint() {
    let mock = MockBeds24::start().unwrap();
    mock.seed_generated(60);
    let first: String = (1..=50).map(|i| format!("id={i}&")).collect();
    let r = get(&mock, &format!("/bookings?{first}")).await;
    // Generated ids 20 and 40 are cancelled, hidden by the default status filter.
    assert_eq!(r.json()["count"], 48);
    get(&mock, "/bookings?id=7").await;
    get(&mock, "/bookings/messages?bookingId=7").await;
    get(&mock, "/properties").await;
    get(&mock, "/authentication/details").await;
    let refresh = mock.refresh_token();
    get_with(
        &mock,
        "/authentication/token",
        &[("refreshToken", &refresh)],
    )
    .await;
    get_with(&mock, "/bookings?id=7", &[]).await; // 401 still counts

    assert_eq!(mock.calls(Endpoint::Bookings), 3);
    assert_eq!(mock.calls(Endpoint::Messages), 1);
    assert_eq!(mock.calls(Endpoint::Properties), 1);
    assert_eq!(mock.calls(Endpoint::Details), 1);
    assert_eq!(mock.calls(Endpoint::Token), 1);
    assert_eq!(mock.total_calls(), 7);
    let ids = mock.requested_ids(Endpoint::Bookings);
    assert_eq!(ids[0].len(), 50);
    assert_eq!(ids[1], ["7"]);
    assert_eq!(mock.fetches_of(Endpoint::Bookings, 7), 3);
    assert_eq!(mock.fetches_of(Endpoint::Messages, 7), 1);
    let statuses: Vec<_> = mock.call_log().iter().map(|c| c.status).collect();
    assert_eq!(statuses.last(), Some(&Some(401)));
    assert!(mock.call_log()[0].query.starts_with("id=1&id=2"));

    mock.reset_counters();
    assert_eq!(mock.total_calls(), 0);
    assert!(mock.requested_ids(Endpoint::Bookings).is_empty());
}

#[tokio::test]
async fn counts_survive_a_disabled_call_log() {
    let mock = MockBeds24::start_with(mock_beds24::MockConfig {
        record_calls: false,
        ..Default::default()
    })
    .unwrap();
    get(&mock, "/bookings?id=1").await;
    get(&mock, "/properties").await;
    assert_eq!(mock.calls(Endpoint::Bookings), 1);
    assert_eq!(mock.total_calls(), 2);
    assert!(mock.call_log().is_empty());
}

#[test]
fn handle_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockBeds24>();
}
