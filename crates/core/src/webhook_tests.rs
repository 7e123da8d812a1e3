use super::*;
use http::Method;
use serde_json::json;

const SAMPLE_V2: &str = include_str!("../tests/fixtures/webhook-v2-direct.json");

fn now() -> DateTime<Utc> {
    "2026-02-15T10:07:23Z".parse().unwrap()
}

fn only_job(deliveries: Vec<Delivery>) -> JobRecord {
    match deliveries.as_slice() {
        [Delivery::Job(job)] => (**job).clone(),
        other => panic!("expected one job, got {other:?}"),
    }
}

#[test]
fn seed_curl_payload_is_acknowledged_but_never_a_job() {
    let body = br#"{"booking":{"id":"TEST123","status":"confirmed","arrival":"2025-08-20"},"messages":[]}"#;
    let out = parse_delivery(&Method::POST, "", body, now()).unwrap();
    match &out[..] {
        [Delivery::Skipped { reason, booking_id }] => {
            assert!(reason.contains("whole number"), "{reason}");
            assert_eq!(booking_id.as_deref(), Some("TEST123"));
        }
        other => panic!("a non-numeric id must be skipped, got {other:?}"),
    }
    let out = parse_delivery(&Method::GET, "bookid=TEST123&status=new", b"", now()).unwrap();
    assert!(
        matches!(&out[..], [Delivery::Skipped { reason, .. }] if reason.contains("whole number")),
        "{out:?}"
    );
}

#[test]
fn float_and_zero_padded_ids_name_the_same_booking() {
    for body in [
        &br#"{"booking":{"id":82279106.0}}"#[..],
        br#"{"bookingId":"082279106"}"#,
        br#"{"id":" 82279106 "}"#,
    ] {
        let job = only_job(parse_delivery(&Method::POST, "", body, now()).unwrap());
        assert_eq!(job.booking_id.as_str(), "82279106");
    }
    let job = only_job(parse_delivery(&Method::GET, "bookid=082279106", b"", now()).unwrap());
    assert_eq!(job.booking_id.as_str(), "82279106");
}

#[test]
fn the_job_record_holds_no_guest_data() {
    let mut body: Value = serde_json::from_str(SAMPLE_V2).unwrap();
    body["booking"]["firstName"] = json!("Zelda");
    body["booking"]["email"] = json!("zelda.secret@example.com");
    body["booking"]["phone"] = json!("+34 600 111 222");
    body["messages"] = json!([{"message": "door code 4711"}]);
    let bytes = serde_json::to_vec(&body).unwrap();
    let job = only_job(parse_delivery(&Method::POST, "", &bytes, now()).unwrap());
    let stored = serde_json::to_string(&job).unwrap();
    for secret in ["Zelda", "zelda.secret", "600 111 222", "4711"] {
        assert!(!stored.contains(secret), "{secret:?} in {stored}");
    }
    assert!(stored.contains("82279106"), "{stored}");
    assert_eq!(job.body_bytes, bytes.len());
}

#[test]
fn real_v2_body_without_action_derives_it() {
    let job = only_job(parse_delivery(&Method::POST, "", SAMPLE_V2.as_bytes(), now()).unwrap());
    assert_eq!(job.booking_id.as_str(), "82279106");
    // modifiedTime differs from bookingTime in the sample
    assert_eq!(job.action, Action::Modify);
    assert_eq!((job.source, job.received_at), (Source::V2, now()));
}

#[test]
fn explicit_action_wins_and_id_precedence_follows_the_seed() {
    let body = br#"{"action":"Cancelled","id":7,"booking":{"id":8},"bookingId":9}"#;
    let job = only_job(parse_delivery(&Method::POST, "", body, now()).unwrap());
    assert_eq!(job.booking_id.as_str(), "7");
    assert_eq!(job.action, Action::Cancel);
    let body = br#"{"action":"created","bookingId":"9"}"#;
    let job = only_job(parse_delivery(&Method::POST, "", body, now()).unwrap());
    assert_eq!(
        (job.booking_id.as_str(), job.action),
        ("9", Action::Created)
    );
}

#[test]
fn one_element_array_form_is_accepted() {
    let body = format!("[{SAMPLE_V2}]");
    let job = only_job(parse_delivery(&Method::POST, "", body.as_bytes(), now()).unwrap());
    assert_eq!(job.booking_id.as_str(), "82279106");
}

#[test]
fn missing_or_invalid_id_is_skipped_with_a_reason() {
    let out = parse_delivery(&Method::POST, "", br#"{"booking":{"status":"new"}}"#, now()).unwrap();
    assert!(
        matches!(&out[..], [Delivery::Skipped { reason, booking_id: None }] if reason.starts_with("missing bookingId"))
    );
    let out = parse_delivery(&Method::POST, "", br#"{"id":{"nested":true}}"#, now()).unwrap();
    assert!(
        matches!(&out[..], [Delivery::Skipped { reason, booking_id: None }] if reason.contains("invalid id"))
    );
    // An id that is no short plain text is not echoed into logs or the answer.
    let body = format!(r#"{{"id":"Ana Silva {}"}}"#, "x".repeat(80));
    let out = parse_delivery(&Method::POST, "", body.as_bytes(), now()).unwrap();
    assert!(
        matches!(
            &out[..],
            [Delivery::Skipped {
                booking_id: None,
                ..
            }]
        ),
        "{out:?}"
    );
    let out = parse_delivery(&Method::POST, "", b"[]", now()).unwrap();
    assert!(matches!(&out[..], [Delivery::Skipped { .. }]));
}

#[test]
fn bad_bodies_are_clear_errors() {
    let err = parse_delivery(&Method::POST, "", b"{not json", now()).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidJson(_)));
    assert_eq!(err.status(), 400);
    let err = parse_delivery(&Method::POST, "", b"42", now()).unwrap_err();
    assert_eq!(err, WebhookError::NotAnObject("a number"));
    let err = parse_delivery(&Method::POST, "", b"[1]", now()).unwrap_err();
    assert_eq!(err, WebhookError::NotAnObject("a number"));
    let many = format!("[{}]", vec!["{\"id\":1}"; MAX_ITEMS + 1].join(","));
    assert_eq!(
        parse_delivery(&Method::POST, "", many.as_bytes(), now()).unwrap_err(),
        WebhookError::TooManyItems(MAX_ITEMS + 1)
    );
}

#[test]
fn v1_get_and_bodyless_post_are_jobs() {
    let job =
        only_job(parse_delivery(&Method::GET, "bookid=12345678&status=new", b"", now()).unwrap());
    assert_eq!(
        (job.booking_id.as_str(), job.action, job.source),
        ("12345678", Action::Created, Source::V1)
    );
    let job =
        only_job(parse_delivery(&Method::POST, "bookid=5&status=cancel", b"  ", now()).unwrap());
    assert_eq!((job.booking_id.as_str(), job.action), ("5", Action::Cancel));
}

#[test]
fn wrong_methods_are_405() {
    let err = parse_delivery(&Method::PUT, "", b"{}", now()).unwrap_err();
    assert_eq!(err.status(), 405);
    let err = parse_delivery(&Method::GET, "", b"", now()).unwrap_err();
    assert_eq!((err.status(), err), (400, WebhookError::MissingV1Id));
}
