//! `callrec server`, `login`, `upload` and `outbox` as processes: recordings reach the store
//! exactly once through a killed server and an outage.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN: &str = "admin-password-1";

struct Server {
    data: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn start(data: &Path, port: u16) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_callrec"))
            .args(["server", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("CALLREC_ADMIN_PASSWORD", ADMIN)
            .spawn()
            .expect("spawn server");
        let server = Self {
            data: data.to_owned(),
            port,
            child: Some(child),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the server never listened"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    fn restart(&mut self) {
        self.kill9();
        *self = Self::start(&self.data.clone(), self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn callrec(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(args)
        .env("CALLREC_DATA", home)
        .env("CALLREC_PASSWORD", "password-123")
        .output()
        .expect("run callrec")
}

fn api(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

fn tone(path: &Path, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..48_000 * seconds {
        w.write_sample(((f64::from(i) * 0.05).sin() * 9000.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
}

/// Records one call of `seconds` with `callrec record`.
fn record(dir: &Path, out: &Path, seconds: u32) {
    tone(&dir.join("a.wav"), seconds);
    std::fs::write(
        dir.join("s.json"),
        r#"{"project": {"id": "sales", "kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("e.jsonl"),
        format!("{{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}}\n{{\"t_ms\": {}, \"event\": \"call_ended\"}}\n", seconds * 1000),
    )
    .expect("write");
    let status = Command::new(env!("CARGO_BIN_EXE_callrec"))
        .args(["record", "--settings"])
        .arg(dir.join("s.json"))
        .arg("--events")
        .arg(dir.join("e.jsonl"))
        .arg("--agent")
        .arg(dir.join("a.wav"))
        .arg("--customer")
        .arg(dir.join("a.wav"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("record");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A copy of a recorded call folder under a new call id (same audio).
fn copy_call(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("receipts")).expect("mkdir");
    std::fs::copy(from.join("recording.wav"), to.join("recording.wav")).expect("copy");
    let mut sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(from.join("recording.json")).expect("read"))
            .expect("json");
    sidecar["call_id"] = json!(uuid::Uuid::now_v7());
    std::fs::write(to.join("recording.json"), sidecar.to_string()).expect("write");
}

fn setup(server: &Server) -> String {
    let (_, login) = api(
        &server.url(),
        reqwest::Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"username": "admin", "password": ADMIN})),
    );
    let token = login["token"].as_str().expect("token").to_owned();
    let (s, _) = api(
        &server.url(),
        reqwest::Method::POST,
        "/api/v1/projects",
        Some(&token),
        Some(
            json!({"id": "sales", "name": "Sales", "kind": "contact_center", "record_mode": "both"}),
        ),
    );
    assert_eq!(s, 201);
    let (s, _) = api(
        &server.url(),
        reqwest::Method::POST,
        "/api/v1/users",
        Some(&token),
        Some(
            json!({"username": "alice", "password": "password-123", "role": "agent", "projects": ["sales"]}),
        ),
    );
    assert_eq!(s, 201);
    token
}

fn stored(server: &Server, admin: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = api(
            &server.url(),
            reqwest::Method::GET,
            &format!("/api/v1/recordings?limit=500{cursor}"),
            Some(admin),
            None,
        );
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return ids,
        }
    }
}

#[test]
fn two_hundred_recordings_queued_during_an_outage_arrive_exactly_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut server = Server::start(&tmp.path().join("store"), free_port());
    let admin = setup(&server);
    let home = tmp.path().join("agent");
    let login = callrec(
        &home,
        &["login", "--server", &server.url(), "--user", "alice"],
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    let original = tmp.path().join("original");
    record(tmp.path(), &original, 2);
    let calls: Vec<PathBuf> = (0..200)
        .map(|i| tmp.path().join(format!("call-{i:03}")))
        .collect();
    for c in &calls {
        copy_call(&original, c);
    }

    // The store goes down hard; the agent queues everything anyway.
    server.kill9();
    let mut args: Vec<&str> = vec!["upload"];
    args.extend(calls.iter().map(|c| c.to_str().expect("utf-8")));
    let out = callrec(&home, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing can be uploaded while the store is down"
    );
    assert!(
        calls.iter().all(|c| c.join("recording.wav").exists()),
        "nothing deleted before the store confirms"
    );
    let outbox = callrec(&home, &["outbox", "--json"]);
    let entries: Value = serde_json::from_slice(&outbox.stdout).expect("json");
    assert_eq!(entries.as_array().map(Vec::len), Some(200));
    assert!(
        entries
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["state"] == "queued" && e["last_error"].is_string())
    );

    // Back up: everything arrives, once.
    server.restart();
    let out = callrec(&home, &["upload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut ids = stored(&server, &admin);
    assert_eq!(ids.len(), 200);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no duplicates");
    assert!(
        calls.iter().all(|c| !c.exists()),
        "local copies deleted once stored"
    );
    // Again: nothing to do, nothing duplicated.
    assert!(callrec(&home, &["upload"]).status.success());
    assert_eq!(stored(&server, &admin).len(), 200);
}

#[test]
fn a_server_killed_mid_upload_keeps_what_it_acknowledged_and_the_upload_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut server = Server::start(&tmp.path().join("store"), free_port());
    let admin = setup(&server);
    let home = tmp.path().join("agent");
    assert!(
        callrec(
            &home,
            &["login", "--server", &server.url(), "--user", "alice"]
        )
        .status
        .success()
    );
    let call = tmp.path().join("call");
    record(tmp.path(), &call, 30);
    let wav = std::fs::read(call.join("recording.wav")).expect("wav");
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(call.join("recording.json")).expect("read"))
            .expect("json");
    let id = sidecar["call_id"].as_str().expect("id").to_owned();

    // An agent's upload gets 1 MB in, then the store is killed with SIGKILL.
    let (_, login) = api(
        &server.url(),
        reqwest::Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"username": "alice", "password": "password-123"})),
    );
    let token = login["token"].as_str().expect("token").to_owned();
    let manifest = json!({"sidecar": sidecar, "files": [{"kind": "recording", "bytes": wav.len(), "sha256": sidecar["recording"]["sha256"]}]});
    let (s, _) = api(
        &server.url(),
        reqwest::Method::PUT,
        &format!("/api/v1/calls/{id}"),
        Some(&token),
        Some(manifest),
    );
    assert_eq!(s, 201);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sent = rt.block_on(async {
        reqwest::Client::new()
            .patch(format!("{}/api/v1/calls/{id}/files/0", server.url()))
            .bearer_auth(&token)
            .header("upload-offset", 0)
            .body(wav[..1_000_000].to_vec())
            .send()
            .await
            .expect("patch")
            .status()
    });
    assert_eq!(sent.as_u16(), 200);
    server.restart();

    // What the store acknowledged survived the kill.
    let held = rt.block_on(async {
        let resp = reqwest::Client::new()
            .head(format!("{}/api/v1/calls/{id}/files/0", server.url()))
            .bearer_auth(&token)
            .send()
            .await
            .expect("head");
        resp.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    });
    assert_eq!(held, Some(1_000_000));

    // The agent's queue resumes it: it arrives once, byte for byte.
    let out = callrec(&home, &["upload", call.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stored(&server, &admin), std::slice::from_ref(&id));
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let got = rt2.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/api/v1/recordings/{id}/audio", server.url()))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body")
    });
    assert_eq!(got.as_ref(), wav.as_slice());
    assert!(!call.exists(), "the local copy is deleted once stored");
}
