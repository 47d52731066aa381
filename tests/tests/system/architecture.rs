//! The invariants ARCHITECTURE.md states, checked on the source tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// Each workspace package with its normal (non-dev) dependencies.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let normal = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].is_null())
                .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
                .collect();
            (package["name"].as_str().unwrap().to_owned(), normal)
        })
        .collect()
}

#[test]
fn dependencies_run_from_agents_and_orchestrator_to_runtime_to_protocol() {
    let packages = dependencies();
    let ours = |package: &str| -> Vec<String> {
        packages[package].iter().filter(|name| name.starts_with("mneme-")).cloned().collect()
    };
    assert!(ours("mneme-protocol").is_empty());
    assert_eq!(ours("mneme-runtime"), ["mneme-protocol"]);
    assert_eq!(ours("mneme-sources"), ["mneme-protocol"]);
    for (package, _) in
        packages.iter().filter(|(name, _)| name.starts_with("mneme-") && name.as_str() != "mneme-system-tests")
    {
        if matches!(package.as_str(), "mneme-protocol" | "mneme-runtime" | "mneme-sources") {
            continue;
        }
        let found = ours(package);
        assert!(
            found.iter().any(|name| name == "mneme-runtime")
                && found
                    .iter()
                    .all(|name| matches!(name.as_str(), "mneme-protocol" | "mneme-runtime" | "mneme-sources")),
            "{package} may depend only on protocol, runtime and sources: {found:?}"
        );
    }
    for pure in ["mneme-protocol", "mneme-sources"] {
        for forbidden in ["tokio", "async-nats", "futures"] {
            assert!(!packages[pure].iter().any(|name| name == forbidden), "{pure} must not depend on {forbidden}");
        }
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // tests/fuzz builds into a target directory of its own.
            if path.file_name().is_some_and(|name| name != "target") {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn sources(dirs: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in dirs {
        rust_files(&root().join(dir), &mut found);
    }
    assert!(!found.is_empty());
    found
}

#[test]
fn every_module_says_what_it_is_for() {
    for file in
        sources(&["common", "agents", "orchestrator", "tests/src", "tests/tests", "tests/benches", "tests/fuzz"])
    {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//! "), "{} does not open with a `//!` line", file.display());
    }
}

#[test]
fn subjects_are_spelled_only_in_the_protocol_crate() {
    for file in sources(&["common/runtime", "agents", "orchestrator"]) {
        let text = std::fs::read_to_string(&file).unwrap();
        for spelled in ["\"mneme.agent", "\"mneme.instance", "\"mneme.event", "\"mneme.orchestrator", "\"$SRV"] {
            assert!(
                !text.contains(spelled),
                "{} spells a subject ({spelled}); build it with mneme_protocol::subjects",
                file.display()
            );
        }
    }
}
