//! Logging: host messages and guest stdout/stderr all go to the host's stderr, guest lines prefixed `[<component-id>] `.

use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Writes one host log line to stderr (`spin-test-host: ...`).
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::guest_log::host_line(format_args!($($arg)*))
    };
}

#[doc(hidden)]
pub fn host_line(args: std::fmt::Arguments) {
    // Ignore write errors: a closed stderr must not take the host down.
    let _ = writeln!(std::io::stderr().lock(), "spin-test-host: {args}");
}

/// Bytes a guest wrote that do not end in a newline yet.
struct LineBuffer {
    prefix: String,
    pending: Vec<u8>,
}

impl LineBuffer {
    fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        // One lock of stderr per write keeps lines of concurrent guests whole.
        if let Some(last_nl) = self.pending.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=last_nl).collect();
            let mut err = std::io::stderr().lock();
            for line in complete[..complete.len() - 1].split(|b| *b == b'\n') {
                let _ = writeln!(err, "{}{}", self.prefix, String::from_utf8_lossy(line));
            }
        }
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        // The instance is gone: print what is left of an unterminated line.
        if !self.pending.is_empty() {
            let line = String::from_utf8_lossy(&self.pending);
            let _ = writeln!(std::io::stderr().lock(), "{}{}", self.prefix, line);
        }
    }
}

/// A guest's stdout or stderr. WASI may ask for several streams per store;
/// they share one buffer so that a line written in pieces stays one line.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<LineBuffer>>);

impl GuestOutput {
    pub fn new(component_id: &str) -> Self {
        Self(Arc::new(Mutex::new(LineBuffer {
            prefix: format!("[{component_id}] "),
            pending: Vec::new(),
        })))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
