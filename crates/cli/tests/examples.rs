//! Golden files: every example in `examples/policy/` is simulated and compared with the
//! `expected.json` beside it. `BLESS=1 cargo test -p callrec-cli --test examples` rewrites the
//! expected files; a reviewer reads the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy")
}

#[test]
fn every_example_matches_its_expected_output() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/policy exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 15,
        "expected an example for each mode, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args(["simulate", "--settings"])
            .arg(dir.join("settings.json"))
            .arg("--events")
            .arg(dir.join("events.jsonl"))
            .output()
            .expect("callrec runs");
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{name}: stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        let expected_path = dir.join("expected.json");
        if bless {
            std::fs::write(&expected_path, &out.stdout).expect("write expected.json");
            continue;
        }
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{name}: {e}; run with BLESS=1 to create it")),
        )
        .expect("expected.json is JSON");
        if got != expected {
            failures.push(format!(
                "{name}: output differs from expected.json\n--- got\n{}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn examples_cover_every_record_and_conference_mode() {
    let mut settings = String::new();
    for entry in std::fs::read_dir(examples_dir()).expect("examples/policy exists") {
        let path = entry.expect("entry").path().join("settings.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            settings.push_str(&text);
        }
    }
    for mode in [
        "\"both\"",
        "\"agent_only_allow_customer\"",
        "\"agent_only_forbid_customer\"",
        "\"agent_only_receipts_allow_customer\"",
        "\"agent_only_receipts_forbid_customer\"",
        "\"none\"",
        "\"all_participants\"",
        "\"agent_and_customer_only\"",
        "\"stop_on_third_party\"",
        "\"global\"",
    ] {
        assert!(settings.contains(mode), "no example uses {mode}");
    }
}
