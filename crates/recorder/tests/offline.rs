//! Offline recording checked sample by sample against the policy's outcome: a tone per voice,
//! every example call of `examples/policy/`, each interval of the timeline verified in the file.

use std::path::{Path, PathBuf};

use callrec_policy::{SettingsFile, TakeStatus, Verdict, parse_events, simulate};
use callrec_recorder::{CallInfo, RECORDING, ReplayInputs, frame_at, replay};
use rstest::rstest;

const RATE: u32 = 16_000;
const AGENT_HZ: f64 = 440.0;
const CUSTOMER_HZ: f64 = 1000.0;
const PARTY_HZ: f64 = 700.0;
/// One millisecond at the recording rate: the allowed error at a boundary.
const MS: usize = (RATE / 1000) as usize;

fn tone(path: &Path, rate: u32, channels: u16, hz: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..(seconds * f64::from(rate)) as u64 {
        let v = (0.4 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin() * 32767.0)
            as i16;
        for _ in 0..channels {
            w.write_sample(v).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

/// Power of `hz` in `x` (Goertzel), normalised so a full sine of amplitude a reads ~a²/4.
fn power(x: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / f64::from(RATE);
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) / 32768.0 + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / (x.len() as f64).powi(2)
}

fn channels(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).expect("open");
    assert_eq!(reader.spec().channels, 2);
    assert_eq!(reader.spec().sample_rate, RATE);
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    (
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    )
}

struct Fixture {
    dir: tempfile::TempDir,
    inputs: ReplayInputs,
}

impl Fixture {
    /// Tones of 90 s at three different rates: the agent 440 Hz at 48 kHz mono, the customer
    /// 1000 Hz at 44.1 kHz stereo, each party 700 Hz at 16 kHz.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let agent = dir.path().join("agent.wav");
        let customer = dir.path().join("customer.wav");
        tone(&agent, 48_000, 1, AGENT_HZ, 90.0);
        tone(&customer, 44_100, 2, CUSTOMER_HZ, 90.0);
        let mut parties = Vec::new();
        for id in ["p1", "p2", "supervisor", "interpreter"] {
            let path = dir.path().join(format!("{id}.wav"));
            tone(&path, 16_000, 1, PARTY_HZ, 90.0);
            parties.push((id.to_owned(), path));
        }
        Self {
            inputs: ReplayInputs {
                agent,
                customer,
                parties,
            },
            dir,
        }
    }
}

fn info() -> CallInfo {
    CallInfo {
        call_id: uuid::Uuid::now_v7(),
        project_id: Some("test".into()),
        policy_version: None,
        agent: String::new(),
        contact: None,
        origin_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Checks one stretch of a channel: exact zeros when off; when on, the tone present in every
/// millisecond (so the boundary is within 1 ms) and the other voices absent unless expected.
fn check_stretch(x: &[i16], on: bool, want: &[f64], absent: &[f64], what: &str) {
    if !on {
        let loud = x.iter().position(|&v| v != 0);
        assert!(
            loud.is_none(),
            "{what}: not silent at frame {loud:?} of {}",
            x.len()
        );
        return;
    }
    for (i, window) in x.chunks(MS).enumerate() {
        assert!(
            window.iter().any(|&v| v != 0),
            "{what}: silent millisecond {i}"
        );
    }
    if x.len() >= 800 {
        for &hz in want {
            assert!(
                power(x, hz) > 0.01,
                "{what}: {hz} Hz missing ({})",
                power(x, hz)
            );
        }
        for &hz in absent {
            assert!(
                power(x, hz) < 0.001,
                "{what}: {hz} Hz present ({})",
                power(x, hz)
            );
        }
    }
}

#[test]
fn every_example_call_is_recorded_exactly_as_the_policy_says() {
    let fixture = Fixture::new();
    for example in examples() {
        let name = example
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let settings = SettingsFile::from_json(
            &std::fs::read_to_string(example.join("settings.json")).expect("read"),
        )
        .expect("settings");
        let events =
            parse_events(&std::fs::read_to_string(example.join("events.jsonl")).expect("read"))
                .expect("events");
        // Without a call_ended, a recorded call ends where its audio does (90 s here).
        let mut scripted = events.clone();
        if !events
            .iter()
            .any(|(_, e)| e.event == callrec_policy::Event::CallEnded)
        {
            let end = callrec_policy::TimedEvent {
                t_ms: 90_000,
                event: callrec_policy::Event::CallEnded,
            };
            scripted.push((usize::MAX - 1, end));
        }
        let expected = simulate(&settings, &scripted);
        let out = fixture.dir.path().join(&name);
        let sidecar = replay(
            &out,
            settings.resolve(),
            info(),
            RATE,
            &fixture.inputs,
            &events,
            false,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        // The sidecar carries the policy's outcome, unchanged.
        assert_eq!(sidecar.timeline, expected.timeline, "{name}");
        assert_eq!(sidecar.outcome, expected.outcome, "{name}");
        assert_eq!(sidecar.refused, expected.refused, "{name}");

        let wav = out.join(RECORDING);
        if expected.outcome != Verdict::Kept {
            assert!(
                !wav.exists(),
                "{name}: outcome {:?} must leave no recording",
                expected.outcome
            );
            assert!(sidecar.recording.is_none());
            continue;
        }
        let (left, right) = channels(&wav);
        let origin = frame_at(expected.timeline[0].from_ms, RATE);
        let end = frame_at(expected.timeline.last().map_or(0, |i| i.to_ms), RATE);
        assert_eq!(
            left.len() as u64,
            end - origin,
            "{name}: the file covers the call exactly"
        );
        for i in &expected.timeline {
            let a = (frame_at(i.from_ms, RATE) - origin) as usize;
            let b = (frame_at(i.to_ms, RATE) - origin) as usize;
            let what = format!("{name} [{}, {}) ms", i.from_ms, i.to_ms);
            check_stretch(
                &left[a..b],
                i.agent,
                &[AGENT_HZ],
                &[CUSTOMER_HZ, PARTY_HZ],
                &format!("{what} agent"),
            );
            let remote_on = i.customer || i.third_parties;
            let want: Vec<f64> = [(i.customer, CUSTOMER_HZ), (i.third_parties, PARTY_HZ)]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, hz)| *hz)
                .collect();
            let absent: Vec<f64> = [(i.customer, CUSTOMER_HZ), (i.third_parties, PARTY_HZ)]
                .iter()
                .filter(|(on, _)| !*on)
                .map(|(_, hz)| *hz)
                .chain([AGENT_HZ])
                .collect();
            check_stretch(
                &right[a..b],
                remote_on,
                &want,
                &absent,
                &format!("{what} remote"),
            );
        }

        // Each kept take is its own file holding exactly the main recording's frames over
        // the take; overwritten takes leave no file.
        for r in &sidecar.receipts {
            let path = out
                .join("receipts")
                .join(callrec_recorder::receipt_file_name(
                    &r.take.order_id,
                    r.take.seq,
                ));
            if r.take.status == TakeStatus::Overwritten {
                assert!(
                    !path.exists() && r.file.is_none(),
                    "{name}: overwritten take kept"
                );
                continue;
            }
            let (tl, tr) = channels(&path);
            let a = (frame_at(r.take.from_ms, RATE) - origin) as usize;
            let b = (frame_at(r.take.to_ms, RATE) - origin) as usize;
            assert_eq!(tl, left[a..b], "{name}: take {} left", r.take.order_id);
            assert_eq!(tr, right[a..b], "{name}: take {} right", r.take.order_id);
            let file = r.file.as_ref().expect("kept take has a file");
            assert_eq!(file.frames, (b - a) as u64);
        }
        assert!(out.join("recording.json").exists());
        assert!(
            !out.join("call.journal").exists(),
            "journal removed once complete"
        );
    }
}

#[test]
fn the_sidecar_describes_the_files_it_ships_with() {
    let fixture = Fixture::new();
    let example = examples()
        .into_iter()
        .find(|p| p.ends_with("cc-receipts-forbid-customer"))
        .expect("example");
    let settings = SettingsFile::from_json(
        &std::fs::read_to_string(example.join("settings.json")).expect("read"),
    )
    .expect("settings");
    let events =
        parse_events(&std::fs::read_to_string(example.join("events.jsonl")).expect("read"))
            .expect("events");
    let out = fixture.dir.path().join("call");
    let sidecar = replay(
        &out,
        settings.resolve(),
        info(),
        RATE,
        &fixture.inputs,
        &events,
        false,
    )
    .expect("replay");
    let on_disk: callrec_recorder::Sidecar =
        serde_json::from_str(&std::fs::read_to_string(out.join("recording.json")).expect("read"))
            .expect("parse");
    assert_eq!(on_disk, sidecar);
    let rec = sidecar.recording.as_ref().expect("kept");
    let bytes = std::fs::read(out.join(&rec.file)).expect("read");
    assert_eq!(rec.bytes, bytes.len() as u64);
    use sha2::Digest;
    assert_eq!(rec.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(rec.duration_ms, 40_000);
    assert_eq!(sidecar.receipts.len(), 2);
    assert_eq!(sidecar.holding_months, 3);
    assert_eq!(
        sidecar.expires_at,
        Some(time::macros::datetime!(1970-04-01 00:00 UTC)),
        "three calendar months after the call started"
    );
}

#[rstest]
#[case::recording(RECORDING)]
#[case::journal("call.journal")]
#[case::sidecar("recording.json")]
fn a_folder_with_a_recording_is_refused(#[case] existing: &str) {
    let fixture = Fixture::new();
    let out = fixture.dir.path().join("taken");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join(existing), b"precious").expect("write");
    let settings = SettingsFile::from_json(
        r#"{"project": {"kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("settings");
    let events = parse_events("{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n").expect("events");
    let err = replay(
        &out,
        settings.resolve(),
        info(),
        RATE,
        &fixture.inputs,
        &events,
        false,
    )
    .expect_err("refused");
    assert!(
        err.to_string().contains("already holds a recording"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(out.join(existing)).expect("kept"),
        b"precious"
    );
}

#[test]
fn a_call_without_call_ended_ends_with_its_audio() {
    let fixture = Fixture::new();
    let settings = SettingsFile::from_json(
        r#"{"project": {"kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("settings");
    let events = parse_events("{\"t_ms\": 500, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n").expect("events");
    let out = fixture.dir.path().join("open");
    let sidecar = replay(
        &out,
        settings.resolve(),
        info(),
        RATE,
        &fixture.inputs,
        &events,
        false,
    )
    .expect("replay");
    assert_eq!(sidecar.timeline.last().map(|i| i.to_ms), Some(90_000));
    assert_eq!(
        sidecar.recording.map(|r| r.frames),
        Some(u64::from(RATE) * 90 - u64::from(RATE) / 2)
    );
}

/// An event that reaches the recorder after its frame was written (a hang-up applied late)
/// takes effect at the present and is recorded there: the timeline never claims an end, or a
/// silence, that the audio does not hold.
#[test]
fn a_late_event_is_recorded_where_it_took_effect_so_the_timeline_matches_the_audio() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = SettingsFile::from_json(
        r#"{"project": {"kind": "contact_center", "record_mode": "agent_only_allow_customer"}}"#,
    )
    .expect("settings");
    let mut recorder =
        callrec_recorder::Recorder::create(dir.path(), settings.resolve(), info(), RATE)
            .expect("create");
    let started = callrec_policy::Event::CallStarted {
        direction: callrec_policy::Direction::Outbound,
        consent: callrec_policy::Consent::Granted,
    };
    recorder.event(0, &started).expect("io").expect("accepted");
    recorder
        .event(0, &callrec_policy::Event::CustomerOn)
        .expect("io")
        .expect("accepted");
    let second = vec![0.25f32; RATE as usize];
    let customer = callrec_recorder::Remote::Customer;
    recorder
        .write(&second, &[(&customer, &second)])
        .expect("write");
    // Both arrive a second after the instants they name.
    recorder
        .event(500, &callrec_policy::Event::CustomerOff)
        .expect("io")
        .expect("accepted");
    recorder
        .write(&second, &[(&customer, &second)])
        .expect("write");
    recorder
        .event(1_200, &callrec_policy::Event::CallEnded)
        .expect("io")
        .expect("accepted");
    assert_eq!(recorder.late_events(), 2);
    let sidecar = recorder.finish().expect("finish");
    let on = |from_ms, to_ms, customer| callrec_policy::Interval {
        from_ms,
        to_ms,
        agent: true,
        customer,
        third_parties: false,
    };
    assert_eq!(
        sidecar.timeline,
        vec![on(0, 1_000, true), on(1_000, 2_000, false)]
    );
    let (agent, remote) = channels(&dir.path().join(RECORDING));
    assert_eq!(
        agent.len(),
        2 * RATE as usize,
        "the audio ends where the call did"
    );
    assert!(remote[..RATE as usize].iter().all(|&s| s != 0));
    assert!(remote[RATE as usize..].iter().all(|&s| s == 0));
}
