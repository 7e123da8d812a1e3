//! Handing a finished `Response` to Spin with its body already written, so head and body leave together.
//!
//! The SDK's own path sets the response first and writes the body after. Spin's HTTP server
//! (hyper, no `TCP_NODELAY`) then often sends the head alone, and the body waits for the
//! client's delayed ACK: ~40 ms on Linux. Writing the whole body into the outgoing stream
//! *before* setting the response means hyper finds it ready and writes both at once.
//! Nothing here waits on the stream, so a runtime with a smaller buffer cannot deadlock it:
//! a body larger than one write permit goes the SDK's way (head first, then the body).

use spin_sdk::http::{OutgoingBody, OutgoingResponse, Response, ResponseOutparam};

/// Send `response` on `out`. Errors can only be logged: the client gets Spin's 500.
pub fn send(out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    let outgoing: OutgoingResponse = match response.try_into() {
        Ok(outgoing) => outgoing,
        Err(e) => {
            eprintln!("could not build the response: {e}");
            return;
        }
    };
    let Ok(outgoing_body) = outgoing.body() else {
        eprintln!("could not open the response body");
        return;
    };
    let Ok(stream) = outgoing_body.write() else {
        eprintln!("could not open the response body stream");
        return;
    };
    let fits = body.is_empty()
        || stream
            .check_write()
            .is_ok_and(|permit| permit >= body.len() as u64);
    if fits {
        if !body.is_empty() && stream.write(&body).is_err() {
            eprintln!("could not write the response body");
        }
        drop(stream);
        let _ = OutgoingBody::finish(outgoing_body, None);
        out.set(outgoing);
        return;
    }
    // Too big for one permit: head first, then the body, waiting as the client reads.
    out.set(outgoing);
    for chunk in body.chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            eprintln!("the client went away while the response body was written");
            break;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(outgoing_body, None);
}
