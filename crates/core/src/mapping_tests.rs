use super::*;
use serde_json::json;

const BOOKINGS: &str = include_str!("../tests/fixtures/bookings-response.json");
const MESSAGES: &str = include_str!("../tests/fixtures/messages-response.json");

fn ctx(names: &HashMap<String, String>) -> MappingContext<'_> {
    MappingContext {
        property_names: names,
        messages: Some(vec![]),
        now: "2026-02-15T10:08:00Z".parse().unwrap(),
        state: SyncState::Synced,
    }
}

fn sample() -> Value {
    let envelope: Value = serde_json::from_str(BOOKINGS).unwrap();
    envelope["data"][0].clone()
}

#[test]
fn maps_the_sample_booking_column_by_column() {
    let names = HashMap::from([("125517".to_owned(), "Casa Azul".to_owned())]);
    let messages: Value = serde_json::from_str(MESSAGES).unwrap();
    let mut context = ctx(&names);
    context.messages = Some(messages["data"].as_array().unwrap().clone());
    let (row, anomalies) = map_booking(&sample(), context).unwrap();
    assert!(anomalies.is_empty(), "{anomalies:?}");
    assert_eq!(row.booking_id.as_str(), "82279106");
    assert_eq!(row.phone, None);
    assert_eq!(row.guest_name, None);
    assert_eq!(row.status.as_deref(), Some("confirmed"));
    assert_eq!(row.property_name.as_deref(), Some("Casa Azul"));
    assert_eq!(row.arrival_date, NaiveDate::from_ymd_opt(2026, 2, 16));
    assert_eq!(row.departure_date, NaiveDate::from_ymd_opt(2026, 2, 17));
    assert_eq!(row.num_nights, Some(1));
    assert_eq!(row.total_persons, Some(2));
    assert_eq!(row.total_charges, Decimal::from(713));
    assert_eq!(row.total_payments, Decimal::ZERO);
    assert_eq!(row.balance, Decimal::from(713));
    assert_eq!(row.base_price, Some(Decimal::from(713)));
    assert_eq!(row.channel.as_deref(), Some("direct"));
    assert_eq!(row.email, None);
    assert_eq!(
        row.modified_date,
        Some("2026-02-15T10:07:22Z".parse().unwrap())
    );
    assert_eq!(row.bd_status, SyncState::Synced);
    assert_eq!(row.charges.as_array().unwrap().len(), 3);
    assert_eq!(row.payments, json!([]));
    assert_eq!(row.messages.unwrap().as_array().unwrap().len(), 2);
    assert_eq!(row.info_items, json!([]));
    assert_eq!(row.raw["id"], json!(82279106));
}

#[test]
fn guest_fields_fall_back_and_join() {
    let mut booking = sample();
    booking["firstName"] = json!("Ana");
    booking["lastName"] = json!("Silva");
    booking["mobile"] = json!("+351 900 000 000");
    booking["email"] = json!("ana@example.com");
    let names = HashMap::new();
    let (row, _) = map_booking(&booking, ctx(&names)).unwrap();
    assert_eq!(row.guest_name.as_deref(), Some("Ana Silva"));
    assert_eq!(row.phone.as_deref(), Some("+351 900 000 000"));
    assert_eq!(row.email.as_deref(), Some("ana@example.com"));
    assert_eq!(row.property_name, None);
}

#[test]
fn payments_add_refunds_subtract_in_exact_decimals() {
    let mut booking = sample();
    // Beds24's own sign convention: a payment has a positive amount and a negative
    // lineTotal, a refund the opposite.
    booking["invoiceItems"] = json!([
        {"id": 1, "type": "charge", "qty": 1, "amount": 59.13, "lineTotal": 59.13},
        {"id": 2, "type": "charge", "qty": 2, "amount": 0.1},
        {"id": 3, "type": "payment", "qty": 1, "amount": 20.05, "lineTotal": -20.05},
        {"id": 4, "type": "payment", "qty": 1, "amount": "10.00", "lineTotal": "-10.00"},
        {"id": 5, "type": "payment", "qty": 1, "amount": -5, "lineTotal": 5},
        {"id": 6, "type": "payment", "qty": 1, "amount": 2.5},
        {"id": 7, "type": "weird", "lineTotal": 1}
    ]);
    let names = HashMap::new();
    let (row, anomalies) = map_booking(&booking, ctx(&names)).unwrap();
    assert_eq!(row.total_charges.to_string(), "59.33");
    assert_eq!(row.total_payments.to_string(), "27.55");
    assert_eq!(row.balance.to_string(), "31.78");
    assert_eq!(row.payments.as_array().unwrap().len(), 4);
    assert_eq!(
        anomalies,
        vec![Anomaly::UnknownItemType {
            item_id: "7".into(),
            kind: "weird".into()
        }],
        "payments and refunds are normal, not anomalies"
    );
}

#[test]
fn a_fully_refunded_booking_has_paid_nothing() {
    let mut booking = sample();
    booking["invoiceItems"] = json!([
        {"id": 1, "type": "charge", "qty": 1, "amount": 100, "lineTotal": 100},
        {"id": 2, "type": "payment", "qty": 1, "amount": 100, "lineTotal": -100},
        {"id": 3, "type": "payment", "qty": 1, "amount": -100, "lineTotal": 100}
    ]);
    let names = HashMap::new();
    let (row, anomalies) = map_booking(&booking, ctx(&names)).unwrap();
    assert_eq!(row.total_payments, Decimal::ZERO);
    assert_eq!(row.balance, Decimal::from(100));
    assert!(anomalies.is_empty(), "{anomalies:?}");
}

#[test]
fn missing_and_odd_fields_never_panic() {
    let names = HashMap::new();
    let (row, _) = map_booking(
        &json!({"id": "7123", "status": "confirmed", "arrival": "2025-08-20"}),
        ctx(&names),
    )
    .unwrap();
    assert_eq!(row.booking_id.as_str(), "7123");
    assert_eq!(row.arrival_date, NaiveDate::from_ymd_opt(2025, 8, 20));
    assert_eq!(
        (row.departure_date, row.num_nights, row.total_persons),
        (None, None, None)
    );
    assert_eq!(row.total_charges, Decimal::ZERO);
    let odd = json!({"id": 5, "arrival": "not a date", "numAdult": "2", "numChild": null,
        "price": "abc", "invoiceItems": "nope", "infoItems": {}, "modifiedTime": 12});
    let (row, _) = map_booking(&odd, ctx(&names)).unwrap();
    assert_eq!(
        (row.arrival_date, row.total_persons, row.base_price),
        (None, Some(2), None)
    );
    assert_eq!(row.info_items, json!([]));
    assert_eq!(
        map_booking(&json!([1]), ctx(&names)).unwrap_err(),
        MappingError::NotAnObject
    );
    assert!(matches!(
        map_booking(&json!({"status": "x"}), ctx(&names)),
        Err(MappingError::NoId(_))
    ));
    assert!(matches!(
        map_booking(&json!({"id": "TEST123"}), ctx(&names)),
        Err(MappingError::NoId(_))
    ));
}

#[test]
fn row_serializes_with_the_table_column_names() {
    let names = HashMap::new();
    let (row, _) = map_booking(&sample(), ctx(&names)).unwrap();
    let value = serde_json::to_value(&row).unwrap();
    for column in [
        "bookingId",
        "guestName",
        "arrivalDate",
        "totalCharges",
        "lastUpdatedBD",
        "BDStatus",
        "infoItems",
    ] {
        assert!(value.get(column).is_some(), "{column}");
    }
    assert_eq!(value["totalCharges"], json!("713"));
    assert_eq!(value["arrivalDate"], json!("2026-02-16"));
}
