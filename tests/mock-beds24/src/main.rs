//! `mock-beds24` binary: serves generated bookings for benchmarks and manual runs.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use mock_beds24::{MockBeds24, MockConfig};

const USAGE: &str = "usage: mock-beds24 [--listen 127.0.0.1:PORT] [--bookings N] [--latency-ms N] [--page-size N] [--budget CREDITS]";

struct Args {
    listen: SocketAddr,
    bookings: u64,
    config: MockConfig,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        bookings: 0,
        config: MockConfig {
            record_calls: false,
            ..MockConfig::default()
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: invalid value '{value}'");
        match flag.as_str() {
            "--listen" => args.listen = value.parse().map_err(|_| bad())?,
            "--bookings" => args.bookings = value.parse().map_err(|_| bad())?,
            "--latency-ms" => {
                args.config.latency = Duration::from_millis(value.parse().map_err(|_| bad())?)
            }
            "--page-size" => args.config.page_size = value.parse().map_err(|_| bad())?,
            "--budget" => args.config.credits.budget = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mock-beds24: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mock = match MockBeds24::start_on(args.listen, args.config) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mock-beds24: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    mock.seed_generated(args.bookings);
    println!("mock-beds24: listening on {}", mock.base_url());
    println!(
        "mock-beds24: long-life token {} ; refresh token {} ; {} bookings",
        mock.long_life_token(),
        mock.refresh_token(),
        args.bookings
    );
    // Ctrl-C / SIGTERM end the process; there is no state worth flushing.
    mock.wait();
    ExitCode::SUCCESS
}
