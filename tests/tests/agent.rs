//! The agent's engine against a real store on loopback, with audio that arrives in real time:
//! sign in, a call with the policy's controls, hang up, the recording uploaded; the policy
//! cache when the store is down; no policy, no recording; a crash recovered at start.

mod common;

use std::time::{Duration, Instant};

use callrec_agent::{AgentError, Audio, CallRequest, Intent, PolicySource, Session};
use callrec_audio::{Paced, Tone};
use callrec_policy::{Consent, Direction, Reason, SideReason};
use common::{Session as Api, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A tone delivered at the pace of a real device.
fn paced(hz: f64) -> Paced<Tone> {
    Paced::new(Tone::new(16_000, hz, 0.3, 600.0))
}

fn audio() -> Audio {
    Audio::Sources {
        agent: Box::new(paced(440.0)),
        remote: Box::new(paced(1000.0)),
    }
}

fn request(project: &str, consent: Consent) -> CallRequest {
    CallRequest {
        offer: None,
        project: project.into(),
        contact: Some("contact-9".into()),
        direction: Direction::Outbound,
        consent,
    }
}

async fn setup(server: &TestServer) -> Api {
    let body = json!({"id": "sales", "name": "Sales", "kind": "contact_center", "record_mode": "agent_only_receipts_allow_customer"});
    common::project_with_agent(server, body, "alice").await
}

/// `user`'s session in a fresh data folder, signed in to `server`.
async fn signed_in(server: &TestServer, user: &str) -> (tempfile::TempDir, Session) {
    common::agent_session(server, user).await
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
    let (_data, session) = signed_in(&server, "alice").await;
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
async fn cached_settings_older_than_the_offline_limit_record_nothing_and_say_since_when() {
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    // The admin allows three days offline.
    let (status, _) = admin
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings",
            Some(json!({"offline_policy_days": 3})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (data, session) = signed_in(&server, "alice").await;
    session.policy("sales").await.expect("fetched and cached");
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The store last confirmed the settings two days ago, then four: within, then past, the
    // limit.
    let confirmed = |days: i64| {
        let conn = rusqlite::Connection::open(data.path().join("callrec.db")).expect("db");
        let at = time::OffsetDateTime::now_utc() - time::Duration::days(days);
        conn.execute(
            "UPDATE cached_policies SET fetched_at = ?1",
            // As the outbox stores instants: UTC, nine subsecond digits.
            [at.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
            ))
            .expect("time")],
        )
        .expect("age the cache");
        at
    };
    confirmed(2);
    let call = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("within the limit, the cache serves");
    assert_eq!(call.policy_source, PolicySource::Cache);
    session.end_call().expect("hang up");
    let at = confirmed(4);
    let err = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect_err("past the limit");
    assert!(
        matches!(err, AgentError::CachedPolicyTooOld { days: 3, .. }),
        "{err}"
    );
    let said = err.to_string();
    assert!(
        said.contains(&at.date().to_string()) && said.contains("not recorded"),
        "{said}"
    );
    assert!(
        session.snapshot().expect("snapshot").call.is_none(),
        "nothing is recorded"
    );
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

/// A short call of `agent`'s in `sales`, hung up and uploaded.
async fn short_call(session: &Session, contact: &str) -> uuid::Uuid {
    let mut req = request("sales", Consent::Granted);
    req.contact = Some(contact.into());
    let call = session.start_call(req, audio()).await.expect("call");
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.end_call().expect("hang up");
    let report = session.upload_once(true).await.expect("upload");
    assert_eq!(report.stored, 1);
    call.call_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_find_their_projects_recordings_by_agent_contact_and_date() {
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    server.user(&admin, "bob", "agent", &["sales"]).await;
    server.user(&admin, "sue", "supervisor", &["sales"]).await;
    let mut ids = Vec::new();
    for (agent, contact) in [("alice", "c-1"), ("bob", "c-2"), ("alice", "c-2")] {
        let data = tempfile::tempdir().expect("tmp");
        let session = Session::open(data.path(), 16_000).expect("open");
        session
            .sign_in(&server.url(), agent, "password-123")
            .await
            .expect("sign in");
        ids.push(short_call(&session, contact).await);
    }
    let data = tempfile::tempdir().expect("tmp");
    let sue = Session::open(data.path(), 16_000).expect("open");
    sue.sign_in(&server.url(), "sue", "password-123")
        .await
        .expect("sign in");
    let snapshot = sue.snapshot().expect("snapshot");
    assert_eq!(snapshot.role.as_deref(), Some("supervisor"));
    assert!(!snapshot.takes_calls, "the window offers no dial form");
    let query = |agent: Option<&str>, contact: Option<&str>| callrec_protocol::RecordingQuery {
        agent: agent.map(str::to_owned),
        contact: contact.map(str::to_owned),
        ..Default::default()
    };

    // By the agent's user name (what a supervisor types), newest first, with names.
    let list = sue
        .recordings(&query(Some("alice"), None))
        .await
        .expect("list");
    let got: Vec<_> = list.items.iter().map(|i| i.summary.id).collect();
    assert_eq!(got, vec![ids[2], ids[0]]);
    assert!(list.items.iter().all(|i| i.agent == "alice" && i.playable));
    let list = sue
        .recordings(&query(None, Some("c-2")))
        .await
        .expect("list");
    let agents: Vec<_> = list.items.iter().map(|i| i.agent.as_str()).collect();
    assert_eq!(agents, vec!["alice", "bob"]);

    // Dates: nothing started tomorrow; a date that is not one is named.
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let later = callrec_protocol::RecordingQuery {
        from: Some(tomorrow),
        ..Default::default()
    };
    assert!(sue.recordings(&later).await.expect("list").items.is_empty());
    let bad = callrec_protocol::RecordingQuery {
        from: Some("yesterday".into()),
        ..Default::default()
    };
    let err = sue.recordings(&bad).await.expect_err("bad date");
    assert!(
        err.to_string().contains("`from`") && err.to_string().contains("RFC 3339"),
        "{err}"
    );

    // bob, an agent in a project that keeps others' calls from him, lists only his own.
    let data = tempfile::tempdir().expect("tmp");
    let bob = Session::open(data.path(), 16_000).expect("open");
    bob.sign_in(&server.url(), "bob", "password-123")
        .await
        .expect("sign in");
    let list = bob.recordings(&query(None, None)).await.expect("list");
    let got: Vec<_> = list.items.iter().map(|i| i.summary.id).collect();
    assert_eq!(got, vec![ids[1]]);
    let err = bob.recording_audio(ids[0]).await.expect_err("not his");
    assert!(matches!(err, AgentError::RecordingUnavailable), "{err}");
    assert!(err.to_string().contains("may not listen"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_status_follows_outages_and_a_revoked_session() {
    use callrec_agent::StoreState;
    let server = TestServer::start().await;
    setup(&server).await;
    let data = tempfile::tempdir().expect("tmp");
    let session = Session::open(data.path(), 16_000).expect("open");
    let state = |s: &Session| s.snapshot().expect("snapshot").store;
    assert_eq!(state(&session).state, StoreState::Unknown);
    session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in");
    session.policy("sales").await.expect("fetched");
    assert_eq!(state(&session).state, StoreState::Online);

    // The store goes away: offline, since the first failure, with the cause.
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, source) = session.policy("sales").await.expect("cached");
    assert_eq!(source, PolicySource::Cache);
    let offline = state(&session);
    assert_eq!(offline.state, StoreState::Offline);
    assert!(offline.message.is_some());
    session.history("c-1").await.expect_err("offline");
    assert_eq!(
        state(&session).since,
        offline.since,
        "one outage, one start"
    );

    // Another store, where alice's account is deleted while she is signed in.
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    session.sign_out().expect("sign out");
    assert_eq!(state(&session).state, StoreState::Unknown);
    let alice = session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in to the new store");
    assert_eq!(state(&session).state, StoreState::Online);
    let (status, body) = admin
        .call(Method::DELETE, &format!("/api/v1/users/{}", alice.id), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    session.history("c-1").await.expect_err("revoked");
    assert_eq!(state(&session).state, StoreState::SessionExpired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_waiting_for_one_store_are_not_sent_to_another() {
    let server = TestServer::start().await;
    setup(&server).await;
    let other = TestServer::start().await;
    setup(&other).await;
    let (_data, session) = signed_in(&server, "alice").await;
    session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("call");
    assert!(matches!(
        session.sign_out(),
        Err(AgentError::CallInProgress)
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.end_call().expect("hang up");

    // Queued for the first store: signing in to the other is refused, and says why.
    session.sign_out().expect("sign out");
    let snap = session.snapshot().expect("snapshot");
    assert_eq!(
        (snap.user, snap.uploads.len()),
        (None, 1),
        "the queue stays"
    );
    let err = session
        .sign_in(&other.url(), "alice", "password-123")
        .await
        .expect_err("refused");
    assert!(
        matches!(err, AgentError::PendingForOtherServer { count: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&server.url()), "{err}");

    // Back on the first store the recording uploads; then the other store is fine.
    session
        .sign_in(&format!("{}/", server.url()), "alice", "password-123")
        .await
        .expect("same store, trailing slash and all");
    assert_eq!(session.upload_once(true).await.expect("upload").stored, 1);
    session.sign_out().expect("sign out");
    session
        .sign_in(&other.url(), "alice", "password-123")
        .await
        .expect("now allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_rate_is_checked_remembered_and_used_for_the_next_call() {
    let server = TestServer::start().await;
    setup(&server).await;
    let data = tempfile::tempdir().expect("tmp");
    {
        let session = Session::open(data.path(), 16_000).expect("open");
        let err = session.set_rate(12_345).expect_err("not offered");
        assert_eq!(
            err.to_string(),
            "recording rate 12345 Hz is not offered; choose one of 8000, 16000, 24000, 32000, 44100, 48000"
        );
        assert_eq!(session.rate(), 16_000, "unchanged");
        session.set_rate(8_000).expect("rate");
    }
    let session = Session::open(data.path(), 16_000).expect("reopen");
    assert_eq!(session.snapshot().expect("snapshot").rate, 8_000);
    session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("sign in");
    let call = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("call");
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.end_call().expect("hang up");
    let wav = data
        .path()
        .join("recordings")
        .join(call.call_id.to_string())
        .join("recording.wav");
    let spec = hound::WavReader::open(&wav).expect("wav").spec();
    assert_eq!((spec.sample_rate, spec.channels), (8_000, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_shared_desk_each_call_is_uploaded_as_the_agent_who_recorded_it() {
    let server = TestServer::start().await;
    let admin = setup(&server).await;
    server.user(&admin, "bob", "agent", &["sales"]).await;
    server.user(&admin, "sue", "supervisor", &["sales"]).await;
    let (_data, session) = signed_in(&server, "alice").await;
    session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("call");
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.end_call().expect("hang up");
    session.sign_out().expect("sign out");

    // bob at the same desk: alice's call waits for her, and says so.
    session
        .sign_in(&server.url(), "bob", "password-123")
        .await
        .expect("bob");
    let report = session.upload_once(true).await.expect("pass");
    assert_eq!((report.stored, report.failed), (0, 0));
    let uploads = session.snapshot().expect("snapshot").uploads;
    assert_eq!(uploads[0].waiting_for.as_deref(), Some("alice"));
    assert_eq!(uploads[0].attempts, 0, "not even tried");
    session.sign_out().expect("sign out");

    // A supervisor takes no calls (the store accepts recordings from agents only).
    session
        .sign_in(&server.url(), "sue", "password-123")
        .await
        .expect("sue");
    let err = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect_err("not an agent");
    assert_eq!(
        err.to_string(),
        "only agents take calls here; you are signed in as a supervisor"
    );
    session.sign_out().expect("sign out");

    session
        .sign_in(&server.url(), "alice", "password-123")
        .await
        .expect("alice again");
    assert_eq!(session.upload_once(true).await.expect("pass").stored, 1);
    let (_, list) = admin
        .call(Method::GET, "/api/v1/recordings?agent=alice", None)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["agent"], "alice");
}

/// One channel of a 16-bit stereo WAV.
fn channel(path: &std::path::Path, which: usize) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).expect("wav");
    reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .skip(which)
        .step_by(2)
        .collect()
}

/// Whether `x` holds a sound (any sample louder than a whisper) or only silence.
fn loud(x: &[i16]) -> bool {
    x.iter().any(|s| s.unsigned_abs() > 1000)
}

/// A customer-service call recorded from inputs that carry every remote voice mixed (as a
/// call-audio device does): the platform offers it, then reports a third party joining and
/// the end. The recording follows the project's conference mode from the instant the party
/// was reported, and ends when the platform says the call did.
#[rstest::rstest]
#[case::all_participants("all_participants", true, true)]
#[case::agent_and_customer_only("agent_and_customer_only", true, false)]
#[case::stop_on_third_party("stop_on_third_party", false, false)]
#[case::none("none", false, false)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_reported_by_the_platform_follows_the_conference_mode_and_its_end_ends_the_call(
    #[case] mode: &str,
    #[case] agent_after: bool,
    #[case] remote_after: bool,
) {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let project = json!({"id": "support", "name": "Support", "kind": "customer_service",
                         "record_mode": "both", "conference_mode": mode});
    let (status, _) = admin
        .call(Method::POST, "/api/v1/projects", Some(project))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.user(&admin, "alice", "agent", &["support"]).await;
    let pbx = server.user(&admin, "pbx", "platform", &[]).await;
    let (data, session) = signed_in(&server, "alice").await;
    let session = std::sync::Arc::new(session);
    let (ring, mut rings) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let session = session.clone();
        tokio::spawn(async move { session.watch_calls(|c| ring.send(c).is_ok()).await })
    };
    let offer = json!({"agent": "alice", "contact": "c-7", "project": "support", "direction": "inbound", "consent": "granted"});
    let call = loop {
        let (_, body) = pbx
            .call(Method::POST, "/api/v1/calls", Some(offer.clone()))
            .await;
        if body["delivered"].as_u64() == Some(1) {
            break rings.recv().await.expect("rings");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let view = session.accept_call(&call, audio()).await.expect("accept");
    assert_eq!(view.call_id, call.id, "recorded under the offer's id");
    let fact = |body: serde_json::Value| {
        let pbx = &pbx;
        async move {
            let (status, answer) = pbx
                .call(
                    Method::POST,
                    &format!("/api/v1/calls/{}/events", call.id),
                    Some(body),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
            assert_eq!(answer["delivered"], 1);
        }
    };
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    fact(json!({"event": "party_joined", "party": "supervisor"})).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    fact(json!({"event": "call_ended"})).await;
    let start = Instant::now();
    while session.snapshot().expect("snapshot").call.is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the platform's end ended the call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();

    let dir = data.path().join("recordings").join(call.id.to_string());
    // The recording is complete once its last frames are written.
    while !dir.join("recording.json").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the recording completes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("recording.json")).expect("sidecar"),
    )
    .expect("json");
    // The timeline says what the audio holds: where the mode changes anything, it changes at
    // the join; with agent_and_customer_only the mixed remote side is silenced there, and a
    // note says why.
    let joined = sidecar["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find_map(|i| {
            (i["from_ms"].as_u64() > Some(0))
                .then(|| i["from_ms"].as_u64())
                .flatten()
        });
    if mode == "agent_and_customer_only" {
        let note = &sidecar["notes"][0];
        assert_eq!(
            note["reason"], "mixed_with_unrecorded_third_party",
            "{sidecar}"
        );
        assert_eq!(note["from_ms"].as_u64(), joined);
    }
    let ended = sidecar["ended_at"].as_str().expect("ended");
    assert!(!ended.is_empty());
    if mode == "none" {
        assert_eq!(sidecar["outcome"], "discarded");
        assert!(
            !dir.join("recording.wav").exists(),
            "nothing kept of a conference"
        );
        return;
    }
    let wav = dir.join("recording.wav");
    let (agent, remote) = (channel(&wav, 0), channel(&wav, 1));
    let seconds = agent.len() as f64 / 16_000.0;
    assert!(
        (2.5..4.5).contains(&seconds),
        "the call ended when the platform said: {seconds} s"
    );
    let join = (joined.expect("an instant the party joined") as usize) * 16;
    // Before the join, both sides; from 20 ms after it, what the mode allows.
    assert!(loud(&agent[..join - 320]) && loud(&remote[..join - 320]));
    let after = join + 320;
    assert_eq!(
        loud(&agent[after..]),
        agent_after,
        "agent after the join ({mode})"
    );
    assert_eq!(
        loud(&remote[after..]),
        remote_after,
        "remote after the join ({mode})"
    );
    if !remote_after {
        assert!(remote[after..].iter().all(|&s| s == 0), "exact silence");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_during_a_receipt_ends_it_and_silences_the_customer_from_that_instant() {
    let server = TestServer::start().await;
    setup(&server).await;
    let (data, session) = signed_in(&server, "alice").await;
    let view = session
        .start_call(request("sales", Consent::Granted), audio())
        .await
        .expect("call");
    session
        .intent(Intent::ReceiptStart {
            order_id: "ORD-1".into(),
        })
        .expect("intent")
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(800)).await;
    session.withdraw_consent().expect("io").expect("accepted");
    let refused = session
        .intent(Intent::ReceiptStart {
            order_id: "ORD-2".into(),
        })
        .expect("intent")
        .expect_err("refused");
    assert_eq!(refused.reason, Reason::ConsentDeclined);
    let snapshot = session.snapshot().expect("snapshot");
    let call = snapshot.call.expect("call");
    assert_eq!(call.status.customer.reason, SideReason::ConsentWithdrawn);
    tokio::time::sleep(Duration::from_millis(800)).await;
    session.end_call().expect("hang up");
    let dir = data
        .path()
        .join("recordings")
        .join(view.call_id.to_string());
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("recording.json")).expect("sidecar"),
    )
    .expect("json");
    let take = &sidecar["receipts"][0];
    assert_eq!(take["status"], "kept");
    assert_eq!(take["customer"], true);
    let (from, to) = (
        take["from_ms"].as_u64().expect("from"),
        take["to_ms"].as_u64().expect("to"),
    );
    assert!(to > from, "the take ends at the withdrawal");
    let remote = channel(&dir.join("recording.wav"), 1);
    let at = to as usize * 16;
    assert!(
        loud(&remote[at - 4_000..at - 320]),
        "the customer before the withdrawal"
    );
    assert!(
        remote[at + 16..].iter().all(|&s| s == 0),
        "nothing of the customer after it"
    );
}
