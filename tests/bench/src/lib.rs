//! beds24-bench: the benchmark command of beds24-sync (`scripts/bench`), writing its table to BENCHMARKS.md.
//!
//! Runs the real components in the production shape (an HTTP process and a worker process)
//! with a private Redis (AOF, fsync every second), a fresh Postgres database and the mock
//! Beds24, on the test host and, with `--spin`, under a real Spin as well. It measures webhook
//! acknowledgement next to a no-op component served by the same process (1), first webhook →
//! last row next to Postgres's own batched-upsert rate (2), what each webhook and booking costs
//! in CPU and Redis commands, Beds24 calls per booking (3), memory (4) and the backfill (5).
//! Every target is a ratio or a bound measured in the same run.

pub mod ack;
pub mod app;
pub mod backfill;
pub mod batches;
pub mod budget;
pub mod counters;
pub mod cpu;
pub mod economy;
pub mod host;
pub mod load;
pub mod memory;
pub mod native;
pub mod options;
pub mod report;
pub mod sync;

use std::path::PathBuf;

use anyhow::Result;
use host::Runtime;

pub use options::{Mode, Options};
pub use report::{expected_keys, Row, Status};

/// What a run produced.
pub struct Summary {
    pub rows: Vec<Row>,
    /// The file the table was written to.
    pub out: PathBuf,
    pub text: String,
}

/// Run every benchmark of `options.mode` and write the table to `options.out`.
pub fn run(options: &Options) -> Result<Summary> {
    options.check_inputs()?;
    let sizes = options.mode.sizes();
    let header = report::Header::collect(options);
    let (mut rows, mut details) = (Vec::new(), Vec::new());

    eprintln!(
        "bench: 2. Postgres reference ({} rows in batches of 50)",
        sizes.postgres_rows
    );
    let postgres_rate = sync::postgres_limit(sizes.postgres_rows)?;

    eprintln!(
        "bench: starting Redis, Postgres database, mock Beds24 and the test host ({})",
        options.host_bin.display()
    );
    let mut app = app::App::start(options, Runtime::TestHost(options.host_bin.clone()))?;
    let snapshots = ack::run(&mut app, &sizes, postgres_rate, &mut rows, &mut details)?;
    let app_memory = sync::run(&mut app, &sizes, &snapshots, &mut rows, &mut details)?;
    economy::run(&mut app, &sizes, &mut rows, &mut details)?;
    backfill::run(&mut app, &sizes, &mut rows, &mut details)?;
    app.host.check_alive()?;
    let peaks = [app.host.http.peak_rss_kib(), app.host.worker.peak_rss_kib()];
    drop(app);

    if let Some(spin) = &options.spin {
        eprintln!("bench: starting the same app under {}", spin.display());
        let mut app = app::App::start(options, Runtime::Spin(spin.clone()))?;
        ack::run(&mut app, &sizes, postgres_rate, &mut rows, &mut details)?;
        app.host.check_alive()?;
    }

    memory::queue_row(sizes.memory_jobs, &mut rows)?;
    memory::host_row(peaks, &mut rows);
    memory::app_row(&app_memory, &mut rows);

    details.push(format!(
        "Load average (1 min) at the end: {}.",
        report::load_average()
    ));
    let text = report::render(&header, &rows, &details);
    if let Some(dir) = options.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.out, &text)?;
    Ok(Summary {
        rows,
        out: options.out.clone(),
        text,
    })
}
