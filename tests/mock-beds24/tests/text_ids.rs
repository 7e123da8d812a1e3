//! Text booking ids (`"TEST123"`) next to numeric ones: storage, `id`/`bookingId` filters, counters and faults.

mod common;

use common::get;
use mock_beds24::{fixtures, BookingKey, Endpoint, Fault, MockBeds24, Times};
use serde_json::json;

#[tokio::test]
async fn text_id_booking_is_served_with_its_string_id_and_counted() {
    let mock = MockBeds24::start().unwrap();
    mock.upsert_booking(fixtures::sample_booking());
    let mut b = fixtures::sample_booking();
    b["id"] = json!("TEST123");
    assert_eq!(mock.upsert_booking(b), "TEST123");

    let r = get(
        &mock,
        "/bookings?id=TEST123&status=confirmed&includeInvoiceItems=true",
    )
    .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 1);
    assert_eq!(body["data"][0]["id"], json!("TEST123"));
    assert_eq!(body["data"][0]["invoiceItems"].as_array().unwrap().len(), 3);
    assert!(body["data"][0].get("infoItems").is_none());
    assert_eq!(mock.fetches_of(Endpoint::Bookings, "TEST123"), 1);
    assert_eq!(mock.requested_ids(Endpoint::Bookings), [["TEST123"]]);

    // The numeric booking is still found by its number, and stays a JSON number.
    let r = get(&mock, "/bookings?id=82279106").await;
    assert_eq!(r.ids(), [82279106]);
    assert_eq!(mock.fetches_of(Endpoint::Bookings, 82279106), 1);
    assert_eq!(mock.fetches_of(Endpoint::Bookings, "TEST123"), 1);
    // Text ids match exactly.
    assert_eq!(get(&mock, "/bookings?id=test123").await.json()["count"], 0);
    let both = get(&mock, "/bookings?id=TEST123&id=82279106").await.json();
    assert_eq!(both["data"][0]["id"], 82279106);
    assert_eq!(both["data"][1]["id"], "TEST123");
}

#[tokio::test]
async fn text_id_handle_methods() {
    let mock = MockBeds24::start().unwrap();
    let b = mock.booking_from_fixture("TEST123", |b| b["status"] = json!("new"));
    assert_eq!(b["id"], "TEST123");
    assert_eq!(b["invoiceItems"][0]["bookingId"], "TEST123");
    mock.booking_from_fixture(7, |_| {});
    assert_eq!(mock.booking_keys(), [BookingKey::from(7), "TEST123".into()]);
    assert_eq!(mock.booking_ids(), [7]);
    assert_eq!(mock.booking("TEST123").unwrap()["status"], "new");
    let updated = mock.update_booking("TEST123", |b| b["lastName"] = json!("Silva"));
    assert_eq!(updated.unwrap()["lastName"], "Silva");

    let mut m = fixtures::generated_message(1, 0);
    m["bookingId"] = json!("TEST123");
    mock.add_message(m);
    let hook = mock.webhook_v2_body("TEST123").unwrap();
    assert_eq!(hook["booking"]["id"], "TEST123");
    assert_eq!(hook["messages"].as_array().unwrap().len(), 1);
    let msgs = get(&mock, "/bookings/messages?bookingId=TEST123")
        .await
        .json();
    assert_eq!(msgs["count"], 1);
    assert_eq!(mock.fetches_of(Endpoint::Messages, "TEST123"), 1);

    assert!(mock.remove_booking("TEST123").is_some());
    assert!(mock.booking("TEST123").is_none());
    assert_eq!(get(&mock, "/bookings?id=TEST123").await.json()["count"], 0);
}

#[tokio::test]
async fn text_id_faults() {
    let mock = MockBeds24::start().unwrap();
    mock.booking_from_fixture("TEST123", |_| {});
    mock.booking_from_fixture(1, |_| {});
    mock.set_fault_text(Some("TEST123"), Fault::Status(503), Times::Once);
    assert_eq!(get(&mock, "/bookings?id=1").await.status, 200);
    assert_eq!(get(&mock, "/bookings?id=TEST123").await.status, 503);
    assert_eq!(get(&mock, "/bookings?id=TEST123").await.status, 200);

    mock.add_fault_text("TEST123", Fault::Deleted, Times::Once);
    let r = get(&mock, "/bookings?id=TEST123&id=1").await;
    assert_eq!(r.ids(), [1]);
    assert_eq!(mock.armed_faults(), 0);
}

#[test]
#[should_panic(expected = "non-empty string")]
fn empty_text_id_is_refused() {
    let mock = MockBeds24::start().unwrap();
    mock.upsert_booking(json!({"id": ""}));
}
