//! Fetching a batch on the real mock Beds24 and a real Redis: concurrent paged lists, property names, the native HTTP door.

use std::time::{Duration, Instant};

use beds24_sync_core::beds24::urls::ApiBase;
use beds24_sync_core::beds24::{
    fetch_batch, finish_batch, start_batch, ApiFailure, Endpoint, HttpError, HttpGet, Request,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::BookingId;
use beds24_testkit::{Beds24Env, NativeHttp, TokenKind};
use mock_beds24::{Endpoint as Mock, Fault, MockBeds24, Times};
use serde_json::json;
use url::Url;

fn ids(list: &[&str]) -> Vec<BookingId> {
    list.iter().map(|s| BookingId::parse(s).unwrap()).collect()
}

#[test]
fn concurrent_lists_page_on_and_a_failing_list_fails_alone() {
    let mut w = Beds24Env::start("b24-concurrent", TokenKind::LongLife);
    w.mock.set_page_size(1);
    for id in [11, 12, 13] {
        w.mock.booking_from_fixture(id, |_| {});
    }
    w.mock
        .set_endpoint_fault(Mock::Messages, Fault::Status(503), Times::Always);
    let batch = ids(&["11", "12", "13"]);
    let api = w.config.api.clone();
    let bookings = |page| api.bookings(&batch, page);
    let messages = |page| api.messages(&batch, page);
    let results = w.client().get_all_concurrently(&[
        (Endpoint::Bookings, &bookings as &dyn Fn(u32) -> Url),
        (Endpoint::Messages, &messages),
    ]);
    assert_eq!(
        results[0].as_ref().map(Vec::len),
        Ok(3),
        "three pages of one"
    );
    assert!(matches!(&results[1], Err(ApiFailure::Transient(_))));
    assert_eq!(w.mock.calls(Mock::Bookings), 3);
    assert_eq!(
        w.mock.calls(Mock::Messages),
        1,
        "a failed list stops paging"
    );
    assert_eq!(w.api_calls(Endpoint::Bookings), 3);
    assert_eq!(w.api_calls(Endpoint::Messages), 1);

    // Through fetch_batch: the bookings stand, the messages are unknown (not empty).
    let data = fetch_batch(&mut w.client(), &batch).unwrap();
    assert_eq!(data.bookings.len(), 3);
    assert_eq!(data.messages, None);
    assert_eq!(data.as_input().messages, None);
    assert_eq!(data.as_input().bookings.len(), 3);
}

#[test]
fn a_failing_bookings_list_fails_the_batch() {
    let mut w = Beds24Env::start("b24-bookings-fail", TokenKind::LongLife);
    w.mock
        .set_endpoint_fault(Mock::Bookings, Fault::Status(400), Times::Always);
    assert!(matches!(
        fetch_batch(&mut w.client(), &ids(&["5"])),
        Err(ApiFailure::BadRequest(_))
    ));
    assert_eq!(
        w.mock.calls(Mock::Properties),
        0,
        "no names for a failed batch"
    );
}

#[test]
fn pages_of_both_lists_are_in_flight_together() {
    let mut w = Beds24Env::start("b24-inflight", TokenKind::LongLife);
    w.mock.booking_from_fixture(21, |_| {});
    w.mock.set_properties(vec![]);
    let latency = Duration::from_millis(500);
    w.mock.set_latency(latency);
    let started = Instant::now();
    let data = fetch_batch(&mut w.client(), &ids(&["21"])).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(data.bookings.len(), 1);
    // bookings + messages together (one latency), then properties (one more).
    assert!(
        elapsed < latency * 3 - Duration::from_millis(150),
        "took {elapsed:?}: bookings and messages went out one after the other"
    );
}

#[test]
fn a_started_batch_is_answered_while_the_caller_does_other_work() {
    let mut w = Beds24Env::start("b24-started", TokenKind::LongLife);
    w.mock.booking_from_fixture(22, |_| {});
    w.mock.set_properties(vec![]);
    let latency = Duration::from_millis(500);
    w.mock.set_latency(latency);
    let began = Instant::now();
    let started = start_batch(&mut w.client(), &ids(&["22"]));
    assert!(began.elapsed() < latency, "start waited for the answer");
    // The worker stores the previous batch meanwhile.
    std::thread::sleep(latency);
    w.redis.execute("PING", &[]).unwrap();
    let data = finish_batch(&mut w.client(), started).unwrap();
    let elapsed = began.elapsed();
    assert_eq!(data.bookings.len(), 1);
    assert!(data.messages.is_some());
    // The other work and the first pages overlap, then properties: two latencies, not three.
    assert!(
        elapsed < latency * 3 - Duration::from_millis(150),
        "took {elapsed:?}: the requests waited for finish to be sent"
    );
    assert_eq!(w.mock.calls(Mock::Bookings), 1);
    assert_eq!(w.mock.calls(Mock::Messages), 1);
}

#[test]
fn a_started_batch_whose_token_expired_refreshes_once_when_finished() {
    let mut w = Beds24Env::start("b24-started-401", TokenKind::Refresh);
    w.mock.booking_from_fixture(23, |_| {});
    w.bookings(&ids(&["23"])).unwrap();
    assert_eq!(w.mock.calls(Mock::Token), 1);

    w.mock.expire_all_tokens();
    let started = start_batch(&mut w.client(), &ids(&["23"]));
    // Finished by another client, as the worker does after storing the batch before.
    let data = finish_batch(&mut w.client(), started).unwrap();
    assert_eq!(data.bookings.len(), 1);
    assert!(data.messages.is_some());
    assert_eq!(w.mock.calls(Mock::Token), 2, "one refresh for both lists");
    assert_eq!(w.mock.calls(Mock::Bookings), 3, "first, rejected, retried");
    assert_eq!(w.mock.calls(Mock::Messages), 2, "rejected, retried");
    assert!(!w.exists(w.keys.beds24_auth_failed()));
}

#[test]
fn property_names_are_cached_for_an_hour_and_messages_matched() {
    let mut w = Beds24Env::start("b24-properties", TokenKind::LongLife);
    w.mock.booking_from_fixture(31, |_| {});
    w.mock.set_properties(vec![
        json!({"id": 125517, "name": "Casa Azul"}),
        json!({"id": 9, "name": "Nine"}),
        json!({"id": 10}),
    ]);
    w.mock.add_message(json!({
        "id": 1, "bookingId": 31, "time": "2026-01-01T00:00:00Z",
        "source": "guest", "message": "hi", "read": false
    }));

    let first = fetch_batch(&mut w.client(), &ids(&["31"])).unwrap();
    assert_eq!(first.messages.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        first.property_names.len(),
        2,
        "a property without a name is left out"
    );
    assert_eq!(first.property_names["125517"], "Casa Azul");
    assert_eq!(first.property_names["9"], "Nine");
    let ttl = w.ttl(w.keys.beds24_properties());
    assert!((3_590..=3_600).contains(&ttl), "{ttl}");

    let second = fetch_batch(&mut w.client(), &ids(&["31"])).unwrap();
    assert_eq!(second.property_names, first.property_names);
    assert_eq!(
        w.mock.calls(Mock::Properties),
        1,
        "the second fetch used the cache"
    );
    assert_eq!(w.api_calls(Endpoint::Bookings), 2);
    assert_eq!(w.api_calls(Endpoint::Messages), 2);
    assert_eq!(w.api_calls(Endpoint::Properties), 1);
}

#[test]
fn unreachable_beds24_is_unreachable_per_list() {
    let mut w = Beds24Env::start("b24-unreachable", TokenKind::LongLife);
    let port = beds24_testkit::free_port();
    w.config.api = ApiBase::parse(&format!("http://127.0.0.1:{port}/v2")).unwrap();
    match fetch_batch(&mut w.client(), &ids(&["1"])) {
        Err(ApiFailure::Unreachable(m)) => assert!(m.starts_with("bookings call: "), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.api_calls(Endpoint::Bookings), 1);
    assert!(!w.exists(w.keys.beds24_credits()), "no answer, no credits");
}

#[test]
fn the_native_http_door_honours_its_timeout() {
    let mock = MockBeds24::start().unwrap();
    mock.set_latency(Duration::from_secs(3));
    let url = Url::parse(&format!("{}/properties", mock.base_url())).unwrap();
    let request = Request::get(url, vec![]);
    let started = Instant::now();
    let answer = NativeHttp::new().get(&request, Duration::from_millis(300));
    assert!(matches!(answer, Err(HttpError::Timeout(_))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
