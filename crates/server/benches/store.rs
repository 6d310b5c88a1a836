//! Store benchmarks (`cargo bench -p callrec-server --bench store`; not run by CI):
//! upload throughput on loopback against curl sending the same chunks to the same server,
//! listing latency with 100 000 recordings, retention deletions per second.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use callrec_policy::{
    Consent, Direction, HoldingMonths, Policy, ProjectKind, RecordMode, Role, Verdict,
};
use callrec_protocol::sidecar::{CallInfo, FileEntry, Sidecar};
use callrec_protocol::{FileKind, RecordingSummary};
use callrec_server::auth::{bootstrap_admin, hash_password};
use callrec_server::db::{ProjectRow, Recording, StoredFile, User};
use callrec_server::{AppState, Options};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

const UPLOAD_MB: usize = 256;
const RECORDINGS: usize = 100_000;
const EXPIRED: usize = 20_000;

fn policy() -> Policy {
    Policy {
        kind: ProjectKind::ContactCenter,
        record_mode: RecordMode::Both,
        conference_mode: None,
        start_paused: false,
        agents_can_listen_to_others: true,
        multiple_receipts_per_order: false,
        holding_months: HoldingMonths::DEFAULT,
        receipt_holding_months: Some(HoldingMonths::DEFAULT),
    }
}

/// A 16-bit stereo WAV of about `bytes` bytes of audio (the store checks what it stores);
/// its bytes and frames.
fn wav(bytes: usize) -> (Vec<u8>, u64) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let frames = bytes / 4;
    let mut out = std::io::Cursor::new(Vec::with_capacity(bytes + 64));
    {
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..frames * 2 {
            w.write_sample((i * 31 % 251) as i16 - 125).unwrap();
        }
        w.finalize().unwrap();
    }
    (out.into_inner(), frames as u64)
}

fn sidecar(id: Uuid, project: &str, bytes: u64, frames: u64, sha256: String) -> Sidecar {
    let now = OffsetDateTime::now_utc();
    Sidecar {
        format: 1,
        info: CallInfo {
            call_id: id,
            project_id: Some(project.into()),
            policy_version: None,
            agent: String::new(),
            contact: None,
            origin_at: now,
        },
        direction: Some(Direction::Outbound),
        consent: Consent::Granted,
        started_at: Some(now),
        ended_at: Some(now + Duration::from_secs(60)),
        recording_origin_ms: Some(0),
        recovered: false,
        rate: 16_000,
        policy: policy(),
        holding_months: 3,
        expires_at: None,
        timeline: vec![],
        receipts: vec![],
        refused: vec![],
        outcome: Verdict::Kept,
        recording: Some(FileEntry {
            file: "recording.wav".into(),
            sha256,
            bytes,
            frames,
            duration_ms: frames * 1000 / 16_000,
        }),
        device_gaps: vec![],
        notes: vec![],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn recording(i: usize, started: OffsetDateTime, expires: OffsetDateTime, key: String) -> Recording {
    let id = Uuid::now_v7();
    Recording {
        summary: RecordingSummary {
            id,
            project_id: format!("p{}", i % 10),
            agent_id: format!("agent-{}", i % 50),
            contact: Some(format!("contact-{}", i % 20_000)),
            direction: Some("outbound".into()),
            started_at: started,
            duration_ms: 60_000,
            has_audio: true,
            receipts: 0,
            expires_at: expires,
        },
        sidecar_json: "{}".into(),
        files: vec![StoredFile {
            kind: FileKind::Recording,
            order_id: None,
            seq: None,
            key,
            bytes: 1024,
        }],
    }
}

async fn upload_throughput(state: &AppState, base: &str, dir: &Path) {
    let (data, frames) = wav(UPLOAD_MB * 1024 * 1024);
    let sha = hex::encode(Sha256::digest(&data));
    let client = callrec_uploader::Client::new(base).unwrap();
    let token = client.login("alice", "password-123").await.unwrap().token;
    let client = client.with_token(&token);
    // Ours: the uploader client, a fresh call.
    let call = dir.join("ours");
    std::fs::create_dir_all(&call).unwrap();
    std::fs::write(call.join("recording.wav"), &data).unwrap();
    let id = Uuid::now_v7();
    std::fs::write(
        call.join("recording.json"),
        serde_json::to_string(&sidecar(id, "p0", data.len() as u64, frames, sha.clone())).unwrap(),
    )
    .unwrap();
    let t = Instant::now();
    let done = client.upload_call(&call, |_| {}).await.unwrap();
    let ours = t.elapsed();
    assert!(done.state.complete);

    // curl: the same chunks to the same server, one process reusing its connection.
    let id = Uuid::now_v7();
    let manifest = serde_json::json!({"sidecar": sidecar(id, "p0", data.len() as u64, frames, sha.clone()),
        "files": [{"kind": "recording", "bytes": data.len(), "sha256": sha}]});
    let resp = reqwest::Client::new()
        .put(format!("{base}/api/v1/calls/{id}"))
        .bearer_auth(&token)
        .json(&manifest)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let chunk = 4 * 1024 * 1024;
    let mut args: Vec<String> = vec!["-s".into(), "-o".into(), "/dev/null".into()];
    for (i, part) in data.chunks(chunk).enumerate() {
        let path = dir.join(format!("chunk-{i}"));
        std::fs::write(&path, part).unwrap();
        if i > 0 {
            args.push("--next".into());
            args.extend(["-s".into(), "-o".into(), "/dev/null".into()]);
        }
        args.extend([
            "-X".into(),
            "PATCH".into(),
            "-H".into(),
            format!("authorization: Bearer {token}"),
            "-H".into(),
            format!("upload-offset: {}", i * chunk),
            "-H".into(),
            "content-type: application/offset+octet-stream".into(),
            "--data-binary".into(),
            format!("@{}", path.display()),
            format!("{base}/api/v1/calls/{id}/files/0"),
        ]);
    }
    let t = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl").args(&args).status()
    })
    .await
    .unwrap()
    .unwrap();
    let theirs = t.elapsed();
    assert!(status.success());
    let stored = state.db().recording(&id).unwrap().is_some();
    assert!(stored, "curl's upload completed");
    let mb = UPLOAD_MB as f64;
    println!("upload of {UPLOAD_MB} MiB on loopback, 4 MiB chunks, each fsynced:");
    println!(
        "  callrec uploader: {:.2} s = {:.0} MiB/s",
        ours.as_secs_f64(),
        mb / ours.as_secs_f64()
    );
    println!(
        "  curl:             {:.2} s = {:.0} MiB/s",
        theirs.as_secs_f64(),
        mb / theirs.as_secs_f64()
    );
    println!(
        "  callrec / curl: {:.0}%",
        100.0 * theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

async fn listing_latency(state: &AppState, base: &str) {
    let t = Instant::now();
    let db = state.db().clone();
    tokio::task::spawn_blocking(move || {
        let now = OffsetDateTime::now_utc();
        for i in 0..RECORDINGS {
            let started = now - Duration::from_secs((i as u64 * 77) % (90 * 86_400));
            db.complete_upload(
                &Uuid::nil(),
                &recording(
                    i,
                    started,
                    now + Duration::from_secs(86_400 * 60),
                    format!("x/{i}"),
                ),
                &[],
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
    println!(
        "listing with {RECORDINGS} recordings (inserted in {:.1} s):",
        t.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::new();
    for (who, password, query) in [
        ("admin", "admin-password-1", ""),
        ("admin", "admin-password-1", "?project=p3"),
        ("admin", "admin-password-1", "?contact=contact-77"),
        (
            "admin",
            "admin-password-1",
            "?from=2026-01-01T00:00:00Z&agent=agent-7",
        ),
        ("agent-7", "password-123", ""),
    ] {
        let token = callrec_uploader::Client::new(base)
            .unwrap()
            .login(who, password)
            .await
            .unwrap()
            .token;
        let mut times = Vec::new();
        let mut cursor = String::new();
        for _ in 0..1000 {
            let sep = if query.is_empty() { "?" } else { "&" };
            let url = format!(
                "{base}/api/v1/recordings{query}{}",
                if cursor.is_empty() {
                    String::new()
                } else {
                    format!("{sep}cursor={cursor}")
                }
            );
            let t = Instant::now();
            let page: serde_json::Value = http
                .get(url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            times.push(t.elapsed());
            cursor = page["next_cursor"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default();
        }
        times.sort();
        println!(
            "  {who:8} {:45} p50 {:6.2} ms  p99 {:6.2} ms",
            if query.is_empty() {
                "(first pages, following cursors)"
            } else {
                query
            },
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
}

async fn sweeper(state: &AppState, dir: &Path) {
    let db = state.db().clone();
    let blobs = dir.join("store/blobs");
    tokio::task::spawn_blocking(move || {
        let now = OffsetDateTime::now_utc();
        for i in 0..EXPIRED {
            let key = format!("recordings/expired-{i}/0.wav");
            let path = blobs.join(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, [0u8; 1024]).unwrap();
            db.complete_upload(
                &Uuid::nil(),
                &recording(
                    i,
                    now - Duration::from_secs(86_400 * 100),
                    now - Duration::from_secs(60),
                    key,
                ),
                &[],
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
    let t = Instant::now();
    let n = callrec_server::sweep_once(state, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(n, EXPIRED);
    println!(
        "retention: {n} expired recordings (audio, rows, audit) deleted in {:.2} s = {:.0}/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { sweep_every: Duration::from_secs(86_400), ..Options::default() };
        let state = AppState::open(&dir.path().join("store"), options).unwrap();
        bootstrap_admin(&state, Some("admin-password-1".into())).unwrap();
        for p in 0..10 {
            let settings = format!(r#"{{"id":"p{p}","kind":"contact_center","record_mode":"both","agents_can_listen_to_others":true}}"#);
            state.db().insert_project(&ProjectRow { id: format!("p{p}"), name: format!("P{p}"), settings_json: settings }).unwrap();
        }
        let hash = hash_password("password-123").unwrap();
        for (name, projects) in [("alice", vec!["p0".to_owned()]), ("agent-7", vec!["p7".to_owned()])] {
            state.db().insert_user(&User { id: name.into(), username: name.into(), password_hash: hash.clone(), role: Role::Agent, projects }).unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let serving = state.clone();
        tokio::spawn(async move { callrec_server::serve(listener, serving, std::future::pending()).await });
        upload_throughput(&state, &base, dir.path()).await;
        listing_latency(&state, &base).await;
        sweeper(&state, dir.path()).await;
    });
}
