//! `beds24-bench [--smoke] [--out FILE] [--wasm-dir DIR] [--host-bin FILE]`: run the benchmarks, write the table.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result =
        beds24_bench::Options::parse(&args).and_then(|options| beds24_bench::run(&options));
    match result {
        Ok(summary) => {
            println!("{}", summary.text);
            eprintln!("bench: table written to {}", summary.out.display());
        }
        Err(e) => {
            eprintln!("bench: error: {e:?}");
            std::process::exit(1);
        }
    }
}
