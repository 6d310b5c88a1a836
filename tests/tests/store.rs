//! The central store on loopback with a real SQLite file: who may hear what (POLICY.md §8),
//! uploads that resume and arrive once, retention, and bad input answered precisely.

mod common;

use callrec_protocol::UPLOAD_OFFSET;
use callrec_uploader::manifest_for;
use common::{Session, TestServer, raw, record_call, upload};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

async fn project(admin: &Session, id: &str, extra: Value) {
    let mut body = json!({"id": id, "name": format!("Project {id}"), "kind": "contact_center", "record_mode": "both"});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let (status, resp) = admin
        .call(Method::POST, "/api/v1/projects", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
}

/// Status of list (does it show the call), metadata and audio for `who`.
async fn access(who: &Session, id: uuid::Uuid) -> (bool, StatusCode, StatusCode) {
    let (status, list) = who.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["id"] == id.to_string()));
    let (meta, _) = who
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    let (audio, _, _) = who
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), None)
        .await;
    (listed, meta, audio)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_matrix_of_policy_md_section_8() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    project(&admin, "support", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let bob = server.user(&admin, "bob", "agent", &["sales"]).await;
    let carol = server.user(&admin, "carol", "agent", &["support"]).await;
    let sue = server.user(&admin, "sue", "supervisor", &["sales"]).await;
    let sam = server.user(&admin, "sam", "supervisor", &["support"]).await;
    let id = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;

    let yes = (true, StatusCode::OK, StatusCode::OK);
    let no = (false, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND);
    assert_eq!(access(&alice, id).await, yes, "its own agent");
    assert_eq!(
        access(&bob, id).await,
        no,
        "another agent, project does not allow it"
    );
    assert_eq!(access(&carol, id).await, no, "an agent of another project");
    assert_eq!(access(&sue, id).await, yes, "a supervisor of the project");
    assert_eq!(
        access(&sam, id).await,
        no,
        "a supervisor of another project"
    );
    assert_eq!(access(&admin, id).await, yes, "an admin");

    // The project now lets agents hear each other: its members may, others still not.
    let (status, body) = admin
        .call(Method::PUT, "/api/v1/projects/sales", Some(json!({"name": "Sales", "kind": "contact_center", "record_mode": "both", "agents_can_listen_to_others": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        access(&bob, id).await,
        yes,
        "another agent of a project that allows it"
    );
    assert_eq!(
        access(&carol, id).await,
        no,
        "an agent of another project, still"
    );

    // Bob leaves the project: current membership decides.
    let (status, _) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/users/{}", bob.id),
            Some(json!({"username": "bob", "role": "agent", "projects": ["support"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bob = server.login("bob", "password-123").await;
    assert_eq!(access(&bob, id).await, no, "a former member");

    // No token, a wrong token, an expired token: 401 everywhere but login and the document.
    for path in [
        "/api/v1/recordings".to_owned(),
        format!("/api/v1/recordings/{id}"),
        format!("/api/v1/recordings/{id}/audio"),
        "/api/v1/projects".into(),
        "/api/v1/settings".into(),
    ] {
        assert_eq!(
            raw(&server.url(), Method::GET, &path, None, None).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            raw(&server.url(), Method::GET, &path, Some("forged"), None)
                .await
                .0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(
        raw(
            &server.url(),
            Method::GET,
            "/api/v1/openapi.json",
            None,
            None
        )
        .await
        .0,
        StatusCode::OK
    );

    // Role checks: 403 for endpoints the role may not use.
    for (who, path) in [
        (&alice, "/api/v1/users"),
        (&sue, "/api/v1/audit"),
        (&alice, "/api/v1/settings"),
    ] {
        assert_eq!(
            who.call(Method::GET, path, None).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Every playback is in the audit log, with who and what.
    let (_, log) = admin
        .call(Method::GET, "/api/v1/audit?limit=1000", None)
        .await;
    let plays: Vec<&Value> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["action"] == "playback")
        .collect();
    let by = |user: &Session| {
        plays
            .iter()
            .filter(|e| e["actor"] == user.id.as_str() && e["target"] == id.to_string())
            .count()
    };
    assert_eq!((by(&alice), by(&sue), by(&admin), by(&bob)), (1, 1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let server = TestServer::start_with(callrec_server::Options {
        session_lifetime: std::time::Duration::ZERO,
        ..Default::default()
    })
    .await;
    let admin = server.admin().await;
    assert_eq!(
        admin.call(Method::GET, "/api/v1/projects", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_from_the_stores_offset_and_arrives_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let (manifest, files) = manifest_for(&dir).expect("manifest");
    let id: uuid::Uuid = manifest.sidecar["call_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");

    // Start, and send the first 10 000 bytes of the recording by hand, as an interrupted
    // attempt would have.
    let (status, state) = alice
        .call(
            Method::PUT,
            &format!("/api/v1/calls/{id}"),
            Some(serde_json::to_value(&manifest).expect("json")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    let bytes = std::fs::read(&files[0]).expect("wav");
    let http = reqwest::Client::new();
    let patch = |offset: u64, body: Vec<u8>| {
        http.patch(format!("{}/api/v1/calls/{id}/files/0", server.url()))
            .bearer_auth(&alice.token)
            .header(UPLOAD_OFFSET, offset)
            .body(body)
            .send()
    };
    let resp = patch(0, bytes[..10_000].to_vec()).await.expect("patch");
    assert_eq!(resp.status(), StatusCode::OK);
    // A chunk at the wrong offset is refused with the right one.
    let resp = patch(5_000, bytes[5_000..6_000].to_vec())
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["offset"], 10_000);
    // Not visible before it is complete.
    assert_eq!(
        alice
            .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // The client resumes: it sends only what is missing.
    let total: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let done = alice
        .client
        .upload_call(&dir, |_| {})
        .await
        .expect("resume");
    assert!(done.state.complete);
    assert_eq!(done.sent_now, total - 10_000);

    // Uploading it again changes nothing and sends nothing.
    let again = alice.client.upload_call(&dir, |_| {}).await.expect("again");
    assert_eq!(again.sent_now, 0);
    let (_, list) = admin.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // The stored audio is byte for byte what was recorded, ranges included.
    let (status, headers, audio) = admin
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), None)
        .await;
    assert_eq!(
        (status, audio.as_slice()),
        (StatusCode::OK, bytes.as_slice())
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    let (status, headers, part) = admin
        .get_bytes(
            &format!("/api/v1/recordings/{id}/audio"),
            Some("bytes=100-199"),
        )
        .await;
    assert_eq!(
        (status, part.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &bytes[100..200])
    );
    assert_eq!(
        headers["content-range"],
        format!("bytes 100-199/{}", bytes.len())
    );
    let (status, _, tail) = admin
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), Some("bytes=-44"))
        .await;
    assert_eq!(
        (status, tail.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &bytes[bytes.len() - 44..])
    );
    let (status, headers, _) = admin
        .get_bytes(
            &format!("/api/v1/recordings/{id}/audio"),
            Some(&format!("bytes={}-", bytes.len())),
        )
        .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(headers["content-range"], format!("bytes */{}", bytes.len()));
    // The receipt take, under its order id (which has a slash in it).
    let receipt = std::fs::read(&files[1]).expect("receipt");
    let (status, _, got) = admin
        .get_bytes(
            &format!("/api/v1/recordings/{id}/receipts/A%2F1/1/audio"),
            None,
        )
        .await;
    assert_eq!((status, got), (StatusCode::OK, receipt));

    // The store's metadata: the uploader is the agent, whatever the sidecar said; the expiry
    // is the store's.
    let (_, meta) = admin
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    assert_eq!(meta["summary"]["agent_id"], alice.id.as_str());
    assert_eq!(meta["summary"]["contact"], "contact-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_file_is_refused_and_never_visible() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let (manifest, files) = manifest_for(&dir).expect("manifest");
    let id = manifest.sidecar["call_id"].as_str().expect("id").to_owned();
    alice
        .call(
            Method::PUT,
            &format!("/api/v1/calls/{id}"),
            Some(serde_json::to_value(&manifest).expect("json")),
        )
        .await;
    let mut bytes = std::fs::read(&files[0]).expect("wav");
    bytes[5_000] ^= 0xff;
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/v1/calls/{id}/files/0", server.url()))
        .bearer_auth(&alice.token)
        .header(UPLOAD_OFFSET, 0)
        .body(bytes)
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "checksum_mismatch");
    let (_, list) = admin.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(list["items"], json!([]));
    // The good bytes still go through from 0.
    assert!(
        alice
            .client
            .upload_call(&dir, |_| {})
            .await
            .expect("upload")
            .state
            .complete
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_against_the_uploader_and_the_policy() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({"holding_months": 1})).await;
    project(&admin, "support", json!({})).await;
    let carol = server.user(&admin, "carol", "agent", &["support"]).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let sue = server.user(&admin, "sue", "supervisor", &["sales"]).await;

    let dir = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let err = carol
        .client
        .upload_call(&dir, |_| {})
        .await
        .expect_err("not her project");
    assert!(err.to_string().contains("forbidden"), "{err}");
    assert!(
        sue.client.upload_call(&dir, |_| {}).await.is_err(),
        "supervisors do not upload"
    );

    // A call past its expiry (holding 1 month, recorded 2 months ago) is refused with 410.
    let old = record_call(
        server.dir.path(),
        "sales",
        None,
        OffsetDateTime::now_utc() - time::Duration::days(62),
    );
    let err = alice
        .client
        .upload_call(&old, |_| {})
        .await
        .expect_err("expired");
    assert!(
        matches!(err, callrec_uploader::UploadError::Expired),
        "{err}"
    );

    // The policy version the call names decides retention; an unknown one is refused.
    let (status, policy) = alice
        .call(Method::GET, "/api/v1/projects/sales/policy", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let version = policy["version"].as_str().expect("version").to_owned();
    let named = record_call(
        server.dir.path(),
        "sales",
        Some(&version),
        OffsetDateTime::now_utc(),
    );
    let id = upload(&alice, &named).await;
    let (_, meta) = alice
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    let started = OffsetDateTime::parse(
        meta["summary"]["started_at"].as_str().expect("t"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let expires = OffsetDateTime::parse(
        meta["summary"]["expires_at"].as_str().expect("t"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    assert_eq!(
        expires,
        callrec_policy::expires_at(started, callrec_policy::HoldingMonths::new(1).expect("1"))
    );
    let bogus = record_call(
        server.dir.path(),
        "sales",
        Some("0123456789abcdef"),
        OffsetDateTime::now_utc(),
    );
    let err = alice
        .client
        .upload_call(&bogus, |_| {})
        .await
        .expect_err("unknown version");
    assert!(err.to_string().contains("unknown_policy_version"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_expired_recordings_everywhere() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({"holding_months": 1})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let keep = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;
    let goes = upload(
        &alice,
        &record_call(
            server.dir.path(),
            "sales",
            None,
            OffsetDateTime::now_utc() - time::Duration::days(20),
        ),
    )
    .await;
    let blobs = |id: uuid::Uuid| {
        server
            .dir
            .path()
            .join(format!("store/blobs/recordings/{id}"))
    };
    assert!(blobs(goes).join("0.wav").exists());
    // A call of the same age whose upload was never finished: its part is a recording too.
    let half = record_call(
        server.dir.path(),
        "sales",
        None,
        OffsetDateTime::now_utc() - time::Duration::days(20),
    );
    let (manifest, files) = manifest_for(&half).expect("manifest");
    let half_id = manifest.sidecar["call_id"].as_str().expect("id").to_owned();
    let manifest = serde_json::to_value(&manifest).expect("json");
    alice
        .call(
            Method::PUT,
            &format!("/api/v1/calls/{half_id}"),
            Some(manifest),
        )
        .await;
    let first = std::fs::read(&files[0]).expect("wav")[..1000].to_vec();
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/v1/calls/{half_id}/files/0", server.url()))
        .bearer_auth(&alice.token)
        .header(UPLOAD_OFFSET, 0)
        .body(first)
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::OK);
    let part = server
        .dir
        .path()
        .join(format!("store/blobs/uploads/{half_id}/0.part"));
    assert!(part.exists());

    // Fifteen days on, the older call has passed its month; the newer has not.
    let later = OffsetDateTime::now_utc() + time::Duration::days(15);
    let deleted = callrec_server::sweep_once(&server.state, later)
        .await
        .expect("sweep");
    assert_eq!(
        deleted, 3,
        "the expired recording, its voice receipt (kept as long as its call here) and the expired half-upload"
    );
    assert!(!part.exists(), "the half-uploaded audio is deleted too");
    assert!(
        !blobs(goes).join("0.wav").exists() && !blobs(goes).join("1.wav").exists(),
        "audio deleted"
    );
    assert!(blobs(keep).join("0.wav").exists());
    assert_eq!(
        admin
            .call(Method::GET, &format!("/api/v1/recordings/{goes}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = admin.call(Method::GET, "/api/v1/recordings", None).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, [keep.to_string()]);
    let (_, log) = admin
        .call(Method::GET, "/api/v1/audit?limit=1000", None)
        .await;
    assert!(
        log.as_array()
            .expect("log")
            .iter()
            .any(|e| e["action"] == "retention_deleted" && e["target"] == goes.to_string())
    );
    assert!(
        log.as_array()
            .expect("log")
            .iter()
            .any(|e| e["action"] == "retention_deleted" && e["target"] == half_id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_precise_4xx_and_stores_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let url = server.url();
    let client = reqwest::Client::new();
    let send = |method: Method, path: &str, body: &'static str| {
        client
            .request(method, format!("{url}{path}"))
            .bearer_auth(&admin.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: [(Method, &str, &str, StatusCode, &str); 8] = [
        (
            Method::POST,
            "/api/v1/projects",
            "{\"id\": \"x\", ",
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            "/api/v1/projects",
            "{\"id\": \"x\", \"name\": \"X\", \"kind\": \"contact_center\", \"record_mode\": 3}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
        ),
        (
            Method::POST,
            "/api/v1/projects",
            "{\"id\": \"x\", \"name\": \"X\", \"kind\": \"contact_center\", \"record_mode\": \"both\", \"colour\": 1}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
        ),
        (
            Method::POST,
            "/api/v1/projects",
            "{\"id\": \"../etc\", \"name\": \"X\", \"kind\": \"contact_center\", \"record_mode\": \"both\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
        ),
        (
            Method::PUT,
            "/api/v1/settings",
            "{\"holding_months\": 0}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
        ),
        (
            Method::POST,
            "/api/v1/users",
            "{\"username\": \"x\", \"role\": \"king\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/login",
            "{\"username\": 1}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PUT,
            "/api/v1/calls/not-a-uuid",
            "{\"sidecar\": {}, \"files\": []}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_call_id",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let resp = send(method.clone(), path, body).await.expect("send");
        assert_eq!(resp.status(), status, "{method} {path} {body}");
        let json: Value = resp.json().await.expect("error body is JSON");
        assert_eq!(json["error"]["code"], code, "{json}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // The settings error names the field and lists what is allowed.
    let resp = send(
        Method::POST,
        "/api/v1/projects",
        "{\"id\": \"x\", \"name\": \"X\", \"kind\": \"contact_center\", \"record_mode\": \"none\"}",
    )
    .await
    .expect("send");
    let json: Value = resp.json().await.expect("json");
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("record_mode") && message.contains("agent_only_receipts_forbid_customer"),
        "{message}"
    );
    // A huge body.
    let huge = "x".repeat(callrec_protocol::MAX_JSON + 10);
    let resp = client
        .post(format!("{url}/api/v1/projects"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Path tricks never reach a file or another resource.
    for path in [
        "/api/v1/recordings/..%2F..%2Fcallrec.db/audio",
        "/api/v1/recordings/%2e%2e/audio",
        "/api/v1/projects/..%2Fusers",
    ] {
        let (status, _) = admin.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // A body shorter than its Content-Length: refused, nothing stored.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let body = "{\"id\": \"short\", \"name\": \"S\", \"kind\": \"contact_center\", \"record_mode\": \"both\"}";
    let request = format!(
        "POST /api/v1/projects HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        admin.token,
        body.len() + 50
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    tcp.shutdown().await.expect("half-close");
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer).await;
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
    assert_eq!(
        admin
            .call(Method::GET, "/api/v1/projects/short", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Nothing from any of the above was stored.
    let (_, projects) = admin.call(Method::GET, "/api/v1/projects", None).await;
    assert_eq!(projects, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_is_cached_by_version() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({"record_mode": "global"})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let first = match alice.client.policy("sales", None).await.expect("policy") {
        callrec_uploader::PolicyFetch::Changed(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.policy.record_mode, callrec_policy::RecordMode::Both);
    assert_eq!(
        alice
            .client
            .policy("sales", Some(&first.version))
            .await
            .expect("304"),
        callrec_uploader::PolicyFetch::NotModified
    );
    // A global change that the project inherits is a new version.
    let (status, _) = admin
        .call(
            Method::PUT,
            "/api/v1/settings",
            Some(json!({"contact_center": {"record_mode": "agent_only_forbid_customer"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    match alice
        .client
        .policy("sales", Some(&first.version))
        .await
        .expect("policy")
    {
        callrec_uploader::PolicyFetch::Changed(p) => {
            assert_ne!(p.version, first.version);
            assert_eq!(
                p.policy.record_mode,
                callrec_policy::RecordMode::AgentOnlyForbidCustomer
            );
        }
        other => panic!("{other:?}"),
    }
    // Members only.
    let carol = server.user(&admin, "carol", "agent", &[]).await;
    assert!(carol.client.policy("sales", None).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_user_cannot_sign_in_and_its_recordings_stay() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let call = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let id = upload(&alice, &call).await;
    let path = format!("/api/v1/users/{}", alice.id);
    assert_eq!(
        admin.call(Method::DELETE, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = alice.call(Method::GET, "/api/v1/recordings", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "her session ended");
    let login = json!({"username": "alice", "password": "password-123"});
    let (status, _) = raw(
        &server.url(),
        Method::POST,
        "/api/v1/login",
        None,
        Some(login),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let yes = (true, StatusCode::OK, StatusCode::OK);
    assert_eq!(access(&admin, id).await, yes, "the recording stays");
    // An admin cannot delete their own account (the store could be left without one).
    let own = format!("/api/v1/users/{}", admin.id);
    assert_eq!(
        admin.call(Method::DELETE, &own, None).await.0,
        StatusCode::CONFLICT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_endpoint() {
    use callrec_protocol::paths as p;
    let server = TestServer::start().await;
    let (status, doc) = raw(&server.url(), Method::GET, p::OPENAPI, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let id = uuid::Uuid::nil();
    let templated = |path: String| path.replace(&id.to_string(), "{id}");
    for path in [
        p::LOGIN.to_owned(),
        p::LOGOUT.into(),
        p::SETTINGS.into(),
        p::PROJECTS.into(),
        p::USERS.into(),
        p::RECORDINGS.into(),
        p::AUDIT.into(),
        p::OPENAPI.into(),
        p::CALLS.into(),
        p::CALL_EVENTS.into(),
        p::project("{id}"),
        p::policy("{id}"),
        p::user("{id}"),
        templated(p::call(&id)),
        templated(p::call_file(&id, 0)).replace("/0", "/{index}"),
        templated(p::recording(&id)),
        templated(p::recording_audio(&id)),
        templated(p::receipt_audio(&id, "{order_id}", 1)).replace("/1/", "/{seq}/"),
        p::CALL_STATUS.into(),
        p::HOLDS.into(),
        p::ERASURES.into(),
        p::RECEIPTS.into(),
        format!("{}/{{id}}", p::RECEIPTS),
        format!("{}/{{id}}/audio", p::RECEIPTS),
        format!("{}/{{id}}/lift", p::HOLDS),
        format!("{}/{{id}}/events", p::CALLS),
        p::contact_calls("{contact}"),
        p::contact_calls("{contact}").replace("/calls", "/export"),
    ] {
        assert!(paths.contains_key(&path), "{path} is not documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contacts_history_shows_the_projects_calls_and_plays_only_what_one_may_hear() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    project(&admin, "support", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let bob = server.user(&admin, "bob", "agent", &["sales"]).await;
    let carol = server.user(&admin, "carol", "agent", &["support"]).await;
    let call = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let id = upload(&alice, &call).await;
    let path = "/api/v1/contacts/contact-42/calls";
    let history = |who: &Session| {
        let who = who.client.clone();
        async move { who.contact_history("contact-42").await.expect("history") }
    };
    let mine = history(&alice).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].summary.id, mine[0].agent.as_str(), mine[0].playable),
        (id, "alice", true)
    );
    let bobs = history(&bob).await;
    assert_eq!(
        (bobs.len(), bobs[0].playable),
        (1, false),
        "bob sees the call, may not hear it"
    );
    assert!(
        bob.client.recording_audio(&id).await.is_err(),
        "and the store refuses the audio"
    );
    assert!(
        history(&carol).await.is_empty(),
        "another project's calls are not shown"
    );
    assert_eq!(
        raw(&server.url(), Method::GET, path, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_project_is_audited_and_a_second_delete_finds_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "gone", json!({})).await;
    let agent = server.user(&admin, "dave", "agent", &["gone"]).await;
    let path = "/api/v1/projects/gone";
    assert_eq!(
        agent.call(Method::DELETE, path, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.call(Method::DELETE, path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.call(Method::GET, path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.call(Method::DELETE, path, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, log) = admin
        .call(Method::GET, "/api/v1/audit?limit=1000", None)
        .await;
    let deletions = log.as_array().expect("log").iter();
    let deletions = deletions.filter(|e| e["action"] == "project_deleted" && e["target"] == "gone");
    assert_eq!(deletions.count(), 1);
}
