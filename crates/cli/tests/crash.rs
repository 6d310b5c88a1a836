//! A recording killed with SIGKILL mid-call is completed by `callrec recover`, losing at most
//! a second.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tone(path: &Path, rate: u32, hz: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..rate * seconds {
        let v = 0.4 * (std::f64::consts::TAU * hz * f64::from(i) / f64::from(rate)).sin();
        w.write_sample((v * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");
}

fn wait_for(path: &Path, limit: Duration) -> Instant {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
    Instant::now()
}

#[test]
fn a_recording_killed_mid_call_is_recovered_to_within_a_second() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    tone(&dir.join("agent.wav"), 48_000, 440.0, 30);
    tone(&dir.join("customer.wav"), 16_000, 1000.0, 30);
    std::fs::write(
        dir.join("settings.json"),
        r#"{"project": {"id": "sales", "kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("events.jsonl"),
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 1000, \"event\": \"receipt_start\", \"order_id\": \"A-1\"}\n",
            "{\"t_ms\": 30000, \"event\": \"call_ended\"}\n"
        ),
    )
    .expect("write");
    let out = dir.join("call");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .arg("record")
        .arg("--realtime")
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args([
            "--agent",
            "agent.wav",
            "--customer",
            "customer.wav",
            "--out",
            "call",
        ])
        .current_dir(dir)
        .spawn()
        .expect("spawn");
    // The call's first frame is written no earlier than its file appears.
    let started = wait_for(&out.join("recording.wav.part"), Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(3_000));
    child.kill().expect("SIGKILL");
    let elapsed = started.elapsed();
    child.wait().expect("reaped");
    assert!(out.join("call.journal").exists());
    assert!(
        !out.join("recording.json").exists(),
        "the kill left the call unfinished"
    );

    // A new `record` into the same folder is refused and points to `recover`.
    let again = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .arg("record")
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args([
            "--agent",
            "agent.wav",
            "--customer",
            "customer.wav",
            "--out",
            "call",
        ])
        .current_dir(dir)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("callrec recover"));

    let recovered = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["recover", "call"])
        .current_dir(dir)
        .output()
        .expect("run");
    assert!(
        recovered.status.success(),
        "{}",
        String::from_utf8_lossy(&recovered.stderr)
    );
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("recording.json")).expect("sidecar"),
    )
    .expect("json");
    assert_eq!(sidecar["recovered"], true);
    assert_eq!(sidecar["outcome"], "kept");
    let frames = sidecar["recording"]["frames"].as_u64().expect("frames");
    let kept = Duration::from_secs_f64(frames as f64 / 16_000.0);
    assert!(
        kept + Duration::from_secs(1) >= elapsed,
        "kept {kept:?} of audio, killed {elapsed:?} after the call started"
    );
    assert!(
        kept <= elapsed + Duration::from_millis(500),
        "kept {kept:?} > {elapsed:?}"
    );

    // The files are whole and match the sidecar; the open receipt was closed at the crash.
    let wav = out.join("recording.wav");
    let reader = hound::WavReader::open(&wav).expect("a valid WAV");
    assert_eq!(u64::from(reader.duration()), frames);
    let left: Vec<i16> = reader
        .into_samples::<i16>()
        .step_by(2)
        .map(|s| s.expect("sample"))
        .collect();
    assert!(
        left.chunks(16).all(|ms| ms.iter().any(|&v| v != 0)),
        "the agent is heard throughout"
    );
    let end = sidecar["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .map(|i| i["to_ms"].clone());
    assert_eq!(sidecar["receipts"][0]["to_ms"], end.expect("timeline"));
    assert!(out.join("receipts/A-1-1.wav").exists());
    assert!(!out.join("call.journal").exists() && !out.join("recording.wav.part").exists());
}
