//! Tokens: long-life, refresh exchange, expiry, details, and the 401 body.

mod common;

use std::time::Duration;

use common::{get, get_with};
use mock_beds24::{fixtures, MockBeds24};

#[tokio::test]
async fn missing_or_unknown_token_is_401_like_the_real_body() {
    let mock = MockBeds24::start().unwrap();
    let expected: serde_json::Value = serde_json::from_str(fixtures::ERROR_401).unwrap();
    for headers in [vec![], vec![("token", "nope")]] {
        for path in [
            "/bookings?id=1",
            "/bookings/messages",
            "/properties",
            "/authentication/details",
        ] {
            let r = get_with(&mock, path, &headers).await;
            assert_eq!(r.status, 401, "{path}");
            assert_eq!(r.json(), expected);
        }
    }
}

#[tokio::test]
async fn refresh_token_exchange_and_expiry() {
    let mock = MockBeds24::start().unwrap();
    mock.set_refresh_token("my-refresh", 1);
    let bad = get_with(&mock, "/authentication/token", &[("refreshToken", "wrong")]).await;
    assert_eq!(
        bad.status, 400,
        "Beds24 answers a bad refresh token with 400"
    );
    let none = get_with(&mock, "/authentication/token", &[]).await;
    assert_eq!(none.status, 400);

    let r = get_with(
        &mock,
        "/authentication/token",
        &[("refreshToken", "my-refresh")],
    )
    .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["expiresIn"], 1);
    let token = body["token"].as_str().unwrap().to_string();
    assert!((152..=172).contains(&token.len()));
    assert!(r.text.starts_with(r#"{"token":"#));

    let details = get_with(&mock, "/authentication/details", &[("token", &token)]).await;
    assert_eq!(details.status, 200);
    assert_eq!(details.json()["validToken"], true);
    assert_eq!(
        get_with(&mock, "/properties", &[("token", &token)])
            .await
            .status,
        200
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get_with(&mock, "/properties", &[("token", &token)])
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(&mock, "/authentication/details", &[("token", &token)])
            .await
            .status,
        401
    );
    // The long-life token never expires.
    assert_eq!(get(&mock, "/authentication/details").await.status, 200);
}

#[tokio::test]
async fn each_exchange_issues_a_new_token_and_expire_token_works() {
    let mock = MockBeds24::start().unwrap();
    let refresh = mock.refresh_token();
    let h = [("refreshToken", refresh.as_str())];
    let a = get_with(&mock, "/authentication/token", &h).await.json()["token"].clone();
    let b = get_with(&mock, "/authentication/token", &h).await.json()["token"].clone();
    assert_ne!(a, b);
    assert_eq!(mock.issued_tokens().len(), 2);
    let a = a.as_str().unwrap();
    let details = get_with(&mock, "/authentication/details", &[("token", a)])
        .await
        .json();
    assert!(details["token"]["expiresIn"].as_u64().unwrap() > 86_000);
    assert!(mock.expire_token(a));
    assert_eq!(
        get_with(&mock, "/properties", &[("token", a)]).await.status,
        401
    );
    let b = b.as_str().unwrap();
    assert_eq!(
        get_with(&mock, "/properties", &[("token", b)]).await.status,
        200
    );
    mock.expire_all_tokens();
    assert_eq!(
        get_with(&mock, "/properties", &[("token", b)]).await.status,
        401
    );
    mock.set_long_life_token("other");
    assert_eq!(
        get_with(&mock, "/properties", &[("token", "other")])
            .await
            .status,
        200
    );
}
