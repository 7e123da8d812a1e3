//! The Redis trigger like Spin's: SUBSCRIBE per address, one message at a time, exit when the connection drops.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use futures_util::StreamExt;
use redis::aio::PubSub;

use crate::bindings::TestHostPre;
use crate::manifest::App;
use crate::runtime::{HostState, Runtime};

/// Channel → components subscribed to it, for one Redis address.
type ChannelComponents = BTreeMap<String, Vec<String>>;

pub struct RedisTrigger {
    runtime: Arc<Runtime>,
    /// Address → channels, as Spin groups them (one connection per address).
    servers: BTreeMap<String, ChannelComponents>,
    handlers: HashMap<String, TestHostPre<HostState>>,
}

/// A subscribed connection, ready to receive.
pub struct Subscriber {
    address: String,
    pubsub: PubSub,
    channels: ChannelComponents,
}

impl RedisTrigger {
    pub fn new(app: &App, runtime: Arc<Runtime>) -> Result<Self> {
        let mut servers: BTreeMap<String, ChannelComponents> = BTreeMap::new();
        let mut handlers = HashMap::new();
        for t in &app.redis_triggers {
            servers
                .entry(t.address.clone())
                .or_default()
                .entry(t.channel.clone())
                .or_default()
                .push(t.component.clone());
            if !handlers.contains_key(&t.component) {
                handlers.insert(t.component.clone(), runtime.redis_pre(&t.component)?);
            }
        }
        Ok(Self {
            runtime,
            servers,
            handlers,
        })
    }

    /// Connects and subscribes to every channel; returns once all
    /// subscriptions are confirmed by the server.
    pub async fn subscribe(&self) -> Result<Vec<Subscriber>> {
        let mut subscribers = Vec::new();
        for (address, channels) in &self.servers {
            let client = redis::Client::open(address.as_str())
                .with_context(|| format!("invalid Redis trigger address {address:?}"))?;
            let server = client.get_connection_info().addr.to_string();
            let mut pubsub = client
                .get_async_pubsub()
                .await
                .with_context(|| format!("Redis trigger failed to connect to {server}"))?;
            for (channel, components) in channels {
                pubsub.subscribe(channel).await.with_context(|| {
                    format!("Redis trigger failed to subscribe to {channel:?} on {server}")
                })?;
                crate::log!(
                    "subscribed to {server}/{channel}: [{}]",
                    components.join(",")
                );
            }
            subscribers.push(Subscriber {
                address: server,
                pubsub,
                channels: channels.clone(),
            });
        }
        Ok(subscribers)
    }

    /// Runs every subscriber; returns (with an error) as soon as one
    /// connection is lost, since Spin's trigger never reconnects. Never
    /// returns if there is nothing to subscribe to.
    pub async fn run(self: Arc<Self>, subscribers: Vec<Subscriber>) -> Result<()> {
        if subscribers.is_empty() {
            return std::future::pending().await;
        }
        let tasks = subscribers.into_iter().map(|s| {
            let this = self.clone();
            tokio::spawn(async move { this.listen(s).await })
        });
        let (first, _, rest) = futures_util::future::select_all(tasks).await;
        for task in rest {
            task.abort();
        }
        first.context("Redis subscriber task panicked")?
    }

    async fn listen(&self, sub: Subscriber) -> Result<()> {
        let Subscriber {
            address,
            mut pubsub,
            channels,
        } = sub;
        let mut messages = pubsub.on_message();
        // Await each message's handlers before taking the next one: Spin
        // handles messages one at a time per connection.
        while let Some(msg) = messages.next().await {
            let channel = msg.get_channel_name().to_string();
            let Some(components) = channels.get(&channel) else {
                crate::log!("message from unexpected channel {channel:?} on {address}");
                continue;
            };
            let payload = msg.get_payload_bytes().to_vec();
            // Several components on one channel run concurrently, as in Spin.
            let calls = components.iter().map(|id| self.dispatch(id, &payload));
            for (id, result) in components
                .iter()
                .zip(futures_util::future::join_all(calls).await)
            {
                if let Err(e) = result {
                    crate::log!("Component {id} handler failed: {e:?}");
                }
            }
        }
        Err(anyhow!("disconnected from Redis at {address}"))
    }

    /// One invocation of `handle-message` in a fresh instance.
    async fn dispatch(&self, id: &str, payload: &Vec<u8>) -> Result<()> {
        let mut store = self.runtime.new_store(self.runtime.component(id)?);
        let guest = self.handlers[id].instantiate_async(&mut store).await?;
        guest
            .fermyon_spin_inbound_redis()
            .call_handle_message(&mut store, payload)
            .await?
            .map_err(|e| anyhow!("Redis handler returned an error: {e:?}"))
    }
}
