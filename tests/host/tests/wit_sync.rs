//! The WIT files vendored in /wit must stay byte-identical to the spin-sdk 5.2.0 crate's copies.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Files we vendor, relative to `wit/deps/` (in /wit and in the SDK).
const VENDORED: &[&str] = &[
    "spin@2.0.0/key-value.wit",
    "spin@2.0.0/redis.wit",
    "spin@2.0.0/variables.wit",
    "spin@unversioned/inbound-redis.wit",
    "spin@unversioned/redis-types.wit",
    "spin-postgres@4.0.0/postgres.wit",
];

/// Our own files under wit/: the world and the two package headers.
const OURS: &[&str] = &[
    "test-host.wit",
    "deps/spin@2.0.0/package.wit",
    "deps/spin@unversioned/package.wit",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The spin-sdk 5.2.0 source directory, via `cargo metadata` (the lockfile
/// pins it), else by looking in the cargo registry.
fn spin_sdk_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .output()
        .expect("run cargo metadata");
    if out.status.success() {
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let found = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "spin-sdk" && p["version"] == "5.2.0");
        if let Some(p) = found {
            return Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .to_path_buf();
        }
    } else {
        eprintln!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    for index in std::fs::read_dir(home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = index.path().join("spin-sdk-5.2.0");
        if dir.is_dir() {
            return dir;
        }
    }
    panic!("spin-sdk 5.2.0 not found: run `cargo fetch` in the workspace");
}

#[test]
fn vendored_wit_matches_spin_sdk() {
    let sdk = spin_sdk_dir().join("wit/deps");
    let ours = workspace_root().join("wit/deps");
    for file in VENDORED {
        let expected = std::fs::read(sdk.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", sdk.join(file).display()));
        let actual = std::fs::read(ours.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", ours.join(file).display()));
        assert!(
            expected == actual,
            "wit/deps/{file} differs from spin-sdk 5.2.0's copy: re-copy it, never edit it"
        );
    }
}

#[test]
fn wit_dir_holds_only_known_files() {
    let root = workspace_root().join("wit");
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wit") {
                found.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    let mut expected: Vec<String> = VENDORED
        .iter()
        .map(|f| format!("deps/{f}"))
        .chain(OURS.iter().map(|f| f.to_string()))
        .collect();
    expected.sort();
    assert_eq!(
        found, expected,
        "unexpected .wit files under wit/ (see wit/README.md)"
    );
}
