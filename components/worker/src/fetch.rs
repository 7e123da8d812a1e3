//! Fetching one batch from Beds24: bookings and messages (multi-id, paged), property names (cached).

use std::collections::HashMap;

use beds24_spin_glue::log;
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::logging::Level;
use beds24_sync_core::queue::ClaimedJob;
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::sync::Fetched;
use beds24_sync_core::BookingId;
use serde_json::{json, Value};

use crate::beds24::Client;

const PROPERTIES_KEY: &str = "b24:beds24:properties";
const PROPERTIES_TTL_S: i64 = 3600;

/// Everything Beds24 returned for one batch.
pub struct BatchData {
    pub bookings: Vec<Value>,
    /// `None` when the messages call failed: the rows keep their stored messages.
    pub messages: Option<Vec<Value>>,
    pub property_names: HashMap<String, String>,
}

impl BatchData {
    pub fn as_input(&self) -> Fetched<'_> {
        Fetched {
            bookings: &self.bookings,
            messages: self.messages.as_deref(),
            property_names: &self.property_names,
        }
    }
}

pub async fn fetch(client: &mut Client<'_>, jobs: &[ClaimedJob]) -> Result<BatchData, ApiFailure> {
    let ids: Vec<BookingId> = jobs.iter().map(|j| j.booking_id.clone()).collect();
    let api = client.api();
    let bookings_page = |page| api.bookings(&ids, page);
    let messages_page = |page| api.messages(&ids, page);
    let lists: [(&str, &dyn Fn(u32) -> String); 2] =
        [("bookings", &bookings_page), ("messages", &messages_page)];
    let mut results = client.get_all_concurrently(&lists).await.into_iter();
    let bookings = results.next().unwrap_or(Ok(Vec::new()))?;
    // Messages are a side dish: a failed messages call must not fail the bookings.
    let messages = match results.next().unwrap_or(Ok(Vec::new())) {
        Ok(messages) => Some(messages),
        Err(failure) => {
            log(
                Level::Warn,
                "messages unavailable: stored messages kept",
                &[
                    ("bookingIds", json!(ids)),
                    ("error", json!(failure.to_string())),
                ],
            );
            None
        }
    };
    Ok(BatchData {
        bookings,
        messages,
        property_names: property_names(client).await,
    })
}

/// Property names, cached in Redis for an hour (they rarely change; each call costs credits).
async fn property_names(client: &mut Client<'_>) -> HashMap<String, String> {
    let cached = client
        .redis()
        .execute("HGETALL", &[PROPERTIES_KEY.into()])
        .unwrap_or_default();
    if !cached.is_empty() {
        return cached
            .chunks(2)
            .filter_map(|p| Some((p.first()?.as_text()?, p.get(1)?.as_text()?)))
            .collect();
    }
    let api = client.api();
    let properties = match client
        .get_all("properties", |page| api.properties(page))
        .await
    {
        Ok(list) => list,
        Err(e) => {
            log(
                Level::Warn,
                "property names unavailable",
                &[("error", json!(e.to_string()))],
            );
            return HashMap::new();
        }
    };
    let names: HashMap<String, String> = properties
        .iter()
        .filter_map(|p| {
            let id = p.get("id").map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })?;
            Some((id, p.get("name")?.as_str()?.to_owned()))
        })
        .collect();
    if !names.is_empty() {
        let mut args = vec![PROPERTIES_KEY.into()];
        for (id, name) in &names {
            args.push(id.clone().into());
            args.push(name.clone().into());
        }
        let _ = client.redis().execute("HSET", &args);
        let _ = client
            .redis()
            .execute("EXPIRE", &[PROPERTIES_KEY.into(), PROPERTIES_TTL_S.into()]);
    }
    names
}
