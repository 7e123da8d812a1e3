//! Every built component of /spin.toml must link against the test host: no import it does not provide.

use std::path::{Path, PathBuf};

use spin_test_host::bindings::TestHostPre;
use spin_test_host::runtime::{engine, linker};
use wasmtime::component::Component;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn components_link_against_the_test_host() {
    let root = workspace_root();
    let manifest: toml::Table = std::fs::read_to_string(root.join("spin.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let wasm_dir = std::env::var_os("SPIN_TEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/wasm32-wasip2/release"));
    let triggers = manifest
        .get("trigger")
        .and_then(|t| t.as_table())
        .cloned()
        .unwrap_or_default();
    let uses = |kind: &str, id: &str| {
        triggers
            .get(kind)
            .and_then(|t| t.as_array())
            .is_some_and(|list| list.iter().any(|t| t["component"].as_str() == Some(id)))
    };

    let engine = engine().unwrap();
    let linker = linker(&engine).unwrap();
    let components = manifest["component"]
        .as_table()
        .expect("[component.*] in spin.toml");
    assert!(!components.is_empty());
    for (id, c) in components {
        let source = Path::new(c["source"].as_str().unwrap());
        let wasm = wasm_dir.join(source.file_name().unwrap());
        assert!(
            wasm.is_file(),
            "{} (component {id:?}) is missing: run scripts/build-components first (or set SPIN_TEST_WASM_DIR)",
            wasm.display()
        );
        let component = Component::from_file(&engine, &wasm)
            .unwrap_or_else(|e| panic!("{}: {e:?}", wasm.display()));
        let pre = linker.instantiate_pre(&component).unwrap_or_else(|e| {
            panic!("component {id:?} imports something the test host does not provide: {e:?}")
        });
        if uses("http", id) {
            ProxyPre::new(pre.clone())
                .unwrap_or_else(|e| panic!("{id:?} lacks wasi:http/incoming-handler: {e:?}"));
        }
        if uses("redis", id) {
            TestHostPre::new(pre)
                .unwrap_or_else(|e| panic!("{id:?} lacks fermyon:spin/inbound-redis: {e:?}"));
        }
    }
}
