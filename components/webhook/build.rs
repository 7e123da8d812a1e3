//! Links the webhook with a 128 KiB stack instead of Rust's default 1 MiB.
//!
//! Spin's pooling allocator memsets the first 2 MiB of a finished instance's linear
//! memory (`linear_memory_keep_resident`, no PAGEMAP_SCAN), and the stack sits at the
//! bottom of that memory: with 1 MiB of stack, every acknowledgement paid for zeroing
//! it. Measured under Spin 4.0.2: 1.30 → 1.11 ms of HTTP-process CPU per webhook. The
//! webhook's deepest use is serde_json's recursion (capped at 128 levels), far below
//! this; an end-to-end test sends the deepest body it accepts.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=-zstack-size=131072");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
