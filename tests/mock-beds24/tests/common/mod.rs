//! Shared helpers for the mock's own integration tests: one GET, parsed.
#![allow(dead_code)] // each test binary uses a different subset

use mock_beds24::MockBeds24;
use serde_json::Value;

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// Ids in `data`, in order.
    pub fn ids(&self) -> Vec<u64> {
        self.json()["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|b| b["id"].as_u64().expect("numeric id"))
            .collect()
    }
}

/// GET `{base_url}{path_and_query}` with the long-life token.
pub async fn get(mock: &MockBeds24, path_and_query: &str) -> Reply {
    get_with(mock, path_and_query, &[("token", &mock.long_life_token())]).await
}

/// GET with explicit headers (none = unauthenticated).
pub async fn get_with(mock: &MockBeds24, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
    try_get(mock, path_and_query, headers)
        .await
        .expect("request succeeds at the HTTP level")
}

pub async fn try_get(
    mock: &MockBeds24,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> reqwest::Result<Reply> {
    let mut req = reqwest::Client::new().get(format!("{}{path_and_query}", mock.base_url()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await?;
    Ok(Reply {
        status,
        headers,
        text,
    })
}
