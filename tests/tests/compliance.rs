//! What a regulator and a data-protection officer ask of the store (POLICY.md §8): every audio
//! access logged, receipts kept apart with their own expiry, holding times that shorten
//! recordings already made (and never lengthen them), legal holds, erasure on request that
//! reaches agents' machines, export.

mod common;

use callrec_policy::Consent;
use common::{Session, TestServer, record_call, upload};
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

async fn log(admin: &Session, action: &str) -> Vec<Value> {
    let (status, log) = admin
        .call(
            Method::GET,
            &format!("/api/v1/audit?action={action}&limit=1000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    log.as_array().cloned().unwrap_or_default()
}

/// A short call recorded by the real app with `contact`, hung up and queued; its id.
async fn local_call(session: &callrec_agent::Session, contact: &str) -> uuid::Uuid {
    let tone = |hz| {
        Box::new(callrec_audio::Paced::new(callrec_audio::Tone::new(
            16_000, hz, 0.3, 60.0,
        )))
    };
    let view = session
        .start_call(
            callrec_agent::CallRequest {
                offer: None,
                project: "sales".into(),
                contact: Some(contact.into()),
                direction: callrec_policy::Direction::Outbound,
                consent: Consent::Granted,
            },
            callrec_agent::Audio::Sources {
                agent: tone(440.0),
                remote: tone(1000.0),
            },
        )
        .await
        .expect("call");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    session.end_call().expect("hang up");
    view.call_id
}

async fn sweep(server: &TestServer, days_on: i64) -> usize {
    callrec_server::sweep_once(
        &server.state,
        OffsetDateTime::now_utc() + time::Duration::days(days_on),
    )
    .await
    .expect("sweep")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_to_audio_is_logged_whatever_range_it_asks_for() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let sue = server.user(&admin, "sue", "supervisor", &["sales"]).await;
    let id = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;
    // A request from the middle of the file (the way around the log before).
    let (status, _, bytes) = sue
        .get_bytes(&format!("/api/v1/recordings/{id}/audio"), Some("bytes=44-"))
        .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(!bytes.is_empty());
    let entries = log(&admin, "playback").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], sue.id.as_str());
    assert_eq!(entries[0]["target"], id.to_string());
    assert_eq!(entries[0]["detail"]["range"], "44-256043");
    // A player's follow-up ranges fold into that entry; another listener gets their own.
    for range in ["bytes=0-1023", "bytes=1024-", "bytes=-100"] {
        sue.get_bytes(&format!("/api/v1/recordings/{id}/audio"), Some(range))
            .await;
    }
    assert_eq!(log(&admin, "playback").await.len(), 1);
    admin
        .get_bytes(
            &format!("/api/v1/recordings/{id}/audio"),
            Some("bytes=100-200"),
        )
        .await;
    assert_eq!(log(&admin, "playback").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_kept_apart_found_by_order_id_and_outlive_their_call() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(
        &admin,
        "sales",
        json!({"holding_months": 1, "receipt_holding_months": 24}),
    )
    .await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let bob = server.user(&admin, "bob", "agent", &["sales"]).await;
    let call = record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc());
    let id = upload(&alice, &call).await;

    // Found by its order id, with its own expiry, played on its own.
    let (status, found) = alice
        .call(Method::GET, "/api/v1/receipts?order_id=A/1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = found["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{found}");
    let receipt = &items[0];
    assert_eq!(receipt["call_id"], id.to_string());
    assert_eq!(
        (receipt["from_ms"].as_u64(), receipt["to_ms"].as_u64()),
        (Some(1000), Some(2000))
    );
    let receipt_id = receipt["id"].as_str().expect("id").to_owned();
    let (_, meta) = alice
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    let call_expiry = OffsetDateTime::parse(
        meta["summary"]["expires_at"].as_str().expect("expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    let receipt_expiry = OffsetDateTime::parse(
        receipt["expires_at"].as_str().expect("expiry"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    assert!(
        receipt_expiry - call_expiry > time::Duration::days(600),
        "24 months against 1"
    );
    let (status, _, audio) = alice
        .get_bytes(&format!("/api/v1/receipts/{receipt_id}/audio"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let take = std::fs::read(
        call.join("receipts")
            .read_dir()
            .expect("receipts")
            .next()
            .expect("a take")
            .expect("entry")
            .path(),
    )
    .expect("take");
    assert_eq!(audio, take);
    assert!(
        log(&admin, "playback")
            .await
            .iter()
            .any(|e| e["detail"]["receipt"] == receipt_id.as_str())
    );
    // The same permissions as recordings: bob may not hear alice's receipt.
    let (status, _) = bob
        .call(Method::GET, &format!("/api/v1/receipts/{receipt_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Two months on, the call is gone and its receipt is not.
    assert_eq!(sweep(&server, 62).await, 1);
    let (status, _) = alice
        .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = alice
        .get_bytes(
            &format!("/api/v1/recordings/{id}/receipts/A%2F1/1/audio"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the receipt plays after its call expired"
    );
    // Past its own expiry it goes too.
    assert_eq!(sweep(&server, 24 * 31 + 2).await, 1);
    let (status, _) = alice
        .call(Method::GET, &format!("/api/v1/receipts/{receipt_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_holding_time_redates_recordings_already_made_and_a_longer_one_does_not() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({"holding_months": 6})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let started = OffsetDateTime::now_utc() - time::Duration::days(40);
    let id = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, started),
    )
    .await;
    async fn expiry_of(admin: &Session, id: uuid::Uuid) -> Option<String> {
        let (_, meta) = admin
            .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
            .await;
        meta["summary"]["expires_at"].as_str().map(str::to_owned)
    }
    let six_months = expiry_of(&admin, id).await;
    // Longer: nothing changes for the recording already made.
    let (status, _) = admin
        .call(Method::PUT, "/api/v1/projects/sales", Some(json!({"name": "Sales", "kind": "contact_center", "record_mode": "both", "holding_months": 24})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expiry_of(&admin, id).await, six_months);
    // Shorter (one month): the call, 40 days old, is past it and goes at the next sweep.
    let (status, _) = admin
        .call(Method::PUT, "/api/v1/projects/sales", Some(json!({"name": "Sales", "kind": "contact_center", "record_mode": "both", "holding_months": 1})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(expiry_of(&admin, id).await, six_months);
    assert!(!log(&admin, "holding_time_shortened").await.is_empty());
    assert_eq!(sweep(&server, 0).await, 2, "the recording and its receipt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_hold_keeps_recordings_past_expiry_and_erasure_until_it_is_lifted() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({"holding_months": 1})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let id = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;
    // A hold needs a reason.
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/holds",
            Some(json!({"contact": "contact-42", "reason": " "})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, hold) = admin
        .call(
            Method::POST,
            "/api/v1/holds",
            Some(json!({"contact": "contact-42", "reason": "dispute #77"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let hold_id = hold["id"].as_str().expect("id").to_owned();
    // Past its expiry, and asked to be erased: it stays.
    assert_eq!(sweep(&server, 60).await, 0);
    let (status, erasure) = admin
        .call(
            Method::POST,
            "/api/v1/erasures",
            Some(json!({"contact": "contact-42", "reason": "erasure request #5"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["held"], json!([id]));
    assert_eq!(erasure["call_ids"], json!([]));
    // A later call of the contact is held too (present and future).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let later = upload(
        &alice,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;
    assert_eq!(sweep(&server, 60).await, 0);
    // Lifted: both expire at their own date, here at once.
    let (status, _) = admin
        .call(
            Method::POST,
            &format!("/api/v1/holds/{hold_id}/lift"),
            Some(json!({"reason": "dispute settled"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The list of holds in force no longer has it; with the lifted ones, it says who lifted
    // it, when and why.
    let (_, in_force) = admin.call(Method::GET, "/api/v1/holds", None).await;
    assert_eq!(in_force, json!([]));
    let (_, all) = admin
        .call(Method::GET, "/api/v1/holds?all=true", None)
        .await;
    assert_eq!(all[0]["id"], hold_id.as_str());
    assert_eq!(all[0]["contact"], "contact-42");
    assert_eq!(all[0]["reason"], "dispute #77");
    assert_eq!(all[0]["placed_by"], admin.id.as_str());
    assert!(all[0]["lifted_at"].is_string(), "{all}");
    assert_eq!(all[0]["lifted_by"], admin.id.as_str());
    assert_eq!(all[0]["lift_reason"], "dispute settled");
    assert_eq!(sweep(&server, 60).await, 4, "two calls and their receipts");
    for id in [id, later] {
        let (status, _) = admin
            .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(log(&admin, "hold_placed").await.len(), 1);
    let lifted = log(&admin, "hold_lifted").await;
    assert_eq!(lifted[0]["detail"]["reason"], "dispute settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_contact_removes_its_recordings_from_the_store_and_from_an_agents_disk() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    server.user(&admin, "alice", "agent", &["sales"]).await;
    let other = upload(
        &server.login("alice", "password-123").await,
        &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
    )
    .await;
    // The real app: one call of the contact in the store, one still on the agent's disk.
    let (data, session) = common::agent_session(&server, "alice").await;
    let mut calls = Vec::new();
    for _ in 0..2 {
        calls.push(local_call(&session, "+358 40 000 0001").await);
    }
    // The first is uploaded; the second waits on the disk (its upload is put off).
    let report = session.upload_once(true).await.expect("upload");
    assert_eq!(report.stored, 2);
    let (status, _) = admin
        .call(
            Method::POST,
            "/api/v1/erasures",
            Some(json!({"contact": "+358 40 000 0001", "reason": "erasure request #9"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let waiting = local_call(&session, "+358 40 000 0001").await;
    let dir = data.path().join("recordings").join(waiting.to_string());
    assert!(dir.exists());
    // Gone from the store; the other contact's call stays.
    for id in &calls {
        let (status, _) = admin
            .call(Method::GET, &format!("/api/v1/recordings/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = admin
        .call(Method::GET, &format!("/api/v1/recordings/{other}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let erased = log(&admin, "erased_on_request").await;
    assert_eq!(erased[0]["detail"]["reason"], "erasure request #9");
    assert_eq!(
        erased[0]["detail"]["calls"].as_array().map(Vec::len),
        Some(2)
    );
    // The call made after the erasure is new data: it is uploaded.
    let report = session.upload_once(true).await.expect("upload");
    assert_eq!(report.stored, 1);
    assert!(!dir.exists(), "uploaded, then removed as usual");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_erased_while_still_on_an_agents_disk_is_deleted_there_at_the_next_contact() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    server.user(&admin, "alice", "agent", &["sales"]).await;
    let (data, session) = common::agent_session(&server, "alice").await;
    let call = local_call(&session, "c-erased").await;
    let dir = data.path().join("recordings").join(call.to_string());
    assert!(dir.exists());
    // Erased before the app uploaded it.
    let (status, _) = admin
        .call(
            Method::POST,
            "/api/v1/erasures",
            Some(json!({"contact": "c-erased", "reason": "request #11"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let report = session.upload_once(true).await.expect("pass");
    assert_eq!((report.stored, report.expired), (0, 1));
    assert!(!dir.exists(), "the local copy is gone");
    let entries = session.queue_entries().expect("queue");
    assert!(
        entries
            .iter()
            .all(|e| e.state == callrec_outbox::State::Deleted)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_every_recording_of_a_contact_with_its_metadata_and_is_logged() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    project(&admin, "sales", json!({})).await;
    let alice = server.user(&admin, "alice", "agent", &["sales"]).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(
            upload(
                &alice,
                &record_call(server.dir.path(), "sales", None, OffsetDateTime::now_utc()),
            )
            .await,
        );
    }
    let (status, headers, zip) = admin
        .get_bytes("/api/v1/contacts/contact-42/export", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("name").into_owned())
        .collect();
    for id in &ids {
        for file in [
            "recording.json",
            "recording.wav",
            "receipts/A_1-1.wav",
            "receipts.json",
        ] {
            assert!(
                names.contains(&format!("{id}/{file}")),
                "{id}/{file} in {names:?}"
            );
        }
    }
    let meta: Value = {
        let mut f = archive
            .by_name(&format!("{}/recording.json", ids[0]))
            .expect("metadata");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).expect("read");
        serde_json::from_str(&text).expect("json")
    };
    assert_eq!(meta["contact"], "contact-42");
    let exported = log(&admin, "exported").await;
    assert_eq!(exported[0]["detail"]["contact"], "contact-42");
    assert_eq!(
        exported[0]["detail"]["calls"].as_array().map(Vec::len),
        Some(2)
    );
    // Only admins export.
    let (status, _, _) = alice
        .get_bytes("/api/v1/contacts/contact-42/export", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
