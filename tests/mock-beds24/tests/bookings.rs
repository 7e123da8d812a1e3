//! `GET /bookings` behaviour: ids, status defaults, items, filters and paging.

mod common;

use common::get;
use mock_beds24::{fixtures, MockBeds24};
use serde_json::json;

#[tokio::test]
async fn fixture_booking_round_trips_with_items() {
    let mock = MockBeds24::start().unwrap();
    mock.upsert_booking(fixtures::sample_booking());
    let r = get(
        &mock,
        "/bookings?id=82279106&includeInvoiceItems=true&includeInfoItems=true",
    )
    .await;
    assert_eq!(r.status, 200);
    let expected: serde_json::Value = serde_json::from_str(fixtures::BOOKINGS_RESPONSE).unwrap();
    assert_eq!(r.json(), expected);
    // Envelope keys in the real order, not serde's alphabetical one.
    assert!(r
        .text
        .starts_with(r#"{"success":true,"type":"booking","count":1,"pages":"#));
}

#[tokio::test]
async fn items_only_when_asked() {
    let mock = MockBeds24::start().unwrap();
    mock.upsert_booking(fixtures::sample_booking());
    let b = &get(&mock, "/bookings?id=82279106").await.json()["data"][0];
    assert!(b.get("invoiceItems").is_none() && b.get("infoItems").is_none());
    let b = &get(&mock, "/bookings?id=82279106&includeInvoiceItems=true")
        .await
        .json()["data"][0];
    assert_eq!(b["invoiceItems"].as_array().unwrap().len(), 3);
    assert!(b.get("infoItems").is_none());
}

#[tokio::test]
async fn multi_id_fetch_and_string_ids() {
    let mock = MockBeds24::start().unwrap();
    for id in [1, 2, 3, 4] {
        mock.booking_from_fixture(id, |_| {});
    }
    // Stored with a string id: still matched numerically.
    let mut b = fixtures::booking_with_id(5);
    b["id"] = json!("5");
    mock.upsert_booking(b);
    let r = get(&mock, "/bookings?id=4&id=2&id=5&id=999").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["count"], 3);
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].to_string().trim_matches('"').to_string())
        .collect();
    assert_eq!(ids, ["2", "4", "5"]);
    // Non-numeric ids are text ids now: no match here, but no 400 either.
    let r = get(&mock, "/bookings?id=abc").await;
    assert_eq!((r.status, r.json()["count"].as_u64()), (200, Some(0)));
}

#[tokio::test]
async fn cancelled_hidden_unless_listed() {
    let mock = MockBeds24::start().unwrap();
    mock.booking_from_fixture(1, |b| b["status"] = json!("confirmed"));
    mock.booking_from_fixture(2, |b| b["status"] = json!("cancelled"));
    assert_eq!(get(&mock, "/bookings?id=1&id=2").await.ids(), [1]);
    let all = "/bookings?id=1&id=2&status=confirmed&status=cancelled";
    assert_eq!(get(&mock, all).await.ids(), [1, 2]);
    assert_eq!(
        get(&mock, "/bookings?id=1&id=2&status=cancelled")
            .await
            .ids(),
        [2]
    );
}

#[tokio::test]
async fn comma_lists_and_bad_values_are_400() {
    let mock = MockBeds24::start().unwrap();
    for q in [
        "/bookings?status=new,cancelled",
        "/bookings?id=1,2",
        "/bookings?id=",
        "/bookings?status=bogus",
        "/bookings?modifiedFrom=yesterday",
        "/bookings?page=0",
    ] {
        let r = get(&mock, q).await;
        assert_eq!(r.status, 400, "{q}");
        let body = r.json();
        assert_eq!(body["success"], false);
        assert_eq!(body["type"], "error");
        assert_eq!(body["code"], 400);
        assert!(body["error"].as_str().unwrap().len() > 5);
    }
}

#[tokio::test]
async fn paging_follows_next_page_link() {
    let mock = MockBeds24::start().unwrap();
    mock.set_page_size(2);
    for id in 1..=5 {
        mock.booking_from_fixture(id, |_| {});
    }
    let mut seen = Vec::new();
    let mut url = "/bookings?modifiedFrom=2026-01-01T00:00:00Z".to_string();
    let mut pages = 0;
    loop {
        let body = get(&mock, &url).await.json();
        pages += 1;
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_u64().unwrap()),
        );
        if !body["pages"]["nextPageExists"].as_bool().unwrap() {
            assert!(body["pages"]["nextPageLink"].is_null());
            break;
        }
        let link = body["pages"]["nextPageLink"].as_str().unwrap();
        url = link.strip_prefix(&mock.base_url()).unwrap().to_string();
        assert!(url.contains("modifiedFrom="), "filters kept: {url}");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    let past_end = get(&mock, "/bookings?modifiedFrom=2026-01-01T00:00:00Z&page=9").await;
    assert_eq!(past_end.json()["count"], 0);
}

#[tokio::test]
async fn modified_from_filters() {
    let mock = MockBeds24::start().unwrap();
    mock.booking_from_fixture(1, |b| b["modifiedTime"] = json!("2026-03-01T10:00:00Z"));
    mock.booking_from_fixture(2, |b| b["modifiedTime"] = json!("2026-03-02T10:00:00Z"));
    let r = get(&mock, "/bookings?modifiedFrom=2026-03-01T10:00:01Z").await;
    assert_eq!(r.ids(), [2]);
    let r = get(&mock, "/bookings?modifiedFrom=2026-03-01T12:00:00%2B02:00").await;
    assert_eq!(r.ids(), [1, 2]);
    // update_booking bumps modifiedTime to now, like a real change.
    mock.update_booking(1, |b| b["lastName"] = json!("Silva"))
        .unwrap();
    let r = get(&mock, "/bookings?modifiedFrom=2026-06-01T00:00:00Z").await;
    assert_eq!(r.ids(), [1]);
}

#[tokio::test]
async fn unfiltered_list_shows_only_upcoming() {
    let mock = MockBeds24::start().unwrap();
    mock.booking_from_fixture(1, |b| b["departure"] = json!("2020-01-02"));
    mock.booking_from_fixture(2, |b| b["departure"] = json!("2099-01-02"));
    assert_eq!(get(&mock, "/bookings").await.ids(), [2]);
    assert_eq!(get(&mock, "/bookings?id=1").await.ids(), [1]);
    mock.set_upcoming_only_default(false);
    assert_eq!(get(&mock, "/bookings").await.ids(), [1, 2]);
}

#[tokio::test]
async fn removed_booking_is_gone() {
    let mock = MockBeds24::start().unwrap();
    mock.booking_from_fixture(1, |_| {});
    assert!(mock.remove_booking(1).is_some());
    let r = get(&mock, "/bookings?id=1").await;
    assert_eq!((r.status, r.json()["count"].as_u64()), (200, Some(0)));
}
