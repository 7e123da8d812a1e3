//! Rust bindings for the Spin interfaces in /wit (the host world `spin-test-host`).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "beds24:test-host/test-host",
    // Host functions are async (they do network I/O) and may trap (outer
    // error) or return the WIT error to the guest (inner result).
    imports: { default: async | trappable },
    exports: { default: async },
    anyhow: true,
    with: {
        "fermyon:spin/key-value.store": crate::host::key_value::KvStore,
        "fermyon:spin/redis.connection": crate::host::redis::RedisConnection,
        "spin:postgres/postgres.connection": crate::host::postgres::PgConnection,
    },
});
