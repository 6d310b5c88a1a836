//! The store attacked as an outsider and as an agent would, on loopback: logins guessed and
//! flooded, sessions that must end, roles that must not reach further than they should,
//! retention and a call's facts decided by the store, uploads bounded, audio checked, slow
//! clients, TLS end to end. Each test failed on the store before these defences.

mod common;

use tokio::io::AsyncReadExt;

/// Whether the server closed `stream` (or closes it within `within`).
async fn closed(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use callrec_server::{Limits, Listening, Options, TlsFiles};
use callrec_uploader::{Transport, UploadError, manifest_for};
use common::{ADMIN_PASSWORD, Session, TestServer, raw, record_call, upload};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

async fn project(admin: &Session, id: &str) {
    let body = json!({"id": id, "name": format!("Project {id}"), "kind": "contact_center", "record_mode": "both"});
    let (status, resp) = admin
        .call(Method::POST, "/api/v1/projects", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
}

/// A login from `from` (a loopback address: each stands for another client machine).
async fn login_from(
    server: &TestServer,
    from: IpAddr,
    user: &str,
    password: &str,
) -> reqwest::Response {
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client")
        .post(format!("{}/api/v1/login", server.url()))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("send")
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_answered_429_with_a_growing_retry_after_per_name_and_per_address() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    server.user(&admin, "alice", "agent", &["sales"]).await;
    let here = loopback(1);
    for _ in 0..5 {
        let resp = login_from(&server, here, "alice", "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // The name is held back now, even with its right password.
    let resp = login_from(&server, here, "alice", "password-123").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    let resp = login_from(&server, here, "alice", "password-123").await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the right password after the wait"
    );

    // One address guessing many names is held back too; other addresses are not.
    let guesser = loopback(2);
    for i in 0..30 {
        let resp = login_from(&server, guesser, &format!("guess{i}"), "x").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let resp = login_from(&server, guesser, "guess-more", "x").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let resp = login_from(&server, loopback(3), "guess-more", "x").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_name_takes_as_long_to_refuse_as_a_wrong_password() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    for i in 0..6 {
        server
            .user(&admin, &format!("agent{i}"), "agent", &["sales"])
            .await;
    }
    let time = |name: String| {
        let server = &server;
        async move {
            let started = Instant::now();
            let resp = login_from(server, loopback(4), &name, "not-the-password").await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            started.elapsed()
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..6 {
        known.push(time(format!("agent{i}")).await);
        unknown.push(time(format!("nobody{i}")).await);
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[3], unknown[3]);
    // Before, an unknown name was refused ten times faster (2.9 ms against 30.7 ms).
    assert!(
        u.as_secs_f64() > 0.6 * k.as_secs_f64(),
        "median refusal: existing user {k:?}, unknown user {u:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_user_name_is_cut_before_it_is_looked_up_or_logged() {
    let server = TestServer::start().await;
    // A login body is small: a megabyte of name is refused unread.
    let huge = "a".repeat(1 << 20);
    for i in 0..20 {
        let resp = login_from(&server, loopback(5 + i), &huge, "x").await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // A long name that fits is cut to 64 bytes before anything else.
    let long = "b".repeat(8 * 1024);
    for i in 0..20 {
        let resp = login_from(&server, loopback(5 + i), &format!("{i:02}{long}"), "x").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // Before: 31 MB of the database for 30 names of a megabyte.
    let conn = rusqlite::Connection::open(server.dir.path().join("store/callrec.db")).expect("db");
    let logged: i64 = conn
        .query_row(
            "SELECT COALESCE(SUM(LENGTH(target) + LENGTH(detail_json)), 0) FROM audit",
            [],
            |r| r.get(0),
        )
        .expect("sum");
    assert!(
        logged < 20 * 200,
        "the audit log holds {logged} bytes of them"
    );
    let admin = server.admin().await;
    let (_, log) = admin
        .call(
            Method::GET,
            "/api/v1/audit?action=login_failed&limit=50",
            None,
        )
        .await;
    let entries = log.as_array().expect("entries");
    assert_eq!(entries.len(), 20);
    assert!(
        entries
            .iter()
            .all(|e| e["target"].as_str().is_some_and(|t| t.len() == 64))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_sign_out_password_change_role_change_deletion_and_when_idle() {
    let server = TestServer::start_with(Options {
        session_idle: Duration::from_secs(2),
        ..Options::default()
    })
    .await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alive = |s: &Session| {
        let (http, base, token) = (s.http.clone(), s.base.clone(), s.token.clone());
        async move {
            http.get(format!("{base}/api/v1/projects"))
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
                .status()
                == StatusCode::OK
        }
    };

    // Signing out ends the session at the store.
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    assert!(alive(&alice).await);
    alice.client.logout().await.expect("logout");
    assert!(!alive(&alice).await, "a signed-out token is refused");

    // A new password or a new role ends every session of the user; another user's stays.
    let bob = server.user(&admin, "bob", "agent", &["sales"]).await;
    let carol = server.user(&admin, "carol", "agent", &["sales"]).await;
    let (status, _) = admin
        .call(Method::PUT, &format!("/api/v1/users/{}", bob.id), Some(json!({"username": "bob", "password": "another-password-1", "role": "agent", "projects": ["sales"]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !alive(&bob).await,
        "bob's old session after his password changed"
    );
    assert!(alive(&carol).await);
    let (status, _) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/users/{}", carol.id),
            Some(json!({"username": "carol", "role": "supervisor", "projects": ["sales"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !alive(&carol).await,
        "carol's session after her role changed"
    );
    let dave = server.user(&admin, "dave", "agent", &["sales"]).await;
    let (status, _) = admin
        .call(Method::DELETE, &format!("/api/v1/users/{}", dave.id), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!alive(&dave).await);

    // Unused for longer than the idle time, a session ends; the sweeper removes its row.
    let erin = server.user(&admin, "erin", "agent", &["sales"]).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(!alive(&erin).await, "an idle session");
    callrec_server::tidy_once(&server.state, OffsetDateTime::now_utc())
        .await
        .expect("tidy");
    let conn = rusqlite::Connection::open(server.dir.path().join("store/callrec.db")).expect("db");
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 0, "every session above has ended and none is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_needs_a_password_of_twelve_characters() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "root2", "password": "short-pw-11", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "password");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("12 characters")),
        "{body}"
    );
    let (status, _) = admin
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "root2", "password": "a-long-admin-pw", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The first admin of a new store too.
    let dir = tempfile::tempdir().expect("tmp");
    let state = callrec_server::AppState::open(dir.path(), Options::default()).expect("open");
    let err = callrec_server::auth::bootstrap_admin(&state, Some("x".into())).expect_err("refused");
    assert!(err.to_string().contains("at least 12 characters"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_project_takes_its_memberships_with_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let sue = server.user(&admin, "sue", "supervisor", &["sales"]).await;
    let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let id = upload(&alice, &dir).await;
    let (audio, _, _) = sue
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), None)
        .await;
    assert_eq!(audio, StatusCode::OK);
    let (status, _) = admin
        .call(Method::DELETE, "/api/v1/projects/sales", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, user) = admin
        .call(Method::GET, &format!("/api/v1/users/{}", sue.id), None)
        .await;
    assert_eq!(user["projects"], json!([]), "{user}");
    // A project made again with the same id is a new project: its old supervisor is not one.
    project(&admin, "sales").await;
    let (audio, _, _) = sue
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), None)
        .await;
    assert_eq!(audio, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_account_offers_calls_and_nothing_else() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    server.user(&admin, "alice", "agent", &["sales"]).await;
    let pbx = server.user(&admin, "pbx", "platform", &[]).await;
    let (status, body) = pbx
        .call(Method::POST, "/api/v1/calls", Some(json!({"agent": "alice", "contact": "c-1", "project": "sales", "direction": "inbound", "consent": "granted"})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for (method, path) in [
        (Method::GET, "/api/v1/recordings"),
        (Method::GET, "/api/v1/projects"),
        (Method::GET, "/api/v1/projects/sales/policy"),
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/api/v1/audit"),
        (Method::GET, "/api/v1/settings"),
        (Method::GET, "/api/v1/contacts/c-1/calls"),
    ] {
        let (status, body) = pbx.call(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
    // People who are not the platform do not offer calls (an admin still may).
    let alice = server.login("alice", "password-123").await;
    let (status, _) = alice
        .call(Method::POST, "/api/v1/calls", Some(json!({"agent": "alice", "project": "sales", "direction": "inbound", "consent": "granted"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_shows_the_newest_events_first_a_page_at_a_time() {
    let server = TestServer::start().await;
    for i in 0..1_100 {
        server
            .state
            .db()
            .audit(&callrec_server::db::NewAudit {
                actor: None,
                action: "login_failed",
                target: Some(&format!("guess{i}")),
                detail: json!({}),
            })
            .expect("audit");
    }
    let admin = server.admin().await;
    let (status, log) = admin
        .call(Method::GET, "/api/v1/audit?limit=100", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = log.as_array().expect("page");
    assert_eq!(page.len(), 100);
    assert_eq!(
        page[0]["action"], "login",
        "the admin's sign-in is the newest event"
    );
    let last = page[99]["id"].as_i64().expect("id");
    let (_, next) = admin
        .call(
            Method::GET,
            &format!("/api/v1/audit?limit=100&before={last}"),
            None,
        )
        .await;
    let next = next.as_array().expect("page");
    assert!(next.iter().all(|e| e["id"].as_i64() < Some(last)));
    let (_, logins) = admin
        .call(
            Method::GET,
            &format!("/api/v1/audit?action=login&actor={}", admin.id),
            None,
        )
        .await;
    assert_eq!(logins.as_array().map(Vec::len), Some(1), "{logins}");
}

/// A recorded call folder whose recording.json is changed by `edit`.
fn edited_call(
    server: &TestServer,
    project: &str,
    version: Option<&str>,
    started: OffsetDateTime,
    edit: impl FnOnce(&mut Value),
) -> std::path::PathBuf {
    let dir = record_call(server.dir.path(), project, version, started);
    let path = dir.join("recording.json");
    let mut sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    edit(&mut sidecar);
    std::fs::write(&path, sidecar.to_string()).expect("write");
    dir
}

fn refused_code(e: UploadError) -> String {
    match e {
        UploadError::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_decides_a_calls_retention_policy_and_consent() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;

    // A start in the future (which would keep the call for ever) is refused.
    for year in ["2099-01-01T00:00:00Z", "9999-12-31T00:00:00Z"] {
        let dir = edited_call(&server, "sales", None, OffsetDateTime::now_utc(), |s| {
            s["started_at"] = json!(year);
            s["ended_at"] = json!(year);
        });
        let err = alice
            .client
            .upload_call(&dir, |_| {})
            .await
            .expect_err("refused");
        assert_eq!(refused_code(err), "started_at_in_future", "{year}");
    }

    // A call obeys the version in force when it started (or one replaced at most
    // offline_policy_days before: an app offline uses its cached settings that long).
    let (_, policy) = alice
        .call(Method::GET, "/api/v1/projects/sales/policy", None)
        .await;
    let before_change = OffsetDateTime::now_utc();
    let v1 = policy["version"].as_str().expect("version").to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, _) = admin
        .call(Method::PUT, "/api/v1/projects/sales", Some(json!({"name": "Sales", "kind": "contact_center", "record_mode": "agent_only_allow_customer", "holding_months": 1})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let in_force = edited_call(&server, "sales", Some(&v1), before_change, |s| {
        // The sidecar's own claims are not what the store keeps.
        s["holding_months"] = json!(120);
        s["policy"]["record_mode"] = json!("agent_only_forbid_customer");
    });
    let id = upload(&alice, &in_force).await;
    let (_, meta) = alice
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    assert_eq!(meta["policy"]["record_mode"], "both", "{meta}");
    assert_eq!(meta["policy"]["holding_months"], 3);
    let recent = record_call(
        server.dir.path(),
        "sales",
        Some(&v1),
        OffsetDateTime::now_utc(),
    );
    upload(&alice, &recent).await;
    // Once v1 was replaced more than 7 days (the default limit) before a call, it is refused.
    let conn = rusqlite::Connection::open(server.dir.path().join("store/callrec.db")).expect("db");
    conn.execute(
        "UPDATE policy_periods SET until = until - 8 * 86400000 WHERE version = ?1 AND until IS NOT NULL",
        [&v1],
    )
    .expect("age v1");
    let stale = record_call(
        server.dir.path(),
        "sales",
        Some(&v1),
        OffsetDateTime::now_utc(),
    );
    let err = alice
        .client
        .upload_call(&stale, |_| {})
        .await
        .expect_err("refused");
    assert_eq!(refused_code(err), "stale_policy_version");

    // The platform's word on consent stands: a recording that claims consent the customer
    // declined is not kept; one that agrees is kept with the platform's consent.
    let pbx = server.user(&admin, "pbx", "platform", &[]).await;
    for (offered, claimed, kept) in [("declined", "granted", false), ("granted", "granted", true)] {
        let (status, offer) = pbx
            .call(Method::POST, "/api/v1/calls", Some(json!({"agent": "alice", "contact": "c-9", "project": "sales", "direction": "inbound", "consent": offered})))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{offer}");
        let offer_id = offer["call"]["id"].as_str().expect("id").to_owned();
        let dir = edited_call(&server, "sales", None, OffsetDateTime::now_utc(), |s| {
            s["call_id"] = json!(offer_id);
            s["consent"] = json!(claimed);
        });
        let result = alice.client.upload_call(&dir, |_| {}).await;
        match (kept, result) {
            (true, Ok(done)) => {
                let (_, meta) = alice
                    .call(
                        Method::GET,
                        &format!("/api/v1/recordings/{}", done.state.call_id),
                        None,
                    )
                    .await;
                assert_eq!(meta["consent"], offered);
            }
            (false, Err(e)) => assert_eq!(refused_code(e), "consent_mismatch"),
            (kept, other) => {
                panic!("offered {offered}, claimed {claimed}: kept {kept}, got {other:?}")
            }
        }
    }
}

/// Starts an upload of `manifest` for `id` without sending any bytes.
async fn start_upload(session: &Session, id: &str, manifest: &Value) -> (StatusCode, Value) {
    session
        .call(
            Method::PUT,
            &format!("/api/v1/calls/{id}"),
            Some(manifest.clone()),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_bounded_by_quota_open_uploads_and_the_number_of_files() {
    let server = TestServer::start_with(Options {
        quota_per_user: 8 << 20,
        open_uploads_per_user: 2,
        abandon_uploads_after: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;

    // A file declared at 4 GiB - 1 is over the quota.
    let dir = edited_call(&server, "sales", None, OffsetDateTime::now_utc(), |s| {
        s["recording"]["bytes"] = json!(u64::from(u32::MAX));
    });
    let manifest = serde_json::to_value(manifest_for(&dir).expect("manifest").0).expect("json");
    let id = manifest["sidecar"]["call_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = start_upload(&alice, &id, &manifest).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");

    // 3,000 receipts are not a call.
    let dir = edited_call(&server, "sales", None, OffsetDateTime::now_utc(), |s| {
        let take = s["receipts"][0].clone();
        s["receipts"] = Value::Array(vec![take; 3_000]);
    });
    let manifest = serde_json::to_value(manifest_for(&dir).expect("manifest").0).expect("json");
    let id = manifest["sidecar"]["call_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = start_upload(&alice, &id, &manifest).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_manifest");

    // At most two unfinished uploads at once.
    let mut open = Vec::new();
    for _ in 0..3 {
        let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
        let manifest = serde_json::to_value(manifest_for(&dir).expect("manifest").0).expect("json");
        let id = manifest["sidecar"]["call_id"]
            .as_str()
            .expect("id")
            .to_owned();
        open.push((id.clone(), start_upload(&alice, &id, &manifest).await.0));
    }
    assert_eq!(
        open.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Abandoned uploads are removed (here at once), and make room again.
    callrec_server::tidy_once(&server.state, OffsetDateTime::now_utc())
        .await
        .expect("tidy");
    let resp = alice
        .http
        .head(format!("{}/api/v1/calls/{}/files/0", alice.base, open[0].0))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("head");
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "the abandoned upload is gone"
    );
    let (_, log) = admin
        .call(Method::GET, "/api/v1/audit?action=upload_abandoned", None)
        .await;
    assert_eq!(log.as_array().map(Vec::len), Some(2));
}

/// Replaces a recorded call's WAV with `bytes`, its sidecar describing them.
fn disguised(server: &TestServer, bytes: &[u8]) -> std::path::PathBuf {
    use sha2::Digest;
    let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    std::fs::write(dir.join("recording.wav"), bytes).expect("write");
    let path = dir.join("recording.json");
    let mut sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    sidecar["recording"]["bytes"] = json!(bytes.len());
    sidecar["recording"]["sha256"] = json!(hex::encode(sha2::Sha256::digest(bytes)));
    std::fs::write(&path, sidecar.to_string()).expect("write");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_the_recording_it_claims_is_refused_and_never_served() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let real = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let wav = std::fs::read(real.join("recording.wav")).expect("wav");
    let mut lying = wav.clone();
    lying.truncate(wav.len() / 2);
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.resize(4096, 0);
    for (what, bytes) in [
        (
            "a web page",
            b"<!doctype html><html><script>alert(1)</script></html>".to_vec(),
        ),
        ("a program", elf),
        ("a WAV whose header lies about its length", lying),
    ] {
        let dir = disguised(&server, &bytes);
        let err = alice
            .client
            .upload_call(&dir, |_| {})
            .await
            .expect_err(what);
        assert_eq!(refused_code(err), "not_audio", "{what}");
    }
    let (_, list) = admin.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing of them is visible"
    );
    // The real one goes in.
    alice
        .client
        .upload_call(&real, |_| {})
        .await
        .expect("upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_the_store() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("store");
    let server = TestServer::start_in(
        dir,
        &data,
        Options::default(),
        Listening {
            tls: None,
            limits: Limits {
                max_connections: 100,
                max_connections_per_address: 20,
                header_timeout: Duration::from_secs(2),
                ..Limits::default()
            },
        },
        Transport::default(),
    )
    .await;
    // Fifty connections from one address, each sending half a request head.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind((Ipv4Addr::new(127, 0, 0, 2), 0).into())
            .expect("bind");
        let mut stream = socket.connect(server.addr).await.expect("connect");
        let _ = stream
            .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: store\r\nContent-Le")
            .await;
        slow.push(stream);
    }
    let mut refused = 0;
    for stream in &mut slow {
        if closed(stream, Duration::from_millis(20)).await {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 30,
        "connections over the per-address cap are closed at once"
    );
    // Someone else signs in at once.
    let started = Instant::now();
    let (status, _) = raw(
        &server.url(),
        Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The held ones are dropped once their head is late.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let mut dropped = 0;
    for stream in &mut slow {
        if closed(stream, Duration::from_millis(200)).await {
            dropped += 1;
        }
    }
    assert_eq!(
        dropped, 50,
        "every slow connection is closed after the header timeout"
    );
}

/// A tmpfs of `size` mounted on a new folder, unmounted on drop: a disk that fills up.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "the full-disk test mounts a small tmpfs and needs root (CAP_SYS_ADMIN), as CI has: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    /// Writes until the disk refuses; returns the file, to remove to make room again.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = vec![0xa5u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // What is left below a block.
        while file.write_all(&block[..512]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_holds_up_uploads_only() {
    let disk = SmallDisk::mount("24m");
    let data = disk.dir.path().join("store");
    let server = TestServer::start_in(
        tempfile::tempdir().expect("tmp"),
        &data,
        Options {
            reserve_bytes: 4 << 20,
            ballast_bytes: 2 << 20,
            ..Options::default()
        },
        Listening::default(),
        Transport::default(),
    )
    .await;
    let admin = server.admin().await;
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let first = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let stored = upload(&alice, &first).await;

    // Something else fills the disk.
    let filler = disk.fill();
    let second = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    match alice.client.upload_call(&second, |_| {}).await {
        Err(UploadError::Transient(why)) => {
            assert!(why.contains("insufficient_storage"), "{why}");
        }
        other => panic!("an upload on a full disk waits (transient), got {other:?}"),
    }
    // Signing in, listing, listening and the audit log go on.
    let bob = server.login("admin", ADMIN_PASSWORD).await;
    let (status, list) = bob.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (status, _, audio) = bob
        .get_bytes(&format!("/api/v1/recordings/{stored}/audio"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!audio.is_empty());
    let (status, log) = bob.call(Method::GET, "/api/v1/audit?limit=5", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log[0]["action"], "playback", "{log}");

    // Room again: the upload goes through.
    std::fs::remove_file(filler).expect("rm");
    callrec_server::tidy_once(&server.state, OffsetDateTime::now_utc())
        .await
        .expect("tidy");
    alice
        .client
        .upload_call(&second, |_| {})
        .await
        .expect("upload after room was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_speaks_tls_with_a_private_ca_and_takes_a_renewed_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = callrec_e2e::tls::make(&dir.path().join("tls"), "first");
    let data = dir.path().join("store");
    let transport = Transport {
        ca: Some(ca.ca.clone()),
        insecure_http: false,
    };
    let server = TestServer::start_in(
        dir,
        &data,
        Options::default(),
        Listening {
            tls: Some(TlsFiles {
                cert: ca.cert.clone(),
                key: ca.key.clone(),
                reload_every: Duration::from_millis(100),
            }),
            limits: Limits::default(),
        },
        transport.clone(),
    )
    .await;
    assert!(server.url().starts_with("https://"));
    let admin = server.admin().await;
    assert!(admin.client.encrypted());
    project(&admin, "sales").await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let call = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let id = upload(&alice, &call).await;
    let (status, headers, audio) = alice
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{headers:?}");
    assert_eq!(
        audio,
        std::fs::read(call.join("recording.wav")).expect("wav")
    );
    let version = alice
        .http
        .get(format!("{}/api/v1/openapi.json", alice.base))
        .send()
        .await
        .expect("get")
        .version();
    assert_eq!(version, reqwest::Version::HTTP_2, "HTTP/2 by ALPN");

    // Without the CA the certificate is not trusted.
    let untrusting = callrec_uploader::Client::with_transport(&server.url(), &Transport::default())
        .expect("client");
    match untrusting.login("admin", ADMIN_PASSWORD).await {
        Err(UploadError::Refused { code, message }) => {
            assert_eq!(code, "untrusted_certificate");
            assert!(message.contains("CALLREC_CA"), "{message}");
        }
        other => panic!("an untrusted certificate is refused, got {other:?}"),
    }
    // Plain HTTP to another machine is refused before anything is sent.
    let err = callrec_uploader::Client::new("http://store.invalid:8640").expect_err("refused");
    assert!(err.to_string().contains("unencrypted"), "{err}");
    let typed = callrec_uploader::Client::new("store.invalid:8640").expect("host:port");
    assert_eq!(typed.base(), "https://store.invalid:8640");

    // A renewed certificate (from another CA here) is served without a restart.
    let renewed = callrec_e2e::tls::make(&server.dir.path().join("renewed"), "second");
    std::fs::copy(&renewed.cert, &ca.cert).expect("copy");
    std::fs::copy(&renewed.key, &ca.key).expect("copy");
    let trusting_new = Transport {
        ca: Some(renewed.ca.clone()),
        insecure_http: false,
    };
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let client =
            callrec_uploader::Client::with_transport(&server.url(), &trusting_new).expect("client");
        if client.login("admin", ADMIN_PASSWORD).await.is_ok() {
            served = true;
            break;
        }
    }
    assert!(served, "the renewed certificate is served");
}
