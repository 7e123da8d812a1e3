//! Messages and properties endpoints, and the blocking (no runtime) use of the mock.

mod common;

use std::io::{Read, Write};

use common::get;
use mock_beds24::{fixtures, Endpoint, MockBeds24};
use serde_json::json;

#[tokio::test]
async fn messages_by_booking_with_paging() {
    let mock = MockBeds24::start().unwrap();
    for m in fixtures::sample_messages() {
        mock.add_message(m);
    }
    mock.add_message(fixtures::generated_message(9, 77));
    let r = get(&mock, "/bookings/messages?bookingId=82279106").await;
    let expected: serde_json::Value = serde_json::from_str(fixtures::MESSAGES_RESPONSE).unwrap();
    assert_eq!(r.json(), expected);
    let both = get(&mock, "/bookings/messages?bookingId=82279106&bookingId=77").await;
    assert_eq!(both.json()["count"], 3);
    mock.set_page_size(2);
    let p2 = get(&mock, "/bookings/messages?page=2").await.json();
    assert_eq!(p2["count"], 1);
    assert_eq!(p2["data"][0]["bookingId"], 77);
    assert_eq!(
        get(&mock, "/bookings/messages?bookingId=1,2").await.status,
        400
    );
    assert_eq!(
        mock.requested_ids(Endpoint::Messages)[1],
        ["82279106", "77"]
    );
}

#[tokio::test]
async fn properties_default_and_configured() {
    let mock = MockBeds24::start().unwrap();
    let body = get(&mock, "/properties").await.json();
    assert_eq!(body["type"], "property");
    assert_eq!(body["data"], json!([{"id": 125517, "name": "Casa Azul"}]));
    mock.set_properties(vec![
        json!({"id": 1, "name": "A"}),
        json!({"id": 2, "name": "B"}),
    ]);
    assert_eq!(get(&mock, "/properties?id=2").await.ids(), [2]);
    assert_eq!(get(&mock, "/properties").await.json()["count"], 2);
}

#[test]
fn works_without_any_runtime() {
    let mock = MockBeds24::start().unwrap();
    mock.seed_generated(30);
    let mut s = std::net::TcpStream::connect(mock.addr()).unwrap();
    let req = format!(
        "GET /v2/bookings?id=3&id=4 HTTP/1.1\r\nhost: x\r\ntoken: {}\r\nconnection: close\r\n\r\n",
        mock.long_life_token()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains(r#""count":2"#));
    assert_eq!(mock.fetches_of(Endpoint::Bookings, 3), 1);
    mock.stop();
}

#[test]
fn generated_bookings_are_varied_and_upcoming() {
    let mock = MockBeds24::start().unwrap();
    mock.seed_generated(40);
    assert_eq!(mock.booking_ids().len(), 40);
    assert_eq!(mock.booking(20).unwrap()["status"], "cancelled");
    assert_eq!(mock.messages().len(), 4);
    let hook = mock.webhook_v2_body(10).unwrap();
    assert_eq!(hook["booking"]["id"], 10);
    assert_eq!(hook["messages"].as_array().unwrap().len(), 1);
    assert!(hook["booking"].get("invoiceItems").is_none());
    assert_eq!(hook["invoiceItems"][0]["bookingId"], 10);
}
