//! Real SIP calls against SIP software nobody here wrote: baresip (auto-answering, a WAV as
//! its microphone, what it hears dumped to a file), a pjsua2 customer (pjproject's stack,
//! tests/pjsua2/customer.py), sipp scenarios and kamailio. A signal from each side must
//! arrive in the other's ears and in callrec's recording on the right channel, with the
//! policy's silences exact.
//!
//! Needs baresip (Debian `baresip-core`), sipp, kamailio and pjsua2-python (scripts/setup
//! installs them all); without one the tests that need it say so and pass, except under CI,
//! where they fail.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callrec_e2e::pulse_dir;
use callrec_e2e::sip::{
    Baresip, Pjsua2, best_lag, chirp, free_udp_port, have, have_pjsua2, read_channel, tone,
    tone_share,
};

fn write_inputs(dir: &Path, events: &str) {
    std::fs::write(
        dir.join("settings.json"),
        r#"{"project": {"kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("settings");
    std::fs::write(dir.join("events.jsonl"), events).expect("events");
    tone(&dir.join("agent.wav"), 16_000, 440, 30);
}

/// `callrec call --to TO` from `dir` (inputs written by `write_inputs`) with `extra`
/// options, logging at info; waits for it.
fn callrec_calls(dir: &Path, to: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["call", "--to", to])
        .args(extra)
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .env("CALLREC_LOG", "callrec=info")
        .current_dir(dir)
        .output()
        .expect("callrec call")
}

/// `callrec answer` on `port` in `dir` (inputs written by `write_inputs`).
fn answer_on(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["answer", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .env("CALLREC_LOG", "callrec=info")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("callrec answer")
}

/// A folder with the inputs of an inbound call (the customer's `consent`), and `callrec
/// answer` listening there on a free port, ready.
fn answering(consent: &str) -> (tempfile::TempDir, u16, Child) {
    let tmp = tempfile::tempdir().expect("tmp");
    write_inputs(
        tmp.path(),
        &format!(
            "{{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"{consent}\"}}\n"
        ),
    );
    let port = free_udp_port();
    let callrec = answer_on(tmp.path(), port);
    std::thread::sleep(Duration::from_millis(300));
    (tmp, port, callrec)
}

/// carol (baresip, a 1000 Hz tone) dials callrec on `port` and hangs up when she exits,
/// about 3 s after answering.
fn carol_dials(dir: &Path, port: u16) -> Baresip {
    Baresip::start(
        &dir.join("carol"),
        1_000,
        &[
            "-t",
            "4",
            "-e",
            &format!("/dial sip:callrec@127.0.0.1:{port}"),
        ],
    )
}

/// A folder with the inputs of an outbound call (started at once, then `later` events),
/// and bob (baresip, a 1000 Hz tone) ready to answer it.
fn bob_answers(later: &str) -> (tempfile::TempDir, Baresip) {
    let tmp = tempfile::tempdir().expect("tmp");
    let bob = Baresip::start(&tmp.path().join("bob"), 1_000, &["-t", "20"]);
    write_inputs(
        tmp.path(),
        &format!(
            "{{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}}\n{later}"
        ),
    );
    (tmp, bob)
}

#[test]
fn a_call_to_baresip_records_each_side_from_its_own_leg_with_exact_silences() {
    if !have("baresip") || !have("sox") {
        return;
    }
    let (tmp, bob) = bob_answers(concat!(
        "{\"t_ms\": 1500, \"event\": \"pause\"}\n",
        "{\"t_ms\": 2500, \"event\": \"resume\"}\n",
        "{\"t_ms\": 4000, \"event\": \"call_ended\"}\n",
    ));
    let dir = tmp.path();
    let out = callrec_calls(dir, &format!("sip:bob@127.0.0.1:{}", bob.port), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["outcome"], "kept");
    assert_eq!(summary["refused"], 0, "no refused event");

    let rate = 16_000.0;
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    assert_eq!(
        left.len(),
        4 * 16_000,
        "the call lasted 4 s from the answer"
    );
    let window =
        |x: &[f32], at: f64| x[(at * rate) as usize..((at + 0.1) * rate) as usize].to_vec();
    // Talking: the agent's 440 Hz on the left, bob's 1000 Hz on the right, never crossed.
    for at in [0.3, 1.0, 3.0, 3.7] {
        let (l, r) = (window(&left, at), window(&right, at));
        assert!(tone_share(&l, 440.0, rate) > 0.9, "agent at {at}s");
        assert!(tone_share(&r, 1_000.0, rate) > 0.9, "bob at {at}s");
        assert!(tone_share(&l, 1_000.0, rate) < 0.01 && tone_share(&r, 440.0, rate) < 0.01);
    }
    // Paused from 1.5 s to 2.5 s: exact zeros on both sides, to the frame.
    let (p0, p1) = (24_000, 40_000);
    assert!(left[p0..p1].iter().chain(&right[p0..p1]).all(|&v| v == 0.0));
    assert!(
        left[p0 - 160..p0].iter().any(|&v| v != 0.0),
        "sound up to the pause"
    );
    assert!(
        left[p1..p1 + 160].iter().any(|&v| v != 0.0),
        "sound from the resume"
    );

    // bob heard the agent's tone.
    std::thread::sleep(Duration::from_millis(300));
    let heard = bob.heard_at_least(3 * 8_000 + 1);
    assert!(heard.len() > 3 * 8_000, "bob heard {} samples", heard.len());
    assert!(tone_share(&heard[8_000..8_800], 440.0, 8_000.0) > 0.9);
}

#[test]
fn callrec_answers_a_call_from_baresip_and_ends_when_it_hangs_up() {
    if !have("baresip") || !have("sox") {
        return;
    }
    let (tmp, port, mut callrec) = answering("declined");
    let dir = tmp.path();
    // baresip dials in and hangs up when it exits, about 3 s later.
    let _caller = carol_dials(dir, port);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = callrec.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the call never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = callrec.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{log}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["refused"], 0);
    // carol's audio did arrive (so the silent customer channel below is the policy's doing).
    let received: u64 = log
        .split("received=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the RTP summary line");
    assert!(received > 50, "{received} RTP packets from carol");
    // Consent declined in a both-sides project: the customer is never recorded.
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    assert!(
        left.len() > 16_000,
        "at least a second of call: {}",
        left.len()
    );
    assert!(
        right.iter().all(|&v| v == 0.0),
        "the customer recorded despite consent declined"
    );
    assert!(
        tone_share(&left[8_000..9_600], 440.0, 16_000.0) > 0.9,
        "the agent side"
    );
}

/// sipp playing one of `tests/sipp/*.xml` as the callee on a free port, for one call.
fn sipp_callee(dir: &Path, scenario: &str) -> (Child, u16) {
    sipp_callee_with(dir, scenario, &[])
}

/// [`sipp_callee`] with `extra` arguments (e.g. `-key name value`).
fn sipp_callee_with(dir: &Path, scenario: &str, extra: &[&str]) -> (Child, u16) {
    let port = free_udp_port();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/sipp/{scenario}.xml"));
    let sipp = Command::new("sipp")
        .arg("-sf")
        .arg(&file)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-nostdin",
        ])
        .args(["-timeout", "20s", "-trace_err", "-trace_msg"])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp");
    std::thread::sleep(Duration::from_millis(300));
    (sipp, port)
}

/// sipp playing one of `tests/sipp/*.xml` as the caller, to callrec on `port`, for one call;
/// `extra` arguments (e.g. `-key name value`).
fn sipp_calls(dir: &Path, scenario: &str, port: u16, extra: &[&str]) -> Child {
    Command::new("sipp")
        .arg("-sf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/sipp/{scenario}.xml")))
        .arg(format!("127.0.0.1:{port}"))
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(extra)
        .args(["-m", "1", "-nostdin", "-timeout", "20s"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp")
}

/// `callrec call` to `to` with a 2 s ring timeout; returns its output.
fn call_out(dir: &Path, to: &str) -> std::process::Output {
    write_inputs(
        dir,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 2000, \"event\": \"call_ended\"}\n",
        ),
    );
    Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["call", "--to", to, "--ring-timeout", "2"])
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .current_dir(dir)
        .output()
        .expect("callrec call")
}

#[test]
fn a_busy_callee_is_reported_by_its_status_and_nothing_is_recorded() {
    if !have("sipp") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (mut sipp, port) = sipp_callee(dir, "busy");
    let out = call_out(dir, &format!("sip:busy@127.0.0.1:{port}"));
    let status = sipp.wait().expect("sipp");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the call: 486 Busy Here"),
        "{stderr}"
    );
    assert!(
        !dir.join("call").exists(),
        "no recording of a call that never was"
    );
    assert!(
        status.success(),
        "sipp saw the scenario through (ACK of the 486)"
    );
}

#[test]
fn a_call_nobody_answers_is_cancelled_after_the_ring_timeout() {
    if !have("sipp") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (mut sipp, port) = sipp_callee(dir, "no_answer");
    let started = Instant::now();
    let out = call_out(dir, &format!("sip:nobody@127.0.0.1:{port}"));
    let took = started.elapsed();
    let status = sipp.wait().expect("sipp");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not answer within 2 s; the call was cancelled"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(!dir.join("call").exists());
    // sipp's scenario only completes on CANCEL, then the ACK of its 487.
    assert!(status.success(), "sipp saw CANCEL and the ACK of 487");
}

#[test]
fn malformed_packets_during_a_call_are_ignored_and_the_call_goes_on() {
    use std::io::BufRead;
    if !have("baresip") || !have("sox") {
        return;
    }
    let (tmp, port, mut callrec) = answering("granted");
    let dir = tmp.path();
    // What callrec says, as it says it: the RTP port it announced.
    let (said_tx, said) = std::sync::mpsc::channel::<String>();
    let stderr = callrec.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = said_tx.send(line.clone());
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let _caller = carol_dials(dir, port);
    let rtp: u16 = loop {
        let line = said
            .recv_timeout(Duration::from_secs(10))
            .expect("callrec says the call is up");
        if let Some(port) = line
            .split("rtp=127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
        {
            break port;
        }
    };
    std::thread::sleep(Duration::from_millis(800));
    let junk = UdpSocket::bind("127.0.0.1:0").expect("socket");
    // To the SIP port: not SIP, a broken INVITE, a response with a lying length, a BYE for
    // no call.
    for packet in [
        &b"\x00\x01garbage that is not SIP\r\n\r\n"[..],
        b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
        b"SIP/2.0 200 OK\r\nContent-Length: 99999\r\n\r\nshort",
        b"BYE sip:callrec@127.0.0.1 SIP/2.0\r\nCall-ID: not-this-call\r\nCSeq: 1 BYE\r\n\r\n",
    ] {
        junk.send_to(packet, ("127.0.0.1", port)).expect("send");
    }
    // To the RTP port: not RTP, a truncated header, and well-formed PCMU from a stranger
    // (not the peer callrec latched onto): none of it may reach the recording.
    let mut stranger = vec![
        0x80, 0x00, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef,
    ];
    stranger.extend(std::iter::repeat_n(0x00u8, 160)); // loud μ-law
    for packet in [
        &b"not rtp at all"[..],
        &[0x80, 0x00, 0x01][..],
        &stranger[..],
    ] {
        for _ in 0..25 {
            junk.send_to(packet, ("127.0.0.1", rtp)).expect("send");
        }
    }
    let status = callrec.wait().expect("wait");
    drop(said);
    let log = reader.join().expect("log");
    assert!(status.success(), "{log}");
    let ignored: u64 = log
        .split("ignored=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the RTP summary line");
    assert!(ignored >= 75, "{ignored} packets ignored: {log}");
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    // The call lasted until carol hung up (about 3 s), heard throughout, never the stranger
    // (its μ-law 0x00 is near full scale).
    assert!(right.len() > 2 * 16_000, "{} samples", right.len());
    let late = &right[right.len() - 16_000..right.len() - 8_000];
    assert!(
        tone_share(late, 1_000.0, 16_000.0) > 0.9,
        "carol heard after the junk"
    );
    assert!(
        right.iter().all(|v| v.abs() < 0.7),
        "the stranger's loud packets reached the recording"
    );
}

#[test]
fn session_timer_refreshes_by_update_and_re_invite_are_answered() {
    if !have("sipp") || !have("sox") {
        return;
    }
    let (tmp, port, callrec) = answering("granted");
    let sipp = sipp_calls(tmp.path(), "timer", port, &[])
        .wait()
        .expect("sipp");
    let out = callrec.wait_with_output().expect("output");
    assert!(sipp.success(), "sipp's refreshes were not answered");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The call went on through both refreshes: about 3 s recorded.
    let left = read_channel(&tmp.path().join("call/recording.wav"), 0);
    assert!(left.len() > 2 * 16_000, "{} samples", left.len());
}

#[test]
fn a_peer_holds_and_resumes_and_nothing_of_the_agent_is_sent_or_recorded_while_held() {
    if !have("sipp") || !have("sox") {
        return;
    }
    let (tmp, port, callrec) = answering("granted");
    let dir = tmp.path();
    // sipp calls, holds after 1 s (a=sendonly; it requires a=recvonly back), resumes after
    // 2 s (a=sendrecv back), and hangs up after 3 s.
    let sipp = sipp_calls(dir, "hold", port, &[]).wait().expect("sipp");
    let out = callrec.wait_with_output().expect("output");
    assert!(sipp.success(), "sipp's checks of the SDP answers failed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let loud = |from: f64, to: f64| {
        left[(from * 16_000.0) as usize..(to * 16_000.0) as usize]
            .iter()
            .any(|v| v.abs() > 0.2)
    };
    assert!(loud(0.2, 0.8), "the agent before the hold");
    assert!(!loud(1.15, 1.85), "the agent sent or recorded while held");
    assert!(loud(2.2, 2.8), "the agent after the resume");
}

/// sipp's built-in scenario `name` over TCP (`-t t1`), for one call.
fn sipp_tcp(dir: &Path, name: &str, port: u16, target: Option<u16>) -> Child {
    let mut cmd = Command::new("sipp");
    cmd.args(["-sn", name, "-t", "t1", "-i", "127.0.0.1"])
        .args([
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20s",
        ]);
    if let Some(target) = target {
        cmd.arg(format!("127.0.0.1:{target}"))
            .args(["-s", "callrec", "-d", "1500"]);
    }
    cmd.current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp")
}

#[test]
fn calls_go_over_tcp_both_ways() {
    if !have("sipp") || !have("sox") {
        return;
    }
    // Out: callrec calls a sipp callee that speaks TCP only.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let port = free_udp_port();
    let mut callee = sipp_tcp(dir, "uas", port, None);
    std::thread::sleep(Duration::from_millis(300));
    let out = call_out(dir, &format!("sip:bob@127.0.0.1:{port};transport=tcp"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        callee.wait().expect("sipp").success(),
        "sipp's TCP callee saw the call through"
    );
    assert_eq!(
        read_channel(&dir.join("call/recording.wav"), 0).len(),
        2 * 16_000
    );

    // In: a sipp caller that speaks TCP only calls callrec answer.
    let (tmp, port, callrec) = answering("granted");
    let dir = tmp.path();
    let mut caller = sipp_tcp(dir, "uac", free_udp_port(), Some(port));
    assert!(
        caller.wait().expect("sipp").success(),
        "sipp's TCP caller saw the call through"
    );
    let out = callrec.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    assert!(
        left.len() >= 16_000,
        "the call lasted until sipp's BYE: {}",
        left.len()
    );
}

#[test]
fn callrec_calls_callrec_and_keypad_digits_arrive_as_events() {
    if !have("sox") {
        return;
    }
    let (_answering, port, answer) = answering("granted");
    let caller = tempfile::tempdir().expect("tmp");
    write_inputs(
        caller.path(),
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 2500, \"event\": \"call_ended\"}\n",
        ),
    );
    let out = callrec_calls(
        caller.path(),
        &format!("sip:agent@127.0.0.1:{port}"),
        &["--dtmf", "500=4711#"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answered = answer.wait_with_output().expect("answer");
    let log = String::from_utf8_lossy(&answered.stderr);
    assert!(answered.status.success(), "{log}");
    assert!(log.contains("digits=4711#"), "{log}");
    // The caller's agent side is silence while the digits went out (0.5 s to 1.5 s).
    let left = read_channel(&caller.path().join("call/recording.wav"), 0);
    let typed = &left[(0.6 * 16_000.0) as usize..(1.4 * 16_000.0) as usize];
    assert!(
        typed.iter().all(|&v| v.abs() < 0.01),
        "a digit's tone in the recording"
    );
    // A bad --dtmf is refused before any call, naming what is allowed.
    let bad = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "call",
            "--to",
            "sip:x@127.0.0.1:9",
            "--settings",
            "settings.json",
        ])
        .args([
            "--events",
            "events.jsonl",
            "--out",
            "x",
            "--dtmf",
            "500=12x",
        ])
        .current_dir(caller.path())
        .output()
        .expect("callrec call");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("0-9*#A-D"));
}

#[test]
fn registration_with_digest_is_accepted_with_the_right_password_and_refused_with_a_wrong_one() {
    use std::io::BufRead;
    if !have("sipp") || !have("sox") {
        return;
    }
    for (password, accepted) in [("s3cret", true), ("wrong", false)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path();
        write_inputs(
            dir,
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n",
        );
        // sipp as the registrar checks the digest itself (verifyauth).
        let (mut registrar, port) = sipp_callee(dir, "registrar");
        let mut callrec = Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args([
                "answer",
                "--listen",
                &format!("127.0.0.1:{}", free_udp_port()),
            ])
            .args([
                "--register",
                &format!("sip:127.0.0.1:{port}"),
                "--user",
                "alice",
            ])
            .args(["--settings", "settings.json", "--events", "events.jsonl"])
            .args(["--agent-file", "agent.wav", "--out", "call"])
            .env("CALLREC_SIP_PASSWORD", password)
            .env("CALLREC_LOG", "callrec_sip=info")
            .current_dir(dir)
            .stderr(Stdio::piped())
            .spawn()
            .expect("callrec answer");
        let stderr = callrec.stderr.take().expect("stderr");
        let mut said = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.expect("line");
            said.push_str(&line);
            said.push('\n');
            if line.contains("registered") || line.contains("refused") {
                break;
            }
        }
        assert!(
            registrar.wait().expect("sipp").success(),
            "sipp's registrar scenario"
        );
        if accepted {
            assert!(said.contains("registered registrar="), "{said}");
            // Registered, it waits for calls: stop it.
            let _ = callrec.kill();
            let _ = callrec.wait();
        } else {
            assert!(
                said.contains(
                    "refused the registration: 403 Forbidden (check the SIP user name and password)"
                ),
                "{said}"
            );
            assert_eq!(callrec.wait().expect("exit").code(), Some(1));
        }
    }
    // No password in the environment: refused before anything is sent.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "answer",
            "--listen",
            "127.0.0.1:0",
            "--register",
            "sip:127.0.0.1:9",
        ])
        .args([
            "--user",
            "alice",
            "--settings",
            "s.json",
            "--events",
            "e.jsonl",
            "--out",
            "x",
        ])
        .env_remove("CALLREC_SIP_PASSWORD")
        .current_dir(tmp.path())
        .output()
        .expect("callrec answer");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CALLREC_SIP_PASSWORD"));
}

#[test]
fn an_unspecified_address_is_refused_before_anything_is_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["answer", "--listen", "0.0.0.0:5060", "--settings", "s.json"])
        .args(["--events", "e.jsonl", "--out", "x"])
        .current_dir(tmp.path())
        .output()
        .expect("callrec answer");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--listen 0.0.0.0:5060: give the address peers reach"),
        "{stderr}"
    );
}

/// A conference: callrec calls bob (the customer, 1000 Hz), then carol (a third party,
/// 600 Hz) at 1 s; the agent speaks 440 Hz. Each remote voice is its own leg, so §4 applies
/// per party, from the moment carol's leg answered.
#[rstest::rstest]
#[case::all_participants("all_participants")]
#[case::agent_and_customer_only("agent_and_customer_only")]
#[case::stop_on_third_party("stop_on_third_party")]
#[case::none("none")]
fn a_third_party_called_into_the_call_is_recorded_as_the_conference_mode_says(#[case] mode: &str) {
    if !have("baresip") || !have("sox") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let bob = Baresip::start(&dir.join("bob"), 1_000, &["-t", "20"]);
    let carol = Baresip::start(&dir.join("carol"), 600, &["-t", "20"]);
    write_inputs(
        dir,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 3500, \"event\": \"call_ended\"}\n",
        ),
    );
    std::fs::write(
        dir.join("settings.json"),
        format!(
            r#"{{"project": {{"kind": "customer_service", "record_mode": "both", "conference_mode": "{mode}"}}}}"#
        ),
    )
    .expect("settings");
    let out = callrec_calls(
        dir,
        &format!("sip:bob@127.0.0.1:{}", bob.port),
        &[
            "--party-to",
            &format!("sip:bob@127.0.0.1:{}", carol.port),
            "--party-at",
            "1000",
        ],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["refused"], 0, "{summary}");
    // When carol's leg answered, on the call's clock.
    let joined_ms: u64 = log
        .lines()
        .find(|l| l.contains("the third party joined"))
        .and_then(|l| l.split("at_ms=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("carol never joined: {log}"));
    assert!(
        (1_000..2_000).contains(&joined_ms),
        "carol joined at {joined_ms} ms"
    );
    if mode == "none" {
        assert_eq!(summary["outcome"], "discarded", "{summary}");
        assert!(
            !dir.join("call/recording.wav").exists(),
            "a conference under `none` leaves no recording"
        );
        return;
    }
    assert_eq!(summary["outcome"], "kept", "{summary}");
    let rate = 16_000.0;
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    let window =
        |x: &[f32], at: f64| x[(at * rate) as usize..((at + 0.1) * rate) as usize].to_vec();
    // Before carol: the agent left, bob right, nobody else.
    for at in [0.3, 0.8] {
        assert!(
            tone_share(&window(&left, at), 440.0, rate) > 0.9,
            "agent at {at}s"
        );
        let r = window(&right, at);
        assert!(tone_share(&r, 1_000.0, rate) > 0.9, "bob at {at}s");
        assert!(
            tone_share(&r, 600.0, rate) < 0.01,
            "carol before she joined"
        );
    }
    let join = (joined_ms * 16) as usize;
    let after = [joined_ms as f64 / 1000.0 + 0.3, 3.2];
    match mode {
        "all_participants" => {
            for at in after {
                let r = window(&right, at);
                assert!(tone_share(&r, 1_000.0, rate) > 0.3, "bob at {at}s");
                assert!(tone_share(&r, 600.0, rate) > 0.3, "carol at {at}s");
                assert!(tone_share(&window(&left, at), 440.0, rate) > 0.9);
            }
        }
        "agent_and_customer_only" => {
            for at in after {
                let r = window(&right, at);
                assert!(tone_share(&r, 1_000.0, rate) > 0.9, "bob at {at}s");
                assert!(
                    tone_share(&r, 600.0, rate) < 0.01,
                    "carol recorded at {at}s"
                );
                assert!(tone_share(&window(&left, at), 440.0, rate) > 0.9);
            }
        }
        "stop_on_third_party" => {
            assert!(
                left[join..].iter().chain(&right[join..]).all(|&v| v == 0.0),
                "recorded after the third party joined"
            );
            assert!(
                left[join - 160..join].iter().any(|&v| v != 0.0),
                "the agent up to the join"
            );
        }
        other => unreachable!("{other}"),
    }
    if mode == "all_participants" {
        // Everybody heard everybody else: bob heard carol, carol heard bob and the agent.
        let (bob_heard, carol_heard) = (
            bob.heard_at_least(3 * 8_000),
            carol.heard_at_least(2 * 8_000),
        );
        assert!(
            bob_heard.len() >= 3 * 8_000 && carol_heard.len() >= 2 * 8_000,
            "bob heard {} samples, carol {}: {log}\n{:?}",
            bob_heard.len(),
            carol_heard.len(),
            std::fs::read_dir(carol.dir.join("dump")).map(|d| d
                .flatten()
                .map(|e| (e.path(), e.metadata().map(|m| m.len()).ok()))
                .collect::<Vec<_>>())
        );
        let late = |x: &[f32]| x[x.len() - 8_000..x.len() - 7_200].to_vec();
        assert!(
            tone_share(&late(&bob_heard), 600.0, 8_000.0) > 0.1,
            "bob heard carol"
        );
        assert!(
            tone_share(&late(&bob_heard), 440.0, 8_000.0) > 0.1,
            "bob heard the agent"
        );
        assert!(
            tone_share(&late(&carol_heard), 1_000.0, 8_000.0) > 0.1,
            "carol heard bob"
        );
        assert!(
            tone_share(&late(&carol_heard), 440.0, 8_000.0) > 0.1,
            "carol heard the agent"
        );
        assert!(
            tone_share(&late(&carol_heard), 600.0, 8_000.0) < 0.05,
            "carol heard herself"
        );
    }
}

#[test]
fn party_options_and_scripted_party_events_are_refused_before_anything_is_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(
        dir.join("settings.json"),
        r#"{"project": {"kind": "customer_service", "record_mode": "both"}}"#,
    )
    .expect("settings");
    let call = |events: &str, extra: &[&str]| {
        std::fs::write(dir.join("events.jsonl"), events).expect("events");
        Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args(["call", "--to", "sip:x@127.0.0.1:9"])
            .args(["--settings", "settings.json", "--events", "events.jsonl"])
            .args(["--out", "call"])
            .args(extra)
            .current_dir(dir)
            .output()
            .expect("callrec call")
    };
    let started = "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n";
    let out = call(started, &["--party-to", "sip:p@127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 --party-to but 0 --party-at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = call(
        &format!("{started}{{\"t_ms\": 900, \"event\": \"party_joined\", \"party\": \"p2\"}}\n"),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "events.jsonl line 2: party_joined and party_left come from the parties' own legs"
        ),
        "{stderr}"
    );
    assert!(!dir.join("call").exists());
}

#[test]
fn a_blind_transfer_refers_the_customer_and_ends_the_agents_call_once_it_went_through() {
    if !have("sipp") || !have("sox") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write_inputs(
        dir,
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
    );
    // sipp answers, checks the REFER names carol, reports her call answered and expects BYE.
    let (mut sipp, port) = sipp_callee(dir, "transfer");
    let out = callrec_calls(
        dir,
        &format!("sip:bob@127.0.0.1:{port}"),
        &[
            "--transfer-to",
            "sip:carol@127.0.0.1:5099",
            "--transfer-at",
            "1000",
        ],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("the customer was transferred"), "{log}");
    assert!(
        sipp.wait().expect("sipp").success(),
        "sipp's checks: {log}\n{}",
        std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<String>()
    );
    // The agent's call, and its recording, ended with the transfer.
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let seconds = left.len() as f64 / 16_000.0;
    assert!((1.0..2.0).contains(&seconds), "recorded {seconds} s");
    assert!(tone_share(&left[8_000..9_600], 440.0, 16_000.0) > 0.9);
}

#[test]
fn the_agent_holds_baresip_and_nothing_goes_either_way_until_the_resume() {
    if !have("baresip") || !have("sox") {
        return;
    }
    let (tmp, bob) = bob_answers("{\"t_ms\": 3500, \"event\": \"call_ended\"}\n");
    let dir = tmp.path();
    let out = callrec_calls(
        dir,
        &format!("sip:bob@127.0.0.1:{}", bob.port),
        &["--hold", "1000-2200"],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.matches("the call's hold changed").count() == 2,
        "bob agreed to the hold and to the resume: {log}"
    );
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    let loud = |x: &[f32], from: f64, to: f64| {
        x[(from * 16_000.0) as usize..(to * 16_000.0) as usize]
            .iter()
            .any(|v| v.abs() > 0.1)
    };
    assert!(
        loud(&left, 0.3, 0.9) && loud(&right, 0.3, 0.9),
        "both before the hold"
    );
    assert!(
        !loud(&left, 1.05, 2.15),
        "the agent sent or recorded while held"
    );
    assert!(
        !loud(&right, 1.4, 2.15),
        "bob sent while held (he answered recvonly)"
    );
    assert!(
        loud(&left, 2.5, 3.3) && loud(&right, 2.7, 3.3),
        "both after the resume"
    );
    // bob heard the agent until the hold (baresip's decoder dump stops there)...
    let heard = bob.heard_at_least(1);
    let heard_s = heard.len() as f64 / 8_000.0;
    assert!((0.6..1.3).contains(&heard_s), "bob heard {heard_s} s");
    assert!(tone_share(&heard[2_000..4_000], 440.0, 8_000.0) > 0.9);
    // ...and callrec sent nothing while holding: 3.5 s of 20 ms packets less the 1.2 s held.
    let sent = rtp_count(&log, "sent");
    assert!((105..=125).contains(&sent), "{sent} packets sent");
}

/// kamailio on a free port as registrar and proxy (tests/kamailio/kamailio.cfg: digest
/// authentication for REGISTER and INVITE), logging to `dir/kamailio.log`.
struct Kamailio {
    port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Kamailio {
    fn start(dir: &Path) -> Self {
        let port = free_udp_port();
        let config = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/kamailio.cfg"),
        )
        .expect("config")
        .replace("LISTEN", &format!("127.0.0.1:{port}"));
        let run = dir.join("kamailio");
        std::fs::create_dir_all(&run).expect("mkdir");
        std::fs::write(run.join("kamailio.cfg"), config).expect("config");
        let log = run.join("kamailio.log");
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(run.join("kamailio.cfg"))
            .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
            .arg(&run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("kamailio");
        let start = Instant::now();
        while !std::fs::read_to_string(&log).is_ok_and(|l| {
            l.contains("open_listen_sockets")
                || l.contains("init_tcp: using")
                || l.contains("child process")
                || l.contains("INFO: <core> [main.c")
        }) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "kamailio did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `callrec answer` registered at `registrar` as `user` with `password`; returns it
/// once its registration was answered, with what it said so far.
fn registered_answer(dir: &Path, registrar: &str, user: &str, password: &str) -> (Child, String) {
    use std::io::BufRead;
    let mut callrec = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "answer",
            "--listen",
            &format!("127.0.0.1:{}", free_udp_port()),
        ])
        .args(["--register", registrar, "--user", user])
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .env("CALLREC_SIP_PASSWORD", password)
        .env("CALLREC_LOG", "callrec=info,callrec_sip=info")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("callrec answer");
    let stderr = callrec.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut said = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        said.push_str(&line);
        said.push('\n');
        if line.contains("registered") || line.contains("refused") {
            break;
        }
    }
    // Keep draining stderr so callrec never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (callrec, said)
}

#[test]
fn calls_go_through_kamailio_registered_with_digest_and_a_wrong_password_is_refused() {
    if !have("kamailio") || !have("sox") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let kamailio = Kamailio::start(tmp.path());
    let registrar = format!("sip:127.0.0.1:{}", kamailio.port);

    // A wrong password: refused, with the registrar's status and what to check.
    let wrong = tmp.path().join("wrong");
    std::fs::create_dir_all(&wrong).expect("mkdir");
    write_inputs(
        &wrong,
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n",
    );
    let (mut refused, said) = registered_answer(&wrong, &registrar, "alice", "not-her-password");
    assert!(
        said.contains(
            "refused the registration: 401 Unauthorized (check the SIP user name and password)"
        ),
        "{said}"
    );
    assert_eq!(refused.wait().expect("exit").code(), Some(1));

    // alice registers and waits; bob registers and calls her through the proxy.
    let alice = tmp.path().join("alice");
    std::fs::create_dir_all(&alice).expect("mkdir");
    write_inputs(
        &alice,
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"granted\"}\n",
    );
    tone(&alice.join("agent.wav"), 16_000, 1_000, 30);
    let (answering, said) = registered_answer(&alice, &registrar, "alice", "alice-s3cret");
    assert!(said.contains("registered"), "{said}");
    let bob = tmp.path().join("bob");
    std::fs::create_dir_all(&bob).expect("mkdir");
    write_inputs(
        &bob,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 2500, \"event\": \"call_ended\"}\n",
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "call",
            "--to",
            &format!("sip:alice@127.0.0.1:{}", kamailio.port),
        ])
        .args(["--register", &registrar, "--user", "bob"])
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .env("CALLREC_SIP_PASSWORD", "bob-s3cret")
        .current_dir(&bob)
        .output()
        .expect("callrec call");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        kamailio.log()
    );
    // bob's BYE reaches alice through the proxy (the route set is followed): her call ends
    // with his, not when a timer gives up.
    let hung_up = Instant::now();
    let answered = answering.wait_with_output().expect("alice");
    assert!(
        hung_up.elapsed() < Duration::from_secs(5),
        "alice's call ended {:?} after bob hung up",
        hung_up.elapsed()
    );

    assert!(
        answered.status.success(),
        "alice's side: {}",
        kamailio.log()
    );
    let log = kamailio.log();
    assert!(
        log.contains(&format!(
            "INVITE from sip:bob@127.0.0.1:{} to sip:alice@127.0.0.1:{}",
            kamailio.port, kamailio.port
        )),
        "the INVITE did not go through the proxy with bob's credentials: {log}"
    );
    // Media flowed end to end: each side's recording has the other's voice.
    let rate = 16_000.0;
    let bob_heard = read_channel(&bob.join("call/recording.wav"), 1);
    let alice_heard = read_channel(&alice.join("call/recording.wav"), 1);
    assert!(
        tone_share(&bob_heard[16_000..17_600], 1_000.0, rate) > 0.9,
        "bob heard alice"
    );
    assert!(
        tone_share(&alice_heard[16_000..17_600], 440.0, rate) > 0.9,
        "alice heard bob"
    );
}

#[test]
fn a_peer_that_offers_video_and_then_moves_its_rtp_is_answered_and_followed() {
    if !have("sipp") || !have("sox") {
        return;
    }
    let (tmp, port, callrec) = answering("granted");
    let dir = tmp.path();
    // Where the caller moves its audio: the test listens there.
    let moved = UdpSocket::bind("127.0.0.1:0").expect("socket");
    moved
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let moved_port = moved.local_addr().expect("addr").port();
    let sipp = sipp_calls(
        dir,
        "move",
        port,
        &["-key", "moved_port", &moved_port.to_string()],
    );
    let mut packets = 0;
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        if let Ok((n, _)) = moved.recv_from(&mut buf)
            && n > 12
            && buf[0] >> 6 == 2
        {
            packets += 1;
        }
    }
    let sipp = sipp.wait_with_output().expect("sipp");
    let out = callrec.wait_with_output().expect("callrec");
    assert!(
        sipp.status.success(),
        "sipp's check of the answer's m-lines (video refused with port 0, then audio) failed"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 1.5 s at the new address: about 75 packets of 20 ms.
    assert!(
        (50..=90).contains(&packets),
        "{packets} RTP packets reached the moved address"
    );
}

/// A folder for a call with a pjsua2 customer: the inputs `write_inputs` writes with
/// `events`, the agent's microphone an upward chirp and the customer's a downward one (one
/// never correlates with the other).
fn with_customer(events: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    write_inputs(tmp.path(), events);
    chirp(&tmp.path().join("agent.wav"), 16_000, "300:3300", 30);
    std::fs::create_dir(tmp.path().join("customer")).expect("mkdir");
    chirp(&tmp.path().join("customer/play.wav"), 8_000, "3300:300", 30);
    tmp
}

/// How well `signal[from..to]` (seconds, 8 kHz) matches the periodic chirp `source` (8 kHz)
/// at any delay: the normalized correlation, 1 for an exact copy.
fn matches(signal: &[f32], from: f64, to: f64, source: &[f32]) -> f64 {
    let x = &signal[(from * 8_000.0) as usize..(to * 8_000.0) as usize];
    best_lag(x, &source[..x.len() + 4_000], 4_000).1
}

/// Every other sample: 16 kHz audio of the telephone band (the chirps), at 8 kHz.
fn at_8k(x: &[f32]) -> Vec<f32> {
    x.iter().step_by(2).copied().collect()
}

/// The count after `name=` in callrec's RTP summary line.
fn rtp_count(log: &str, name: &str) -> u64 {
    log.split(&format!(" {name}="))
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in the RTP summary: {log}"))
}

#[test]
fn a_call_to_a_pjsua2_customer_is_heard_and_recorded_on_each_side_as_sent() {
    if !have_pjsua2() || !have("sox") {
        return;
    }
    let tmp = with_customer(concat!(
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
        "{\"t_ms\": 1500, \"event\": \"pause\"}\n",
        "{\"t_ms\": 2500, \"event\": \"resume\"}\n",
        "{\"t_ms\": 7000, \"event\": \"call_ended\"}\n",
    ));
    let dir = tmp.path();
    let customer = Pjsua2::start(&dir.join("customer"), &["--answer", "--rtcp-at", "6800"]);
    let out = callrec_calls(
        dir,
        &format!("sip:customer@127.0.0.1:{}", customer.port),
        &["--dtmf", "3000=9"],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["outcome"], "kept");
    let (ended, said) = customer.wait();
    assert!(ended, "the customer's call did not end: {said:?}");
    for line in ["confirmed codec=PCMU", "digit 9", "disconnected status=200"] {
        assert!(said.iter().any(|l| l.starts_with(line)), "{line}: {said:?}");
    }
    // RTCP both ways: pjsua2 got callrec's reports and echoed its sender reports (a round
    // trip it could measure), and callrec read pjsua2's report of its stream.
    let rtcp = said
        .iter()
        .find_map(|l| l.strip_prefix("rtcp reports="))
        .expect("pjsua2's RTCP figures");
    let (reports, rtt) = rtcp.split_once(" rtt_us=").expect("rtt");
    assert!(reports.parse::<u32>().expect("count") >= 1, "{rtcp}");
    assert!(
        rtt.parse::<u32>().expect("rtt") > 0,
        "pjsua2 measured no round trip: {rtcp}"
    );
    assert!(
        log.contains("the peer's RTCP report of callrec's stream lost=0")
            && log.contains("rtt_ms="),
        "{log}"
    );

    let agent = at_8k(&read_channel(&dir.join("agent.wav"), 0));
    let customer_mic = read_channel(&dir.join("customer/play.wav"), 0);
    let left = at_8k(&read_channel(&dir.join("call/recording.wav"), 0));
    let right = at_8k(&read_channel(&dir.join("call/recording.wav"), 1));
    assert_eq!(left.len(), 7 * 8_000, "7 s from the answer");
    // Talking: the agent's chirp on the left, the customer's on the right, never crossed.
    for (from, to) in [(0.3, 0.7), (1.0, 1.4), (2.6, 2.95), (3.5, 3.9)] {
        assert!(matches(&left, from, to, &agent) > 0.95, "agent at {from}s");
        assert!(
            matches(&right, from, to, &customer_mic) > 0.9,
            "customer at {from}s"
        );
        assert!(
            matches(&left, from, to, &customer_mic) < 0.3,
            "customer on the left"
        );
        assert!(
            matches(&right, from, to, &agent) < 0.3,
            "agent on the right"
        );
    }
    // Paused from 1.5 s to 2.5 s: exact zeros on both sides.
    let (p0, p1) = (12_000, 20_000);
    assert!(left[p0..p1].iter().chain(&right[p0..p1]).all(|&v| v == 0.0));
    // The customer heard the agent's chirp, clean through G.711 (pjsua2's own decoder).
    let heard = read_channel(&dir.join("customer/heard.wav"), 0);
    assert!(
        heard.len() > 3 * 8_000,
        "the customer heard {} samples",
        heard.len()
    );
    for from in [0.5, 2.0] {
        assert!(
            matches(&heard, from, from + 0.4, &agent) > 0.9,
            "heard at {from}s"
        );
    }
}

#[test]
fn a_pjsua2_customer_calls_holds_and_types_digits_and_a_declined_consent_keeps_them_unrecorded() {
    if !have_pjsua2() || !have("sox") {
        return;
    }
    let tmp = with_customer(
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"inbound\", \"consent\": \"declined\"}\n",
    );
    let dir = tmp.path();
    let port = free_udp_port();
    let callrec = answer_on(dir, port);
    std::thread::sleep(Duration::from_millis(300));
    let to = format!("sip:agent@127.0.0.1:{port}");
    let customer = Pjsua2::start(
        &dir.join("customer"),
        &[
            "--call",
            &to,
            "--codec",
            "PCMA",
            "--dtmf",
            "500=12#",
            "--hold",
            "1500-2500",
            "--hangup-at",
            "3500",
        ],
    );
    let (ended, said) = customer.wait();
    let out = callrec.wait_with_output().expect("callrec");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(ended, "{said:?}");
    for line in ["confirmed codec=PCMA", "held", "resumed", "disconnected"] {
        assert!(said.iter().any(|l| l.starts_with(line)), "{line}: {said:?}");
    }
    assert!(log.contains("digits=12#"), "{log}");
    assert_eq!(
        log.matches("the peer changed the call's media direction")
            .count(),
        2,
        "{log}"
    );

    let agent = at_8k(&read_channel(&dir.join("agent.wav"), 0));
    let left = at_8k(&read_channel(&dir.join("call/recording.wav"), 0));
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    let seconds = left.len() as f64 / 8_000.0;
    assert!((3.4..3.8).contains(&seconds), "recorded {seconds} s");
    // The customer declined: not one sample of theirs, though their voice came in.
    assert!(right.iter().all(|&v| v == 0.0), "the customer was recorded");
    assert!(rtp_count(&log, "received") > 100, "{log}");
    // The agent: recorded and sent until the hold, neither while held, both after.
    assert!(
        matches(&left, 0.1, 0.45, &agent) > 0.95,
        "the agent before the hold"
    );
    assert!(
        left[(1.65 * 8_000.0) as usize..(2.35 * 8_000.0) as usize]
            .iter()
            .all(|&v| v == 0.0),
        "the agent recorded while held"
    );
    assert!(
        matches(&left, 2.8, 3.3, &agent) > 0.95,
        "the agent after the resume"
    );
    let sent = rtp_count(&log, "sent");
    assert!(
        (110..=135).contains(&sent),
        "{sent} packets for 2.5 s unheld"
    );
    let heard = read_channel(&dir.join("customer/heard.wav"), 0);
    assert!(
        matches(&heard, 0.1, 0.45, &agent) > 0.9,
        "the customer heard the agent"
    );
}

#[test]
fn the_callees_early_media_is_heard_on_the_headset_while_it_rings_and_never_recorded() {
    if !have_pjsua2() || !have("sox") || !have("parec") {
        return;
    }
    let Some(pulse) = pulse_dir() else { return };
    let tmp = with_customer(concat!(
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
        "{\"t_ms\": 2000, \"event\": \"call_ended\"}\n",
    ));
    let dir = tmp.path();
    // The callee rings with a 425 Hz ringback as early media (183 with SDP) for 1.5 s, then
    // answers with its chirp.
    let ringback = dir.join("customer/ringback.wav");
    tone(&ringback, 8_000, 425, 10);
    // Tones, not chirps, here: the headset on a loaded machine may skip a few ms, which a
    // tone's share survives and a chirp's alignment does not.
    tone(&dir.join("customer/play.wav"), 8_000, 1_000, 30);
    let customer = Pjsua2::start(
        &dir.join("customer"),
        &[
            "--answer",
            "--early",
            "1500",
            "--early-play",
            ringback.to_str().expect("utf-8 path"),
        ],
    );
    // What the headset plays, heard on its sink's monitor.
    let mut capture = Command::new("parec")
        .args(["--device=callaudio.monitor", "--rate=8000", "--channels=1"])
        .args(["--format=s16le", "--raw"])
        .stdout(std::fs::File::create(dir.join("headset.raw")).expect("capture file"))
        .spawn()
        .expect("parec");
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args([
            "call",
            "--to",
            &format!("sip:customer@127.0.0.1:{}", customer.port),
        ])
        .args(["--settings", "settings.json", "--events", "events.jsonl"])
        .args(["--agent-file", "agent.wav", "--out", "call"])
        .args(["--headset", "callrec test headset"])
        .env("CALLREC_LOG", "callrec=info")
        .env("HOME", pulse.join("home"))
        .current_dir(dir)
        .output()
        .expect("callrec call");
    std::thread::sleep(Duration::from_millis(300));
    let _ = capture.kill();
    let _ = capture.wait();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let (_, said) = customer.wait();
    assert!(said.iter().any(|l| l == "early"), "{said:?}");
    let packets: u64 = log
        .split("not recorded packets=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no early media reported: {log}"));
    assert!(packets >= 50, "{packets} packets of early media for 1.3 s");

    // The headset played the ringback, then the customer.
    let raw = std::fs::read(dir.join("headset.raw")).expect("capture");
    let headset: Vec<f32> = raw
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
        .collect();
    let windows =
        |x: &[f32]| -> Vec<Vec<f32>> { x.chunks_exact(800).map(<[f32]>::to_vec).collect() };
    let heard = windows(&headset);
    let with = |hz: f64| -> Vec<usize> {
        (0..heard.len())
            .filter(|&i| tone_share(&heard[i], hz, 8_000.0) > 0.6)
            .collect()
    };
    let (ringing, talking) = (with(425.0), with(1_000.0));
    assert!(
        ringing.len() >= 6,
        "ringback heard for {} ms",
        ringing.len() * 100
    );
    assert!(
        talking.len() >= 10,
        "the customer heard for {} ms",
        talking.len() * 100
    );
    assert!(
        ringing.iter().max() < talking.iter().min(),
        "ringback {ringing:?}, customer {talking:?}"
    );
    // The recording holds the customer, and not one window of the ringback.
    let right = at_8k(&read_channel(&dir.join("call/recording.wav"), 1));
    assert_eq!(right.len(), 2 * 8_000, "2 s from the answer");
    for (i, window) in windows(&right).iter().enumerate() {
        assert!(
            tone_share(window, 425.0, 8_000.0) < 0.3,
            "ringback recorded at {i}00 ms"
        );
    }
    assert!(tone_share(&right[2_400..5_600], 1_000.0, 8_000.0) > 0.9);
    // Nothing of the agent went out before the answer: the callee heard silence meanwhile.
    let callee_heard = read_channel(&dir.join("customer/heard.wav"), 0);
    assert!(
        callee_heard[..8_000].iter().all(|v| v.abs() < 0.01),
        "the agent sent before the answer"
    );
}

#[test]
fn a_peer_that_speaks_only_opus_is_called_and_answered_in_opus() {
    if !have("baresip") || !have("sox") {
        return;
    }
    // callrec calls bob, who speaks only Opus.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let bob = Baresip::speaking(&dir.join("bob"), 1_000, "opus", &["-t", "20"]);
    write_inputs(
        dir,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 3000, \"event\": \"call_ended\"}\n",
        ),
    );
    let out = callrec_calls(dir, &format!("sip:bob@127.0.0.1:{}", bob.port), &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("codec=\"opus\""), "{log}");
    let left = read_channel(&dir.join("call/recording.wav"), 0);
    let right = read_channel(&dir.join("call/recording.wav"), 1);
    assert_eq!(left.len(), 3 * 16_000);
    for at in [0.5, 1.5, 2.5] {
        let window =
            |x: &[f32]| x[(at * 16_000.0) as usize..((at + 0.2) * 16_000.0) as usize].to_vec();
        assert!(
            tone_share(&window(&left), 440.0, 16_000.0) > 0.9,
            "agent at {at}s"
        );
        assert!(
            tone_share(&window(&right), 1_000.0, 16_000.0) > 0.9,
            "bob at {at}s (Opus)"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let heard = bob.heard_at_least(2 * 8_000);
    let rate = if heard.len() > 3 * 16_000 {
        48_000.0
    } else {
        8_000.0
    };
    let mid = heard.len() / 2;
    assert!(
        tone_share(&heard[mid..mid + 1_600], 440.0, rate) > 0.9,
        "bob heard the agent through Opus"
    );
    assert_eq!(rtp_count(&log, "ignored"), 0, "{log}");

    // carol, who speaks only Opus too, calls callrec: answered in Opus.
    let (answering, port, callrec) = answering("granted");
    let carol = Baresip::speaking(
        &answering.path().join("carol"),
        1_000,
        "opus",
        &[
            "-t",
            "4",
            "-e",
            &format!("/dial sip:callrec@127.0.0.1:{port}"),
        ],
    );
    let out = callrec.wait_with_output().expect("answer");
    drop(carol);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("codec=\"opus\""), "{log}");
    let right = read_channel(&answering.path().join("call/recording.wav"), 1);
    assert!(right.len() > 2 * 16_000, "{} samples", right.len());
    assert!(
        tone_share(&right[16_000..19_200], 1_000.0, 16_000.0) > 0.9,
        "carol (Opus)"
    );
}

#[test]
fn a_lost_ack_is_made_good_both_ways_and_the_call_goes_on() {
    if !have("sipp") || !have("sox") {
        return;
    }
    // callrec answers; the caller's first ACK is lost: callrec sends its 200 OK again, and
    // the call goes on once the ACK comes.
    let (tmp, port, callrec) = answering("granted");
    let sipp = sipp_calls(tmp.path(), "lost_ack", port, &["-trace_msg"])
        .wait()
        .expect("sipp");
    let out = callrec.wait_with_output().expect("callrec");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(sipp.success() && out.status.success(), "{log}");
    let before_ack = |dir: &Path, what: &str| {
        let messages = sipp_messages(dir);
        let ack = messages.find("\nACK ").unwrap_or(messages.len());
        messages[..ack].matches(what).count()
    };
    assert!(
        before_ack(tmp.path(), "\nSIP/2.0 200 OK") >= 2,
        "callrec did not send its 200 OK again before the ACK"
    );
    let left = read_channel(&tmp.path().join("call/recording.wav"), 0);
    assert!(
        left.len() > 2 * 16_000,
        "the call went on: {} samples",
        left.len()
    );

    // callrec calls; the callee sends its 200 OK again as if callrec's ACK were lost:
    // callrec acknowledges that one too.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (mut sipp, port) = sipp_callee(dir, "ack_again");
    write_inputs(
        dir,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 2000, \"event\": \"call_ended\"}\n",
        ),
    );
    let out = callrec_calls(dir, &format!("sip:callee@127.0.0.1:{port}"), &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(sipp.wait().expect("sipp").success(), "{log}");
    let acks = sipp_messages(dir).matches("\nACK sip:").count();
    assert!(
        acks >= 2,
        "callrec acknowledged the 200 OK {acks} time(s), not its retransmission"
    );
}

/// What sipp traced of its messages (`-trace_msg`) in `dir`.
fn sipp_messages(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_messages.log"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// G.711 μ-law of a linear sample (ITU-T G.711's segment coding).
fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let sign = if sample < 0 { 0x80 } else { 0 };
    let magnitude = (i32::from(sample).abs().min(32_635) + BIAS) as u32;
    let exponent = (31 - magnitude.leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

/// Plays a 1000 Hz PCMU stream from `socket` to wherever callrec's RTP comes from (it sends
/// from the answer on), every 20 ms, until `stop` is set: a peer whose media never stops.
fn stream_forever(socket: UdpSocket, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    let mut buf = [0u8; 2048];
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let Ok((_, callrec)) = socket.recv_from(&mut buf) else {
        return;
    };
    let period: Vec<u8> = (0..8)
        .map(|i| ulaw((16_000.0 * (std::f64::consts::TAU * f64::from(i) / 8.0).sin()) as i16))
        .collect();
    let start = Instant::now();
    let mut seq: u16 = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut packet = vec![0x80, 0x00];
        packet.extend(seq.to_be_bytes());
        packet.extend((u32::from(seq) * 160).to_be_bytes());
        packet.extend(0x5eed_u32.to_be_bytes());
        packet.extend(period.iter().cycle().take(160));
        let _ = socket.send_to(&packet, callrec);
        seq = seq.wrapping_add(1);
        let due = start + Duration::from_millis(20 * u64::from(seq));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

#[test]
fn a_callee_that_never_answers_the_bye_is_recorded_up_to_the_hang_up_and_no_further() {
    if !have("sipp") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let media = UdpSocket::bind("127.0.0.1:0").expect("socket");
    let media_port = media.local_addr().expect("addr").port().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let streamer = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || stream_forever(media, stop))
    };
    let (mut sipp, port) = sipp_callee_with(dir, "vanishes", &["-key", "rtp_port", &media_port]);
    write_inputs(
        dir,
        concat!(
            "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
            "{\"t_ms\": 4000, \"event\": \"call_ended\"}\n",
        ),
    );
    let started = Instant::now();
    let out = callrec_calls(dir, &format!("sip:gone@127.0.0.1:{port}"), &[]);
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = streamer.join();
    let _ = sipp.kill();
    let _ = sipp.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The hang-up is at 4 s from the answer; the BYE's retransmissions do not hold it up.
    assert!(
        took < Duration::from_millis(6_000),
        "callrec took {took:?} to finish a call it hung up at 4 s:\n{stderr}"
    );
    let wav = dir.join("call/recording.wav");
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("call/recording.json")).expect("sidecar"),
    )
    .expect("json");
    let customer = read_channel(&wav, 1);
    let agent = read_channel(&wav, 0);
    let rate = 16_000.0;
    let seconds = customer.len() as f64 / rate;
    assert!(
        (seconds - 4.0).abs() <= 0.020,
        "the recording ends at the hang-up (4 s), not when the peer stops: {seconds:.3} s"
    );
    let timeline_end = sidecar["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .and_then(|i| i["to_ms"].as_u64())
        .expect("timeline");
    let duration_ms = sidecar["recording"]["duration_ms"]
        .as_u64()
        .expect("duration");
    assert!(
        timeline_end.abs_diff(duration_ms) <= 20
            && (seconds * 1000.0 - duration_ms as f64).abs() <= 20.0,
        "recording.json ({timeline_end} ms, file {duration_ms} ms) agrees with the audio ({seconds:.3} s)"
    );
    // Both sides were live to the end: the customer's tone and the agent's are in its last
    // quarter second.
    let tail = customer.len() - 4_000..customer.len() - 200;
    assert!(
        tone_share(&customer[tail.clone()], 1_000.0, rate) > 0.5,
        "the customer is heard to the end"
    );
    assert!(
        tone_share(&agent[tail], 440.0, rate) > 0.5,
        "the agent is heard to the end"
    );
}
