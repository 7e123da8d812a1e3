//! Smoke run of the bench (`--smoke`, in-process): every row of the table is produced and written to a temp file.

use std::path::{Path, PathBuf};
use std::process::Command;

use beds24_bench::{expected_keys, Mode, Options, Status};

/// The spin-test-host built by this same cargo invocation (`target/<profile>/spin-test-host`),
/// building it when this test runs alone; `SPIN_TEST_HOST_BIN` overrides.
fn host_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SPIN_TEST_HOST_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("spin-test-host");
    if !bin.is_file() {
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "-p", "spin-test-host", "--target-dir"])
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        assert!(
            build.status().expect("run cargo build").success(),
            "building spin-test-host failed"
        );
    }
    bin
}

#[test]
fn smoke_run_writes_every_row_of_the_table() {
    let out = tempfile::Builder::new()
        .prefix("bench-smoke")
        .suffix(".md")
        .tempfile()
        .unwrap();
    let mut args: Vec<String> = vec![
        "--smoke".into(),
        "--out".into(),
        out.path().display().to_string(),
        "--host-bin".into(),
        host_bin().display().to_string(),
    ];
    // BENCH_SPIN=/path/to/spin: the `--spin` rows too (CI has no Spin).
    let spin = std::env::var("BENCH_SPIN").ok();
    if let Some(spin) = &spin {
        args.extend(["--spin-bin".to_owned(), spin.clone()]);
    }
    let options = Options::parse(&args).unwrap();
    assert_eq!(options.mode, Mode::Smoke);
    let summary = beds24_bench::run(&options).unwrap_or_else(|e| panic!("smoke run failed: {e:?}"));

    let text = std::fs::read_to_string(out.path()).unwrap();
    assert_eq!(text, summary.text);
    for key in [
        "- Date: ",
        "- Machine: nproc ",
        "- Commit: `",
        "- Command: `",
        "- Mode: smoke",
    ] {
        assert!(text.contains(key), "header line {key:?} missing:\n{text}");
    }
    for key in expected_keys(Mode::Smoke, spin.is_some()) {
        let row = summary
            .rows
            .iter()
            .find(|r| r.key == key)
            .unwrap_or_else(|| panic!("row {key} missing"));
        let line = format!("| `{key}` |");
        assert!(
            text.lines().any(|l| l.starts_with(&line)),
            "table line for {key} missing:\n{text}"
        );
        if row.status != Status::Info {
            assert!(
                row.target.chars().any(|c| c.is_ascii_digit()),
                "{key} has no target: {row:?}"
            );
        }
    }
    assert_eq!(
        summary.rows.len(),
        expected_keys(Mode::Smoke, spin.is_some()).len(),
        "unexpected extra rows"
    );
}
