//! Keypad tones a customer types in band (a card number on a tone phone) never reach the
//! recording (POLICY.md §8): `callrec record` with the 16 DTMF keys in the customer's audio, at
//! several levels and lengths, alone and over speech; multimon-ng (a decoder nobody here
//! wrote) finds every key in the input and none in the recording, and recording.json notes
//! each silenced stretch. sox, espeak-ng and multimon-ng are required (scripts/setup installs
//! them).

use std::path::Path;
use std::process::Command;

const RATE: u32 = 16_000;
const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: &str = "123A456B789C*0#D";

fn tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{name} is not installed (scripts/setup installs it)");
}

fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("wav");
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
}

fn read_mono(path: &Path) -> Vec<f32> {
    read_mono_channel(path, 0)
}

/// What multimon-ng decodes in `samples` (at `RATE`): the digits, in order.
fn decode(dir: &Path, samples: &[f32]) -> String {
    let wav = dir.join("decode.wav");
    let raw = dir.join("decode.raw");
    write_wav(&wav, samples, RATE);
    let ok = Command::new("sox")
        .arg(&wav)
        .args([
            "-t", "raw", "-r", "22050", "-e", "signed", "-b", "16", "-c", "1",
        ])
        .arg(&raw)
        .status()
        .expect("sox");
    assert!(ok.success());
    let out = Command::new("multimon-ng")
        .args(["-q", "-t", "raw", "-a", "DTMF"])
        .arg(&raw)
        .output()
        .expect("multimon-ng");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("DTMF: "))
        .collect()
}

/// Speech from espeak-ng at `RATE`, `seconds` long at least (repeated).
fn speech(dir: &Path, seconds: f64) -> Vec<f32> {
    let raw = dir.join("speech-raw.wav");
    let speech = dir.join("speech.wav");
    let ok = Command::new("espeak-ng")
        .arg("-w")
        .arg(&raw)
        .arg("Please type your card number after the tone, then press the hash key. Thank you for your patience while we check the details of your order.")
        .status()
        .expect("espeak-ng");
    assert!(ok.success());
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", &RATE.to_string(), "-b", "16"])
        .arg(&speech)
        .status()
        .expect("sox");
    assert!(ok.success());
    let once = read_mono(&speech);
    once.iter()
        .copied()
        .cycle()
        .take((seconds * f64::from(RATE)) as usize)
        .collect()
}

#[test]
fn keypad_tones_in_the_customers_audio_leave_nothing_a_decoder_finds_in_the_recording() {
    for t in ["sox", "espeak-ng", "multimon-ng"] {
        tool(t);
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Every key at three levels and two lengths, 200 ms apart, the second half over speech
    // 20 dB under the keys.
    let mut customer = vec![0.0f32; RATE as usize / 2];
    let mut keys = 0;
    let mut typed = 0;
    for (level, ms) in [(-10.0, 60), (-20.0, 100), (-30.0, 60), (-20.0, 150)] {
        let a = 10f64.powf(level / 20.0);
        for (k, _) in KEYS.chars().enumerate() {
            let n = (RATE as usize * ms) / 1000;
            typed += n;
            let (lo, hi) = (LOW[k / 4], HIGH[k % 4]);
            customer.extend((0..n).map(|i| {
                let t = i as f64 / f64::from(RATE);
                (a * ((std::f64::consts::TAU * lo * t).sin()
                    + (std::f64::consts::TAU * hi * t).sin())) as f32
            }));
            customer.extend(std::iter::repeat_n(0.0, RATE as usize / 5));
            keys += 1;
        }
    }
    let half = customer.len() / 2;
    let voice = speech(dir, (customer.len() - half) as f64 / f64::from(RATE));
    let voice_peak = voice.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    for (c, v) in customer[half..].iter_mut().zip(&voice) {
        // Speech 20 dB under the -10 dBFS keys' level.
        *c += v / voice_peak * 0.03;
    }
    let heard = decode(dir, &customer);
    assert!(
        heard.len() >= keys - 2,
        "multimon-ng finds the keys in the input ({heard}, {keys} typed)"
    );
    write_wav(&dir.join("customer.wav"), &customer, RATE);
    let seconds = customer.len() as f64 / f64::from(RATE);
    let agent: Vec<f32> = (0..customer.len())
        .map(|i| 0.3 * (std::f64::consts::TAU * 440.0 * i as f64 / f64::from(RATE)).sin() as f32)
        .collect();
    write_wav(&dir.join("agent.wav"), &agent, RATE);
    std::fs::write(
        dir.join("settings.json"),
        r#"{"project": {"kind": "customer_service", "record_mode": "both"}}"#,
    )
    .expect("settings");
    std::fs::write(
        dir.join("events.jsonl"),
        format!(
            "{{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}}\n{{\"t_ms\": {}, \"event\": \"call_ended\"}}\n",
            (seconds * 1000.0) as u64 - 100
        ),
    )
    .expect("events");
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "record",
            "--settings",
            "settings.json",
            "--events",
            "events.jsonl",
        ])
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
        .expect("callrec record");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut reader = hound::WavReader::open(dir.join("call/recording.wav")).expect("wav");
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32_768.0)
        .collect();
    let (recorded_agent, recorded_customer): (Vec<f32>, Vec<f32>) =
        samples.chunks(2).map(|f| (f[0], f[1])).unzip();
    assert_eq!(
        decode(dir, &recorded_customer),
        "",
        "no key survives in the recording"
    );
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("call/recording.json")).expect("sidecar"),
    )
    .expect("json");
    let masked: Vec<(usize, usize)> = sidecar["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|n| n["reason"] == "keypad_tones_masked")
        .inspect(|n| assert_eq!(n["side"], "customer", "{n}"))
        .map(|n| {
            let at = |k: &str| n[k].as_u64().expect("ms") as usize * RATE as usize / 1000;
            (at("from_ms"), at("to_ms"))
        })
        .collect();
    assert_eq!(
        masked.len(),
        keys,
        "one silenced stretch per key: {masked:?}"
    );
    // Each stretch is the key and its guard, no more: the rest of the customer's audio,
    // speech included, is in the recording as it was said.
    let silenced: usize = masked.iter().map(|(from, to)| to - from).sum();
    assert!(
        silenced < typed * 2,
        "{silenced} samples silenced for {typed} samples of keys"
    );
    let mut kept = 0;
    let mut compared = 0;
    for (i, (r, c)) in recorded_customer.iter().zip(&customer).enumerate() {
        let margin = RATE as usize / 100;
        if masked
            .iter()
            .any(|&(from, to)| i + margin >= from && i <= to + margin)
        {
            continue;
        }
        compared += 1;
        if (r - c).abs() < 0.001 {
            kept += 1;
        }
    }
    assert!(
        kept * 1000 >= compared * 999,
        "{kept} of {compared} samples outside the silenced stretches kept as they were"
    );
    assert!(recorded_agent.iter().filter(|s| s.abs() > 0.1).count() > recorded_agent.len() / 2);
}

/// The stretches silenced before a crash are journaled as they pass: `callrec recover`
/// notes them in the completed recording.
#[test]
fn keypad_stretches_silenced_before_a_kill_are_noted_in_the_recovered_recording() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Five keys in the first two seconds of a 30-second call.
    let mut customer = vec![0.0f32; RATE as usize / 4];
    for k in 0..5 {
        let (lo, hi) = (LOW[k % 4], HIGH[(k + 1) % 4]);
        customer.extend((0..RATE as usize / 10).map(|i| {
            let t = i as f64 / f64::from(RATE);
            (0.2 * ((std::f64::consts::TAU * lo * t).sin()
                + (std::f64::consts::TAU * hi * t).sin())) as f32
        }));
        customer.extend(std::iter::repeat_n(0.0, RATE as usize / 4));
    }
    customer.resize(30 * RATE as usize, 0.0);
    write_wav(&dir.join("customer.wav"), &customer, RATE);
    write_wav(&dir.join("agent.wav"), &vec![0.0; customer.len()], RATE);
    std::fs::write(
        dir.join("settings.json"),
        r#"{"project": {"kind": "customer_service", "record_mode": "both"}}"#,
    )
    .expect("settings");
    std::fs::write(
        dir.join("events.jsonl"),
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n{\"t_ms\": 30000, \"event\": \"call_ended\"}\n",
    )
    .expect("events");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["record", "--realtime", "--settings", "settings.json"])
        .args(["--events", "events.jsonl", "--agent", "agent.wav"])
        .args(["--customer", "customer.wav", "--out", "call"])
        .current_dir(dir)
        .spawn()
        .expect("callrec record");
    let part = dir.join("call/recording.wav.part");
    let started = std::time::Instant::now();
    while !part.exists() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the recording never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_secs(4));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(!dir.join("call/recording.json").exists(), "killed mid-call");

    let recovered = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["recover", "call"])
        .current_dir(dir)
        .output()
        .expect("callrec recover");
    assert!(
        recovered.status.success(),
        "{}",
        String::from_utf8_lossy(&recovered.stderr)
    );
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("call/recording.json")).expect("sidecar"),
    )
    .expect("json");
    assert_eq!(sidecar["recovered"], true);
    let masked: Vec<(u64, u64)> = sidecar["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|n| n["reason"] == "keypad_tones_masked" && n["side"] == "customer")
        .map(|n| {
            (
                n["from_ms"].as_u64().expect("ms"),
                n["to_ms"].as_u64().expect("ms"),
            )
        })
        .collect();
    assert_eq!(masked.len(), 5, "{:?}", sidecar["notes"]);
    for (k, (from, to)) in masked.iter().enumerate() {
        let key_from = 250 + 350 * k as u64;
        assert!(
            *from <= key_from && *to >= key_from + 100 && to - from <= 200,
            "key {k} at {key_from} ms: noted {from}..{to}"
        );
    }
    assert_eq!(
        decode(dir, &read_mono_channel(&dir.join("call/recording.wav"), 1)),
        ""
    );
}

fn read_mono_channel(path: &Path, channel: usize) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).expect("wav");
    let channels = usize::from(r.spec().channels);
    let all: Vec<f32> = r
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32_768.0)
        .collect();
    all.chunks(channels).map(|f| f[channel]).collect()
}
