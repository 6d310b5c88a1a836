//! A real central store on loopback (RAII: stopped and its data folder removed on drop),
//! users and projects made through its API, and calls recorded by the real engine.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callrec_recorder::{CallInfo, ReplayInputs, replay};
use callrec_server::{AppState, Listening, Options, auth};
use callrec_uploader::{Client, Transport};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// How clients reach it (the test CA, for a TLS store).
    pub transport: Transport,
    tls: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let data = dir.path().join("store");
        Self::start_in(
            dir,
            &data,
            options,
            Listening::default(),
            Transport::default(),
        )
        .await
    }

    /// A store with its data in `data` (inside `dir`, or a folder the test owns), listening as
    /// `listening` says; clients use `transport`.
    pub async fn start_in(
        dir: tempfile::TempDir,
        data: &Path,
        options: Options,
        listening: Listening,
        transport: Transport,
    ) -> Self {
        let state = AppState::open(data, options).expect("open store");
        auth::bootstrap_admin(&state, Some(ADMIN_PASSWORD.into())).expect("admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let tls = listening.tls.is_some();
        tokio::spawn(async move {
            let _ = callrec_server::serve_with(listener, serving, listening, async {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            addr,
            state,
            dir,
            transport,
            tls,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// A plain reqwest client that trusts what this server's clients trust.
    pub fn http(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder();
        if let Some(ca) = &self.transport.ca {
            let pem = std::fs::read(ca).expect("ca");
            builder =
                builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).expect("pem"));
        }
        builder.build().expect("client")
    }

    pub async fn login(&self, user: &str, password: &str) -> Session {
        let client = Client::with_transport(&self.url(), &self.transport).expect("client");
        let login = client.login(user, password).await.expect("login");
        Session {
            base: self.url(),
            token: login.token.clone(),
            client: client.with_token(&login.token),
            id: login.user.id,
            http: self.http(),
        }
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user through the API and signs in as it.
    pub async fn user(
        &self,
        admin: &Session,
        name: &str,
        role: &str,
        projects: &[&str],
    ) -> Session {
        let (status, body) = admin
            .call(Method::POST, "/api/v1/users", Some(json!({"username": name, "password": "password-123", "role": role, "projects": projects})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.login(name, "password-123").await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A signed-in user.
pub struct Session {
    pub base: String,
    pub token: String,
    pub client: Client,
    pub id: String,
    /// Plain requests, trusting the server's CA.
    pub http: reqwest::Client,
}

impl Session {
    /// A JSON request; returns the status and the body (JSON, or `null`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        raw_with(
            &self.http,
            &self.base,
            method,
            path,
            Some(&self.token),
            body,
        )
        .await
    }

    /// GET returning status, headers and bytes.
    pub async fn get_bytes(
        &self,
        path: &str,
        range: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(r) = range {
            req = req.header(reqwest::header::RANGE, r);
        }
        let resp = req.send().await.expect("send");
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.bytes().await.expect("body").to_vec())
    }
}

pub async fn raw(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    raw_with(&reqwest::Client::new(), base, method, path, token, body).await
}

pub async fn raw_with(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn tone(path: &Path, hz: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..16_000 * seconds {
        let v = 0.3 * (std::f64::consts::TAU * hz * f64::from(i) / 16_000.0).sin();
        w.write_sample((v * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");
}

/// Records a 4-second call with one voice receipt through the real engine into a new folder
/// under `root`; `started` is when the call started (for retention tests).
pub fn record_call(
    root: &Path,
    project: &str,
    policy_version: Option<&str>,
    started: time::OffsetDateTime,
) -> PathBuf {
    let inputs = root.join("inputs");
    if !inputs.exists() {
        std::fs::create_dir_all(&inputs).expect("mkdir");
        tone(&inputs.join("agent.wav"), 440.0, 4);
        tone(&inputs.join("customer.wav"), 1000.0, 4);
    }
    let call_id = uuid::Uuid::now_v7();
    let dir = root.join(call_id.to_string());
    let settings = callrec_policy::SettingsFile::from_json(&format!(
        r#"{{"project": {{"id": "{project}", "kind": "contact_center", "record_mode": "both"}}}}"#
    ))
    .expect("settings");
    let events = callrec_policy::parse_events(concat!(
        "{\"t_ms\": 0, \"event\": \"call_started\", \"direction\": \"outbound\", \"consent\": \"granted\"}\n",
        "{\"t_ms\": 1000, \"event\": \"receipt_start\", \"order_id\": \"A/1\"}\n",
        "{\"t_ms\": 2000, \"event\": \"receipt_stop\"}\n",
        "{\"t_ms\": 4000, \"event\": \"call_ended\"}\n",
    ))
    .expect("events");
    let info = CallInfo {
        call_id,
        project_id: Some(project.into()),
        policy_version: policy_version.map(str::to_owned),
        agent: "someone-else".into(),
        contact: Some("contact-42".into()),
        origin_at: started,
    };
    let inputs = ReplayInputs {
        agent: inputs.join("agent.wav"),
        customer: inputs.join("customer.wav"),
        parties: vec![],
    };
    replay(
        &dir,
        settings.resolve(),
        info,
        16_000,
        &inputs,
        &events,
        false,
    )
    .expect("record");
    dir
}

/// Uploads a recorded call folder as `session`; the call's id once the store has it.
pub async fn upload(session: &Session, dir: &Path) -> uuid::Uuid {
    let done = session
        .client
        .upload_call(dir, |_| {})
        .await
        .expect("upload");
    assert!(done.state.complete);
    done.state.call_id
}

/// Waits for a condition that another task makes true.
pub async fn eventually(mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never became true");
}

/// A project made through the API (`body` as POST /projects takes it) with `agent` assigned
/// to it; returns the admin's session.
pub async fn project_with_agent(server: &TestServer, body: Value, agent: &str) -> Session {
    let admin = server.admin().await;
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        admin
            .call(Method::POST, "/api/v1/projects", Some(body))
            .await
            .0,
        StatusCode::CREATED
    );
    server.user(&admin, agent, "agent", &[id.as_str()]).await;
    admin
}

/// `user`'s agent session in a fresh data folder, signed in to `server`.
pub async fn agent_session(
    server: &TestServer,
    user: &str,
) -> (tempfile::TempDir, callrec_agent::Session) {
    let data = tempfile::tempdir().expect("tmp");
    let session = callrec_agent::Session::open(data.path(), 16_000).expect("open");
    session
        .sign_in(&server.url(), user, "password-123")
        .await
        .expect("sign in");
    (data, session)
}
