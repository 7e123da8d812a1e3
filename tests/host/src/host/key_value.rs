//! fermyon:spin/key-value@2.0.0 on Redis, like Spin's Redis key-value provider (plain keys, KEYS *).

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use tokio::sync::OnceCell;
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin2_0_0::key_value::{self, Error};
use crate::runtime::HostState;

/// A store label of the runtime config. As in Spin, one lazily created
/// `ConnectionManager` per label is shared by every instance; it is also
/// what makes calls wait (reconnect with backoff) while Redis is down.
pub struct KvRedis {
    url: String,
    connection: OnceCell<ConnectionManager>,
}

impl KvRedis {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            connection: OnceCell::new(),
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, Error> {
        self.connection
            .get_or_try_init(|| async {
                redis::Client::open(self.url.as_str())?
                    .get_connection_manager()
                    .await
            })
            .await
            .cloned()
            .map_err(other)
    }
}

/// An open store (the `store` resource).
pub struct KvStore {
    connection: ConnectionManager,
}

/// Spin's `log_error`: log, and give the guest `other(message)`.
fn other(e: impl std::fmt::Display) -> Error {
    crate::log!("key-value error: {e}");
    Error::Other(e.to_string())
}

type KvResult<T> = anyhow::Result<Result<T, Error>>;

impl HostState {
    fn kv_connection(&self, store: &Resource<KvStore>) -> anyhow::Result<ConnectionManager> {
        Ok(self.table.get(store)?.connection.clone())
    }
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    async fn open(&mut self, label: String) -> KvResult<Resource<KvStore>> {
        // Spin answers access-denied for any label the component does not
        // list; listed labels are checked against the runtime config at start.
        let Some(backend) = self.env.kv_stores.get(&label).cloned() else {
            return Ok(Err(Error::AccessDenied));
        };
        let mut connection = match backend.connection().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        // Spin pings after opening and ignores the result (the manager
        // reconnects in the background).
        let _ = connection.ping::<()>().await;
        Ok(Ok(self.table.push(KvStore { connection })?))
    }

    async fn get(&mut self, store: Resource<KvStore>, key: String) -> KvResult<Option<Vec<u8>>> {
        let mut c = self.kv_connection(&store)?;
        Ok(c.get::<_, Option<Vec<u8>>>(&key).await.map_err(other))
    }

    async fn set(&mut self, store: Resource<KvStore>, key: String, value: Vec<u8>) -> KvResult<()> {
        let mut c = self.kv_connection(&store)?;
        Ok(c.set::<_, _, ()>(&key, value).await.map_err(other))
    }

    async fn delete(&mut self, store: Resource<KvStore>, key: String) -> KvResult<()> {
        let mut c = self.kv_connection(&store)?;
        Ok(c.del::<_, ()>(&key).await.map_err(other))
    }

    async fn exists(&mut self, store: Resource<KvStore>, key: String) -> KvResult<bool> {
        let mut c = self.kv_connection(&store)?;
        Ok(c.exists::<_, bool>(&key).await.map_err(other))
    }

    async fn get_keys(&mut self, store: Resource<KvStore>) -> KvResult<Vec<String>> {
        // KEYS * over the whole Redis database, as Spin does.
        let mut c = self.kv_connection(&store)?;
        Ok(c.keys::<_, Vec<String>>("*").await.map_err(other))
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> anyhow::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}
