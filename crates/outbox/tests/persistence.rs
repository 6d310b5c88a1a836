//! The outbox as a file: it survives restarts and crashes, upgrades old schemas, and refuses
//! what it does not understand.

mod common;

use std::path::Path;

use callrec_outbox::{Outbox, OutboxError, SCHEMA_VERSION, State};
use common::{Machine, T0, at, id};
use rusqlite::Connection;
use time::macros::datetime;

fn user_version(db: &Path) -> i32 {
    let conn = Connection::open(db).expect("open raw");
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[test]
fn the_queue_survives_closing_and_reopening() {
    let m = Machine::new();
    let expires = datetime!(2025-06-01 10:00 +02:00);
    m.queued(1, Some(expires), T0);
    m.in_state(2, State::Failed);
    m.in_state(3, State::Deleted);
    let policy = callrec_outbox::CachedPolicy {
        project_id: "sales-fr".into(),
        version: "v3".into(),
        json: r#"{"record_mode":"both"}"#.into(),
        confirmed_at: T0,
        offline_days: 7,
    };
    m.outbox.cache_policy(&policy).expect("cache");
    m.outbox
        .set_setting("server_url", "https://rec.example")
        .expect("set");
    let before = m.outbox.list().expect("list");

    let m = m.reopen();
    assert_eq!(m.outbox.list().expect("list"), before);
    assert_eq!(m.outbox.pending_count().expect("count"), 1);
    assert_eq!(
        m.outbox.cached_policy("sales-fr").expect("read"),
        Some(policy)
    );
    assert_eq!(
        m.outbox.setting("server_url").expect("read").as_deref(),
        Some("https://rec.example")
    );
}

#[test]
fn an_upload_a_crash_interrupted_is_due_again_after_restart() {
    let m = Machine::new();
    m.queued(1, None, T0);
    m.queued(2, None, at(1));
    m.outbox.start_attempt(id(1), at(2)).expect("start");
    let Machine { tmp, db, outbox } = m;
    // No orderly close: the process dies with the attempt in flight (and its WAL unmerged).
    std::mem::forget(outbox);

    let outbox = Outbox::open(&db).expect("reopen after the crash");
    let due = outbox.due(at(3)).expect("due");
    let states: Vec<_> = due
        .iter()
        .map(|e| (e.call_id, e.state, e.attempts))
        .collect();
    assert_eq!(
        states,
        [(id(1), State::Uploading, 1), (id(2), State::Queued, 0)]
    );
    let e = outbox.start_attempt(id(1), at(3)).expect("attempt again");
    assert_eq!((e.state, e.attempts), (State::Uploading, 2));
    assert!(e.dir.starts_with(tmp.path()) && e.dir.exists());
}

#[test]
fn a_new_file_is_in_wal_mode_at_the_current_version() {
    let m = Machine::new();
    let conn = Connection::open(&m.db).expect("open raw");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    assert_eq!(user_version(&m.db), SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_callrec_is_refused_and_left_untouched() {
    let m = Machine::new();
    m.queued(1, None, T0);
    let Machine {
        tmp: _tmp,
        db,
        outbox,
    } = m;
    drop(outbox);
    let future = SCHEMA_VERSION + 1;
    Connection::open(&db)
        .and_then(|c| c.pragma_update(None, "user_version", future))
        .expect("pretend a newer callrec wrote it");

    let err = Outbox::open(&db).expect_err("too new");
    let msg = err.to_string();
    assert!(
        matches!(err, OutboxError::TooNew { found, known, .. } if found == future && known == SCHEMA_VERSION),
        "{msg}"
    );
    assert!(msg.contains(&db.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("version {future}")), "{msg}");
    assert!(msg.contains(&format!("version {SCHEMA_VERSION}")), "{msg}");
    assert_eq!(user_version(&db), future);
}

#[test]
fn an_empty_file_is_migrated_and_reopening_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("callrec.db");
    std::fs::write(&db, b"").expect("an empty file is a version-0 database");
    drop(Outbox::open(&db).expect("migrate"));
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    let migrated = std::fs::read(&db).expect("read");

    let outbox = Outbox::open(&db).expect("reopen");
    assert_eq!(outbox.list().expect("list"), []);
    drop(outbox);
    assert!(
        std::fs::read(&db).expect("read") == migrated,
        "reopening a current database changed the file"
    );
}

#[test]
fn a_frozen_version_1_database_opens_with_its_queue_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("callrec.db");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/outbox-v1.sql");
    let sql = std::fs::read_to_string(fixture).expect("read fixture");
    Connection::open(&db)
        .and_then(|c| c.execute_batch(&sql))
        .expect("build the v1 database");

    let outbox = Outbox::open(&db).expect("open v1");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    let listed: Vec<_> = outbox
        .list()
        .expect("list")
        .into_iter()
        .map(|e| (e.call_id, e.state))
        .collect();
    assert_eq!(
        listed,
        [
            (id(4), State::Deleted),
            (id(3), State::Failed),
            (id(2), State::Uploading),
            (id(1), State::Queued),
        ]
    );
    let failed = outbox.get(id(3)).expect("get").expect("listed");
    assert_eq!(failed.last_error.as_deref(), Some("403 not your project"));
    assert_eq!(failed.attempts, 3);
    let deleted = outbox.get(id(4)).expect("get").expect("listed");
    assert_eq!(
        deleted.uploaded_at,
        Some(datetime!(2025-03-01 09:04:30.5 UTC))
    );
    let due: Vec<_> = outbox
        .due(at(2))
        .expect("due")
        .into_iter()
        .map(|e| e.call_id)
        .collect();
    assert_eq!(due, [id(1), id(2)]);
    assert_eq!(outbox.pending_count().expect("count"), 2);
    assert_eq!(
        outbox
            .cached_policy("sales-fr")
            .expect("read")
            .map(|p| p.version),
        Some("v3".to_owned())
    );
    assert_eq!(
        outbox.setting("server_url").expect("read").as_deref(),
        Some("https://rec.example")
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("callrec.db");
    std::fs::write(&db, b"these are not the pages you are looking for").expect("write");
    let err = Outbox::open(&db).expect_err("not SQLite");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
}

#[test]
fn the_app_and_the_command_line_share_one_file() {
    let m = Machine::new();
    let cli = Outbox::open(&m.db).expect("second handle");
    m.queued(1, None, T0);
    assert_eq!(cli.pending_count().expect("count"), 1);
    cli.start_attempt(id(1), at(1))
        .expect("start from the other handle");
    assert_eq!(m.state(1), State::Uploading);
}
