//! Command-line entry point of spin-test-host (see `spin_test_host::Options`).

use clap::Parser;

#[tokio::main]
async fn main() {
    let opts = spin_test_host::Options::parse();
    if let Err(e) = spin_test_host::run(opts).await {
        // Like `spin up`: any trigger failure ends the process with code 1.
        spin_test_host::log!("error: {e:?}");
        std::process::exit(1);
    }
}
