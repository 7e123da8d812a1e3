//! The HTTP trigger: hyper http1 server, Spin's routing and `spin-*` headers, a fresh instance per request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::{hyper_request_error, WasiHttpView};

use crate::manifest::App;
use crate::routes::{RouteMatch, Router};
use crate::runtime::{HostState, Runtime};

/// Everything a request needs, shared by all connections.
pub struct HttpTrigger {
    router: Router,
    runtime: Arc<Runtime>,
    /// Per routed component, its instance-pre checked for the HTTP export.
    handlers: HashMap<String, ProxyPre<HostState>>,
}

impl HttpTrigger {
    pub fn new(app: &App, runtime: Arc<Runtime>) -> Result<Self> {
        let mut handlers = HashMap::new();
        for id in app.components.keys() {
            if app.router.routes_component(id) {
                handlers.insert(id.clone(), runtime.http_pre(id)?);
            }
        }
        Ok(Self {
            router: app.router.clone(),
            runtime,
            handlers,
        })
    }

    /// Accepts connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<()> {
        loop {
            let (stream, client_addr) = listener
                .accept()
                .await
                .context("accepting HTTP connection")?;
            let this = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    async move { Ok::<_, Infallible>(this.handle(req, client_addr).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    crate::log!("HTTP connection from {client_addr}: {e}");
                }
            });
        }
    }

    async fn handle(
        &self,
        req: Request<Incoming>,
        client_addr: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let path = req.uri().path().to_string();
        if path == "/.well-known/spin/health" {
            return text(StatusCode::OK, "OK");
        }
        let Some(route) = self.router.route(&path) else {
            return text(StatusCode::NOT_FOUND, "");
        };
        match self.invoke(req, &route, client_addr).await {
            Ok(resp) => resp,
            Err(e) => {
                // Spin logs the error and answers 500 with an empty body.
                crate::log!(
                    "Error processing request {path} for component {:?}: {e:?}",
                    route.component
                );
                text(StatusCode::INTERNAL_SERVER_ERROR, "")
            }
        }
    }

    async fn invoke(
        &self,
        req: Request<Incoming>,
        route: &RouteMatch<'_>,
        client_addr: SocketAddr,
    ) -> Result<Response<HyperOutgoingBody>> {
        let req = prepare_request(req, route, client_addr)?;
        let pre = &self.handlers[route.component];
        let mut store = self
            .runtime
            .new_store(self.runtime.component(route.component)?);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let proxy = pre.instantiate_async(&mut store).await?;

        // The guest keeps running (streaming the body) after it hands over
        // the response, so it runs in its own task, as in Spin.
        let component = route.component.to_string();
        let task = tokio::spawn(async move {
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, out)
                .await;
            if let Err(e) = &result {
                crate::log!("component {component:?} failed after sending its response: {e:?}");
            }
            result
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Err(anyhow!("guest responded with error code {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err(anyhow!(
                    "guest failed to produce a response prior to returning"
                )),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("guest invocation failed")),
                Err(e) => Err(anyhow!("guest invocation panicked: {e}")),
            },
        }
    }
}

/// Gives the request an absolute URI (from the Host header) and adds the
/// headers Spin adds for the wasi-http executor.
fn prepare_request(
    req: Request<Incoming>,
    route: &RouteMatch<'_>,
    client_addr: SocketAddr,
) -> Result<Request<wasmtime_wasi_http::p2::body::HyperIncomingBody>> {
    let (mut parts, body) = req.into_parts();
    let host = match parts.headers.get(HOST) {
        Some(h) => h
            .to_str()
            .context("'Host' header is not valid UTF-8")?
            .to_string(),
        None => parts
            .uri
            .authority()
            .map(|a| a.to_string())
            .context("no 'Host' header present in request")?,
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    parts.uri = Uri::builder()
        .scheme("http")
        .authority(host.as_str())
        .path_and_query(path_and_query.as_str())
        .build()?;

    let spin_headers = [
        ("spin-path-info", route.path_info.clone()),
        ("spin-full-url", format!("http://{host}{path_and_query}")),
        ("spin-matched-route", route.raw_route.to_string()),
        ("spin-base-path", "/".to_string()),
        ("spin-raw-component-route", route.raw_route.to_string()),
        ("spin-component-route", route.component_route.to_string()),
        ("spin-client-addr", client_addr.to_string()),
    ];
    for (name, value) in spin_headers {
        parts.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value)?,
        );
    }
    Ok(Request::from_parts(
        parts,
        body.map_err(hyper_request_error).boxed_unsync(),
    ))
}

fn text(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp
}
