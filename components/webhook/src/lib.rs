//! webhook component: `POST /api/webhooks/beds24` → job stored in Redis → 202.
//!
//! Thin shell: read the request (bounded), let the core parse it, store each job,
//! answer. A 202 is a promise: it is sent only after the job is stored.

mod intake;
mod kick;

use beds24_spin_glue::{respond, send::send};
use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let (response, woke) = answer(request).await;
    send(out, response);
    // The 202 is already complete on the wire: Beds24 does not wait for this.
    if woke {
        kick::start_drain().await;
    }
}

async fn answer(request: IncomingRequest) -> (Response, bool) {
    match intake::accept(request).await {
        Ok(accepted) => (accepted.response, accepted.woke),
        Err(error) => {
            let mut response = respond::error(&error);
            if error.status == 405 {
                response.set_header("allow", "GET, POST");
            }
            (response, false)
        }
    }
}
