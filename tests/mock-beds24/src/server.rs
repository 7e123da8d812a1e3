//! Runs the HTTP server on a dedicated thread with its own tokio runtime.
//!
//! A private runtime makes the mock independent of the caller: it works the same
//! from `#[tokio::test]` (any flavour, even current-thread ones that would starve a
//! co-hosted server while the test blocks) and from plain blocking code.

use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::api;
use crate::conn::{ConnHandle, KillableListener};
use crate::state::App;

pub(crate) struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn spawn(listener: std::net::TcpListener, app: App) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mock-beds24-worker")
            .enable_all()
            .build()?;
        // Registering the socket needs a runtime context; doing it here lets bind
        // errors surface from `start` instead of dying on the server thread.
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mock-beds24".to_string())
            .spawn(move || {
                rt.block_on(async move {
                    let svc = api::router(app).into_make_service_with_connect_info::<ConnHandle>();
                    let serve = axum::serve(KillableListener(listener), svc);
                    tokio::select! {
                        res = serve.into_future() => {
                            if let Err(e) = res {
                                eprintln!("mock-beds24: server stopped: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                // Open keep-alive connections and delayed handlers are simply dropped.
                rt.shutdown_background();
            })?;
        Ok(Server {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server thread has exited (it exits promptly).
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Blocks the caller for as long as the server runs (for the binary).
    pub(crate) fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
