//! The agent's engine against a real store on loopback, with audio that arrives in real time:
//! sign in, a call with the policy's controls, hang up, the recording uploaded; the policy
//! cache when the store is down; no policy, no recording; a crash recovered at start.

mod common;

use std::time::{Duration, Instant};

use callrec_agent::{AgentError, Audio, CallRequest, Intent, PolicySource, Session};
use callrec_audio::{Read, Source, Tone};
use callrec_policy::{Consent, Direction, Reason, SideReason};
use common::{Session as Api, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A tone delivered at the pace of a real device.
struct Paced {
    tone: Tone,
    start: Instant,
    delivered: u64,
}

impl Paced {
    fn new(hz: f64) -> Self {
        Self {
            tone: Tone::new(16_000, hz, 0.3, 600.0),
            start: Instant::now(),
            delivered: 0,
        }
    }
}

impl Source for Paced {
    fn rate(&self) -> u32 {
        16_000
    }
    fn read(&mut self, out: &mut [f32]) -> callrec_audio::Result<Read> {
        let due = (self.start.elapsed().as_secs_f64() * 16_000.0) as u64;
        let n = out
            .len()
            .min(usize::try_from(due - self.delivered).unwrap_or(0));
        if n == 0 {
            return Ok(Read::Pending);
        }
        let read = self.tone.read(&mut out[..n])?;
        if let Read::Samples(k) = read {
            self.delivered += k as u64;
        }
        Ok(read)
    }
}

fn audio() -> Audio {
    Audio::Sources {
        agent: Box::new(Paced::new(440.0)),
        remote: Box::new(Paced::new(1000.0)),
    }
}

fn request(project: &str, consent: Consent) -> CallRequest {
    CallRequest {
        project: project.into(),
        contact: Some("contact-9".into()),
        direction: Direction::Outbound,
        consent,
    }
}

async fn setup(server: &TestServer) -> Api {
    let admin = server.admin().await;
    let body = json!({"id": "sales", "name": "Sales", "kind": "contact_center", "record_mode": "agent_only_receipts_allow_customer"});
    assert_eq!(
        admin
            .call(Method::POST, "/api/v1/projects", Some(body))
            .await
            .0,
        StatusCode::CREATED
    );
    server.user(&admin, "alice", "agent", &["sales"]).await;
    admin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_sign_in_to_upload() {
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    let data = tempfile::tempdir().expect("tmp");
    let session = Session::open(data.path(), 16_000).expect("open");
    assert!(matches!(
        session
            .start_call(request("sales", Consent::Granted), audio())
            .await,
        Err(AgentError::NotSignedIn)
    ));
    session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in");

    let call = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("call");
    assert_eq!(call.policy_source, PolicySource::Store);
    assert!(call.status.agent.recorded);
    assert_eq!(call.status.customer.reason, SideReason::SwitchedOff);
    assert!(call.controls.customer_on.enabled);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A voice receipt turns the customer on; pausing during it is refused with its reason.
    assert_eq!(
        session
            .intent(Intent::ReceiptStart {
                order_id: "A-1".into()
            })
            .expect("intent"),
        Ok(())
    );
    let snap = session.snapshot().expect("snapshot");
    let view = snap.call.expect("call");
    assert!(
        view.status.customer.recorded,
        "the receipt records the customer"
    );
    assert_eq!(view.controls.pause.reason, Some(Reason::ReceiptInProgress));
    let refused = session
        .intent(Intent::Pause)
        .expect("intent")
        .expect_err("refused");
    assert_eq!(refused.reason, Reason::ReceiptInProgress);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(session.intent(Intent::ReceiptStop).expect("intent"), Ok(()));
    let view = session.snapshot().expect("snapshot").call.expect("call");
    assert!(
        !view.status.customer.recorded,
        "back to the agent's toggle after the receipt"
    );
    assert!(
        view.mic_level.0 > 0.1,
        "the microphone meter moves: {:?}",
        view.mic_level
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sidecar = session.end_call().expect("hang up");
    assert_eq!(sidecar.receipts.len(), 1);
    assert!(
        sidecar
            .recording
            .as_ref()
            .is_some_and(|r| r.duration_ms >= 800),
        "{:?}",
        sidecar.recording
    );
    assert_eq!(session.snapshot().expect("snapshot").uploads.len(), 1);

    let report = session.upload_once(true).await.expect("upload");
    assert_eq!((report.stored, report.pending), (1, 0));
    let (_, list) = admin.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(list["items"][0]["id"], sidecar.info.call_id.to_string());
    assert_eq!(list["items"][0]["receipts"], 1);
    assert!(
        !data
            .path()
            .join("recordings")
            .join(sidecar.info.call_id.to_string())
            .exists(),
        "deleted once stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_policy_serves_when_the_store_is_down_and_no_policy_records_nothing() {
    let server = TestServer::start().await;
    setup(&server).await;
    let data = tempfile::tempdir().expect("tmp");
    let session = Session::open(data.path(), 16_000).expect("open");
    session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in");
    session.policy("sales").await.expect("fetched and cached");
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The store is gone: the cached policy applies, and says so.
    let call = session
        .start_call(request("sales", Consent::Declined), audio())
        .await
        .expect("call");
    assert_eq!(call.policy_source, PolicySource::Cache);
    assert_eq!(call.status.customer.reason, SideReason::ConsentDeclined);
    assert_eq!(
        call.controls.receipt_start.reason,
        Some(Reason::ConsentDeclined)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.end_call().expect("hang up");
    // The recording waits in the outbox for the store.
    let report = session.upload_once(true).await.expect("pass");
    assert_eq!((report.stored, report.failed, report.pending), (0, 1, 1));

    // A project whose policy was never fetched: no recording, and the reason.
    let err = session
        .start_call(request("support", Consent::Granted), audio())
        .await
        .expect_err("no policy");
    assert!(matches!(err, AgentError::NoPolicy { .. }), "{err}");
    assert!(err.to_string().contains("not recorded"), "{err}");
    assert!(session.snapshot().expect("snapshot").call.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_interrupted_by_a_crash_is_recovered_and_queued_at_start() {
    let data = tempfile::tempdir().expect("tmp");
    let dir = data
        .path()
        .join("recordings")
        .join(uuid::Uuid::now_v7().to_string());
    let policy = callrec_policy::SettingsFile::from_json(
        r#"{"project": {"id": "sales", "kind": "contact_center", "record_mode": "both"}}"#,
    )
    .expect("settings")
    .resolve();
    let info = callrec_recorder::CallInfo {
        call_id: uuid::Uuid::now_v7(),
        project_id: Some("sales".into()),
        policy_version: None,
        agent: "alice".into(),
        contact: None,
        origin_at: time::OffsetDateTime::now_utc(),
    };
    let mut recorder =
        callrec_recorder::Recorder::create(&dir, policy, info, 16_000).expect("recorder");
    let _ = recorder
        .event(
            0,
            &callrec_policy::Event::CallStarted {
                direction: Direction::Inbound,
                consent: Consent::Granted,
            },
        )
        .expect("start");
    recorder
        .write(
            &vec![0.1; 32_000],
            &[(&callrec_recorder::Remote::Mixed, &vec![0.1; 32_000])],
        )
        .expect("write");
    std::mem::forget(recorder); // the app dies here

    let session = Session::open(data.path(), 16_000).expect("open");
    let uploads = session.snapshot().expect("snapshot").uploads;
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].state, "queued");
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("recording.json")).expect("sidecar"),
    )
    .expect("json");
    assert_eq!(sidecar["recovered"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_offered_by_the_platform_rings_its_agent_only() {
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    server.user(&admin, "bob", "agent", &["sales"]).await;
    let alice_data = tempfile::tempdir().expect("tmp");
    let bob_data = tempfile::tempdir().expect("tmp");
    let alice = std::sync::Arc::new(Session::open(alice_data.path(), 16_000).expect("open"));
    let bob = std::sync::Arc::new(Session::open(bob_data.path(), 16_000).expect("open"));
    alice
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in");
    bob.sign_in(&server.url(), "bob", "password-123")
        .await
        .expect("sign in");

    let (ring, mut rings) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let (alice, ring) = (alice.clone(), ring.clone());
        tokio::spawn(async move { alice.watch_calls(|c| ring.send(("alice", c)).is_ok()).await })
    };
    let bob_watcher = {
        let bob = bob.clone();
        tokio::spawn(async move { bob.watch_calls(|c| ring.send(("bob", c)).is_ok()).await })
    };
    // The offer is only delivered to apps listening now: offer until both are connected.
    let offer = json!({"agent": "alice", "contact": "+358401234567", "project": "sales", "direction": "inbound", "consent": "declined"});
    let start = Instant::now();
    loop {
        let (status, body) = admin
            .call(Method::POST, "/api/v1/calls", Some(offer.clone()))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        if body["delivered"].as_u64() == Some(2) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the apps never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (who, call) = tokio::time::timeout(Duration::from_secs(5), rings.recv())
        .await
        .expect("rings")
        .expect("call");
    assert_eq!(who, "alice", "only the agent it is offered to");
    assert_eq!(call.contact.as_deref(), Some("+358401234567"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), async {
            while let Some((who, _)) = rings.recv().await {
                if who == "bob" {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "bob never rings"
    );

    // Accepted: the consent the platform sent is honoured.
    let view = alice.accept_call(&call, audio()).await.expect("accept");
    assert_eq!(view.request.direction, Direction::Inbound);
    assert_eq!(view.status.customer.reason, SideReason::ConsentDeclined);
    alice.end_call().expect("hang up");
    watcher.abort();
    bob_watcher.abort();

    // Offers are checked: an unknown agent, a project the agent is not in, a non-admin.
    let bad = json!({"agent": "nobody", "project": "sales", "direction": "inbound", "consent": "granted"});
    let (status, body) = admin.call(Method::POST, "/api/v1/calls", Some(bad)).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("agent"))
    );
    let alice_api = server.login("alice", "password-123").await;
    assert_eq!(
        alice_api
            .call(Method::POST, "/api/v1/calls", Some(offer))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
