//! `callrec simulate` as a user runs it: exit codes, stdout, and the one-line errors for
//! unreadable input (POLICY.md §9, §10).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rstest::rstest;
use serde_json::{Value, json};

const SETTINGS: &str =
    r#"{"project": {"kind": "contact_center", "record_mode": "agent_only_allow_customer"}}"#;
const EVENTS: &str = "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"not_asked\"}\n{\"t_ms\": 1000, \"event\": \"call_ended\"}\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(settings: &str, events: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("settings.json"), settings).expect("write");
        std::fs::write(dir.path().join("events.jsonl"), events).expect("write");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self) -> Output {
        simulate(&self.path("settings.json"), &self.path("events.jsonl"))
    }
}

fn simulate(settings: &Path, events: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callrec"))
        .arg("simulate")
        .arg("--settings")
        .arg(settings)
        .arg("--events")
        .arg(events)
        .output()
        .expect("callrec runs")
}

/// Asserts exit 2, nothing on stdout and exactly one line on stderr; returns the line.
fn one_error_line(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr.clone()).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.ends_with('\n'));
    stderr.trim_end().to_owned()
}

#[test]
fn refused_events_are_outcomes_with_exit_zero() {
    let events = format!("{EVENTS}\n{{\"t_ms\": 1200, \"event\": \"pause\"}}\n");
    let out = Files::new(SETTINGS, &events).run();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        v["refused"],
        json!([{"index": 3, "t_ms": 1200, "event": "pause", "reason": "call_over"}])
    );
    assert_eq!(
        v["timeline"],
        json!([{"from_ms": 0, "to_ms": 1000, "agent": true, "customer": false, "third_parties": false}])
    );
    assert_eq!(v["outcome"], "kept");
}

#[test]
fn an_empty_events_file_is_valid() {
    let out = Files::new(SETTINGS, "").run();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["timeline"], json!([]));
    assert_eq!(v["outcome"], "none");
}

// Settings errors: file, field, and the valid values where there is a list.
#[rstest]
#[case::bad_json("{\"project\": {\"kind\": \"contact_center\",\n \"record_mode\": }", &["settings.json", "not valid JSON", "line 2"])]
#[case::unknown_mode(r#"{"project": {"kind": "contact_center", "record_mode": "record_all"}}"#, &["settings.json", "`project.record_mode`", "\"record_all\"", "valid values: global, both, agent_only_allow_customer, agent_only_forbid_customer, agent_only_receipts_allow_customer, agent_only_receipts_forbid_customer"])]
#[case::mode_of_other_kind(r#"{"project": {"kind": "contact_center", "record_mode": "none"}}"#, &["`project.record_mode`", "\"none\"", "contact_center"])]
#[case::setting_not_for_kind(r#"{"project": {"kind": "customer_service", "record_mode": "both", "multiple_receipts_per_order": true}}"#, &["`project.multiple_receipts_per_order`", "customer_service"])]
#[case::months_zero(r#"{"project": {"kind": "contact_center", "record_mode": "both", "holding_months": 0}}"#, &["`project.holding_months`", "1 to 120"])]
#[case::months_121(r#"{"global": {"holding_months": 121}, "project": {"kind": "contact_center", "record_mode": "both"}}"#, &["`global.holding_months`", "1 to 120"])]
#[case::unknown_field(r#"{"project": {"kind": "contact_center", "record_mode": "both", "paused": true}}"#, &["`project.paused`", "unknown field"])]
fn settings_errors(#[case] settings: &str, #[case] words: &[&str]) {
    let line = one_error_line(&Files::new(settings, EVENTS).run());
    for w in words {
        assert!(line.contains(w), "{line:?} lacks {w:?}");
    }
}

// Events errors: file, 1-based line, field.
#[rstest]
#[case::bad_json("{\"t_ms\": 0, \"event\": \"call_started\"", 1, &["not valid JSON"])]
#[case::decreasing(&format!("{EVENTS}{{\"t_ms\": 999, \"event\": \"pause\"}}\n"), 3, &["`t_ms`", "999", "1000", "never decrease"])]
#[case::unknown_event("\n{\"t_ms\": 0, \"event\": \"hold\"}", 2, &["`event`", "\"hold\"", "call_started, customer_on, customer_off, pause, resume, receipt_start, receipt_stop, party_joined, party_left, consent_withdrawn, call_ended"])]
#[case::unknown_consent("{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"maybe\"}", 1, &["`consent`", "granted, declined, not_asked"])]
#[case::missing_direction("{\"t_ms\": 0, \"event\": \"call_started\", \"consent\": \"granted\"}", 1, &["`direction`", "missing", "inbound, outbound"])]
#[case::missing_order_id("{\"t_ms\": 0, \"event\": \"receipt_start\"}", 1, &["`order_id`", "missing"])]
#[case::empty_party("{\"t_ms\": 0, \"event\": \"party_joined\", \"party\": \"\"}", 1, &["`party`", "non-empty"])]
#[case::float_time("{\"t_ms\": 3.0, \"event\": \"pause\"}", 1, &["`t_ms`", "non-negative integer"])]
#[case::negative_time("{\"t_ms\": -1, \"event\": \"pause\"}", 1, &["`t_ms`", "non-negative integer"])]
#[case::missing_time("{\"event\": \"pause\"}", 1, &["`t_ms`", "missing"])]
#[case::unknown_field("{\"t_ms\": 0, \"event\": \"pause\", \"reason\": \"lunch\"}", 1, &["`reason`", "unknown field", "t_ms, event"])]
#[case::not_an_object("[1, 2]", 1, &["expected a JSON object"])]
fn events_errors(#[case] events: &str, #[case] line: usize, #[case] words: &[&str]) {
    let f = Files::new(SETTINGS, events);
    let msg = one_error_line(&f.run());
    let at = format!("{}:{line}: ", f.path("events.jsonl").display());
    assert!(msg.contains(&at), "{msg:?} lacks {at:?}");
    for w in words {
        assert!(msg.contains(w), "{msg:?} lacks {w:?}");
    }
}

#[test]
fn settings_errors_come_before_events_errors() {
    let f = Files::new(
        r#"{"project": {"kind": "x", "record_mode": "both"}}"#,
        "not json",
    );
    let msg = one_error_line(&f.run());
    assert!(
        msg.contains("settings.json") && msg.contains("`project.kind`"),
        "{msg}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let f = Files::new(SETTINGS, EVENTS);
    let msg = one_error_line(&simulate(&f.path("settings.json"), &f.path("nope.jsonl")));
    assert!(
        msg.contains("nope.jsonl") && msg.contains("cannot read the events file"),
        "{msg}"
    );
}

#[test]
fn help_explains_the_formats_with_an_example() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args(args)
            .output()
            .expect("runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("simulate") && top.contains("examples/policy/"),
        "{top}"
    );
    let sim = help(&["simulate", "--help"]);
    for w in [
        "SETTINGS.json",
        "EVENTS.jsonl",
        "\"receipt_start\"",
        "agent_only_receipts_forbid_customer",
        "stop_on_third_party",
        "\"outcome\": \"kept\"",
    ] {
        assert!(sim.contains(w), "simulate --help lacks {w}");
    }
}

#[test]
fn usage_errors_exit_two() {
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["simulate", "--settings", "x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
