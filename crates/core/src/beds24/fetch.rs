//! Fetching one batch from Beds24: bookings and messages (multi-id, paged, together), property names (cached).
//!
//! A fetch can be split in two ([`start_batch`], [`finish_batch`]) so the worker stores
//! one batch while the next one's requests are in flight.

use std::collections::HashMap;

use serde_json::{json, Value};
use url::Url;

use super::client::{Client, PagedList, StartedLists};
use super::http::HttpGet;
use super::urls::ApiBase;
use super::{ApiFailure, Endpoint};
use crate::logging::{emit, Level};
use crate::store::RedisExec;
use crate::sync::Fetched;
use crate::BookingId;

/// How long property names are cached (they rarely change; each call costs credits).
const PROPERTIES_TTL_S: i64 = 3600;

/// Everything Beds24 returned for one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchData {
    /// The bookings Beds24 returned (any it did not return are missing here).
    pub bookings: Vec<Value>,
    /// `None` when the messages call failed: the rows keep their stored messages.
    pub messages: Option<Vec<Value>>,
    /// Property id → name; empty when unknown (rows keep their stored names).
    pub property_names: HashMap<String, String>,
}

impl BatchData {
    /// The batch as the sync's planning reads it.
    pub fn as_input(&self) -> Fetched<'_> {
        Fetched {
            bookings: &self.bookings,
            messages: self.messages.as_deref(),
            property_names: &self.property_names,
        }
    }
}

/// A batch's first bookings and messages pages, sent and not yet answered.
pub struct StartedBatch<P> {
    ids: Vec<BookingId>,
    lists: StartedLists<P>,
}

/// Fetch the bookings `ids` with their messages (both lists paged, their pages in flight
/// together) and the property names. A failed bookings call fails the batch; a failed
/// messages call only leaves `messages` unknown, and failed property names leave them empty.
pub fn fetch_batch<R: RedisExec, H: HttpGet>(
    client: &mut Client<'_, R, H>,
    ids: &[BookingId],
) -> Result<BatchData, ApiFailure> {
    let started = start_batch(client, ids);
    finish_batch(client, started)
}

/// [`fetch_batch`]'s first half: send the first bookings and messages pages and return
/// at once, so the worker can store the previous batch while Beds24 answers.
pub fn start_batch<R: RedisExec, H: HttpGet>(
    client: &mut Client<'_, R, H>,
    ids: &[BookingId],
) -> StartedBatch<H::Pending> {
    let api = client.api().clone();
    let lists = with_lists(&api, ids, |lists| client.start_lists(lists));
    StartedBatch {
        ids: ids.to_vec(),
        lists,
    }
}

/// [`fetch_batch`]'s second half: wait for the first pages, fetch the rest, then the
/// property names.
pub fn finish_batch<R: RedisExec, H: HttpGet>(
    client: &mut Client<'_, R, H>,
    started: StartedBatch<H::Pending>,
) -> Result<BatchData, ApiFailure> {
    let StartedBatch { ids, lists } = started;
    let api = client.api().clone();
    let results = with_lists(&api, &ids, |paged| client.finish_lists(lists, paged));
    let mut results = results.into_iter();
    let bookings = results.next().unwrap_or(Ok(Vec::new()))?;
    // Messages are a side dish: a failed messages call must not fail the bookings.
    let messages = match results.next().unwrap_or(Ok(Vec::new())) {
        Ok(messages) => Some(messages),
        Err(failure) => {
            emit(
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
        property_names: property_names(client),
    })
}

/// The two lists of a batch, bookings first: starting and finishing must page the same.
fn with_lists<T>(api: &ApiBase, ids: &[BookingId], f: impl FnOnce(&[PagedList<'_>]) -> T) -> T {
    let bookings_page = |page| api.bookings(ids, page);
    let messages_page = |page| api.messages(ids, page);
    f(&[
        (Endpoint::Bookings, &bookings_page),
        (Endpoint::Messages, &messages_page),
    ])
}

/// Property names, cached in Redis for an hour.
pub fn property_names<R: RedisExec, H: HttpGet>(
    client: &mut Client<'_, R, H>,
) -> HashMap<String, String> {
    let key = client.keys.beds24_properties();
    let cached = client
        .redis
        .execute("HGETALL", &[key.as_str().into()])
        .unwrap_or_default();
    if !cached.is_empty() {
        return cached
            .chunks(2)
            .filter_map(|p| Some((p.first()?.as_text()?, p.get(1)?.as_text()?)))
            .collect();
    }
    let api = client.api().clone();
    let properties =
        match client.get_all(Endpoint::Properties, |page| -> Url { api.properties(page) }) {
            Ok(list) => list,
            Err(e) => {
                emit(
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
        let mut args = vec![key.as_str().into()];
        for (id, name) in &names {
            args.push(id.clone().into());
            args.push(name.clone().into());
        }
        let _ = client.redis.execute("HSET", &args);
        let _ = client
            .redis
            .execute("EXPIRE", &[key.into(), PROPERTIES_TTL_S.into()]);
    }
    names
}
