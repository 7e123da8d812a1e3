//! The wasmtime side: one Engine and Linker, each component compiled once into an InstancePre, per-instance store data.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::{Context, Result};
use wasmtime::component::{
    Component as WasmComponent, HasSelf, InstancePre, Linker, ResourceTable,
};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, OutgoingRequestConfig};
use wasmtime_wasi_http::p2::{HttpResult, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::TestHostPre;
use crate::guest_log::GuestOutput;
use crate::host::key_value::KvRedis;
use crate::manifest::App;

/// What a component instance may see and use; shared by all its instances.
pub struct ComponentEnv {
    pub id: String,
    pub variables: HashMap<String, String>,
    pub allowed_hosts: AllowedHosts,
    /// Only the stores listed in the component's `key_value_stores`.
    pub kv_stores: HashMap<String, Arc<KvRedis>>,
    pub environment: Vec<(String, String)>,
    /// Where the app itself listens, once it does: self requests go there.
    pub self_origin: Arc<OnceLock<SocketAddr>>,
}

/// The data of one `Store`: one per HTTP request or Redis message, as in Spin.
pub struct HostState {
    pub env: Arc<ComponentEnv>,
    pub table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound_http: OutboundHttp,
}

impl HostState {
    fn new(env: Arc<ComponentEnv>) -> Self {
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::new(&env.id))
            .stderr(GuestOutput::new(&env.id))
            .envs(&env.environment)
            .build();
        Self {
            outbound_http: OutboundHttp { env: env.clone() },
            env,
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

/// Outbound HTTP with Spin's `allowed_outbound_hosts` check in front.
struct OutboundHttp {
    env: Arc<ComponentEnv>,
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: hyper::Request<HyperOutgoingBody>,
        config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        let uri = request.uri();
        // Spin sends host-less URLs and `self.alt` to the app itself, over its own
        // listener, if `self` is allowed.
        if uri
            .authority()
            .is_none_or(|a| a.host().is_empty() || a.host() == "self.alt")
        {
            return self.send_to_self(request, config);
        }
        if !self
            .env
            .allowed_hosts
            .check(&self.env.id, &uri.to_string(), "https")
        {
            return Err(ErrorCode::HttpRequestDenied.into());
        }
        Ok(wasmtime_wasi_http::p2::default_send_request(
            request, config,
        ))
    }
}

impl OutboundHttp {
    fn send_to_self(
        &self,
        mut request: hyper::Request<HyperOutgoingBody>,
        mut config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        if !self.env.allowed_hosts.allows_self() {
            crate::log!(
                "WARNING: component {:?} tried a self request without 'http://self' in allowed_outbound_hosts",
                self.env.id
            );
            return Err(ErrorCode::HttpRequestDenied.into());
        }
        let Some(origin) = self.env.self_origin.get() else {
            return Err(ErrorCode::HttpRequestUriInvalid.into());
        };
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        *request.uri_mut() = format!("http://{origin}{path}")
            .parse()
            .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
        request.headers_mut().insert(
            hyper::header::HOST,
            hyper::header::HeaderValue::from_str(&origin.to_string())
                .map_err(|_| ErrorCode::HttpRequestUriInvalid)?,
        );
        config.use_tls = false;
        Ok(wasmtime_wasi_http::p2::default_send_request(
            request, config,
        ))
    }
}

/// A compiled component ready to instantiate.
pub struct Loaded {
    pub env: Arc<ComponentEnv>,
    pub pre: InstancePre<HostState>,
}

/// Engine plus every component of the app, compiled once at startup.
pub struct Runtime {
    engine: Engine,
    components: HashMap<String, Loaded>,
    self_origin: Arc<OnceLock<SocketAddr>>,
}

/// The linker with everything a spin-sdk 5.2 component may import here.
pub fn linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::bindings::TestHost::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// One engine for the whole process; default (on-demand) allocation is
/// enough at test load, InstancePre already makes instantiation cheap.
pub fn engine() -> Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    Ok(Engine::new(&config)?)
}

impl Runtime {
    /// Compiles and pre-links every component of `app`.
    pub fn load(app: &App) -> Result<Self> {
        let engine = engine()?;
        let linker = linker(&engine)?;
        let kv: HashMap<String, Arc<KvRedis>> = app
            .kv_stores
            .iter()
            .map(|(label, url)| (label.clone(), Arc::new(KvRedis::new(url))))
            .collect();
        let mut components = HashMap::new();
        let self_origin = Arc::new(OnceLock::new());
        for (id, c) in &app.components {
            let started = Instant::now();
            let wasm = WasmComponent::from_file(&engine, &c.wasm_path)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!(
                        "cannot load component {id:?} from {}",
                        c.wasm_path.display()
                    )
                })?;
            let pre = linker
                .instantiate_pre(&wasm)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component {id:?} imports something the test host does not provide")
                })?;
            crate::log!("compiled component {id:?} in {:.2?}", started.elapsed());
            let env = Arc::new(ComponentEnv {
                id: id.clone(),
                variables: c.variables.clone(),
                allowed_hosts: c.allowed_hosts.clone(),
                kv_stores: c
                    .key_value_stores
                    .iter()
                    .map(|l| (l.clone(), kv[l].clone()))
                    .collect(),
                environment: c.environment.clone(),
                self_origin: self_origin.clone(),
            });
            components.insert(id.clone(), Loaded { env, pre });
        }
        Ok(Self {
            engine,
            components,
            self_origin,
        })
    }

    /// The address the HTTP trigger listens on, for self requests (set once, at start).
    pub fn set_self_origin(&self, addr: SocketAddr) {
        let _ = self.self_origin.set(addr);
    }

    pub fn component(&self, id: &str) -> Result<&Loaded> {
        self.components
            .get(id)
            .with_context(|| format!("unknown component {id:?}"))
    }

    /// A fresh store for one invocation of `id`.
    pub fn new_store(&self, loaded: &Loaded) -> Store<HostState> {
        Store::new(&self.engine, HostState::new(loaded.env.clone()))
    }

    /// Checks the component exports `wasi:http/incoming-handler`.
    pub fn http_pre(&self, id: &str) -> Result<ProxyPre<HostState>> {
        ProxyPre::new(self.component(id)?.pre.clone())
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component {id:?} does not export wasi:http/incoming-handler"))
    }

    /// Checks the component exports `fermyon:spin/inbound-redis`.
    pub fn redis_pre(&self, id: &str) -> Result<TestHostPre<HostState>> {
        TestHostPre::new(self.component(id)?.pre.clone())
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component {id:?} does not export fermyon:spin/inbound-redis"))
    }
}
