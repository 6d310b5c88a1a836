//! The database's settings and its schema, grown by append-only migrations.
//!
//! Migration `i` (0-based) takes a database from `PRAGMA user_version` `i` to `i + 1`. A
//! migration, once released, is never edited: change the schema by appending one. Every
//! migration a database lacks runs in one transaction, so a crash leaves it at its old
//! version or at the new one, never between.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{OutboxError, Result};

/// The migrations, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the upload queue, the policies fetched from the central store, app settings.
    "CREATE TABLE entries (
        call_id         TEXT PRIMARY KEY NOT NULL,
        dir             TEXT NOT NULL,
        state           TEXT NOT NULL
            CHECK (state IN ('queued', 'uploading', 'uploaded', 'deleted', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error      TEXT,
        next_attempt_at TEXT,
        last_attempt_at TEXT,
        created_at      TEXT NOT NULL,
        uploaded_at     TEXT,
        expires_at      TEXT
    ) STRICT;
    CREATE INDEX entries_by_age ON entries (created_at, call_id);
    CREATE INDEX entries_due ON entries (next_attempt_at)
        WHERE state IN ('queued', 'uploading');
    CREATE INDEX entries_by_expiry ON entries (expires_at) WHERE state <> 'deleted';
    CREATE TABLE cached_policies (
        project_id TEXT PRIMARY KEY NOT NULL,
        version    TEXT NOT NULL,
        json       TEXT NOT NULL,
        fetched_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;",
    // 2: how long each cached policy may be used offline (POLICY.md §8); `fetched_at` now
    // means when the store last confirmed it.
    "ALTER TABLE cached_policies ADD COLUMN offline_days INTEGER NOT NULL DEFAULT 7;",
];

/// The schema version this code writes: the number of migrations.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// `PRAGMA application_id` of an outbox ("CROB"), so another SQLite file is not mistaken
/// for one.
pub const APPLICATION_ID: i32 = 0x4352_4f42;

/// How long a statement waits for another process (the app and `callrec outbox`) to release
/// the database before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection settings. WAL cannot be switched on inside a transaction, so this runs first.
pub(crate) fn configure(conn: &Connection, db: &Path) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(OutboxError::sql("setting the busy timeout", db))?;
    // An in-memory database answers `memory`: there is nothing to share with other processes.
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(OutboxError::sql("switching to WAL", db))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(OutboxError::sql("enabling foreign keys", db))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(OutboxError::sql("setting synchronous=NORMAL", db))?;
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`], refusing a database from a newer callrec or one
/// that is not an outbox.
pub(crate) fn migrate(conn: &mut Connection, db: &Path) -> Result<()> {
    // IMMEDIATE: two processes opening an old database at once must not both migrate it.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(OutboxError::sql("starting the schema migration", db))?;
    let pragma = |name: &str| -> Result<i32> {
        tx.pragma_query_value(None, name, |row| row.get(0))
            .map_err(OutboxError::sql("reading the schema version", db))
    };
    let (found, app) = (pragma("user_version")?, pragma("application_id")?);
    if found > SCHEMA_VERSION {
        return Err(OutboxError::TooNew {
            db: db.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(OutboxError::sql("reading the schema", db))?;
    let foreign = match (found, app) {
        (v, _) if v < 0 => Some(format!("its schema version is {v}")),
        (0, 0) if tables > 0 => Some("it holds tables but no schema version".to_owned()),
        (0, 0) => None,
        (_, APPLICATION_ID) => None,
        (_, other) => Some(format!("its application id is {other:#x}")),
    };
    if let Some(why) = foreign {
        return Err(OutboxError::NotOutbox {
            db: db.to_owned(),
            why,
        });
    }
    let done = usize::try_from(found).unwrap_or_default();
    let pending = MIGRATIONS.get(done..).unwrap_or_default();
    if pending.is_empty() {
        return Ok(());
    }
    for migration in pending {
        tx.execute_batch(migration)
            .map_err(OutboxError::sql("migrating the schema", db))?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(OutboxError::sql("marking the database as an outbox", db))?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(OutboxError::sql("recording the schema version", db))?;
    tx.commit()
        .map_err(OutboxError::sql("committing the schema migration", db))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn pragma(conn: &Connection, name: &str) -> i32 {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .expect("pragma")
    }

    #[test]
    fn a_new_database_gets_every_migration_and_the_outbox_mark() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, Path::new(":memory:")).expect("migrate");
        assert_eq!(pragma(&conn, "user_version"), SCHEMA_VERSION);
        assert_eq!(pragma(&conn, "application_id"), APPLICATION_ID);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        assert_eq!(tables, ["cached_policies", "entries", "settings"]);
    }

    #[rstest]
    #[case::another_programs_tables("CREATE TABLE users (id INTEGER);", "tables but no schema")]
    #[case::another_application("PRAGMA application_id = 7; PRAGMA user_version = 1;", "0x7")]
    #[case::a_negative_version("PRAGMA user_version = -1;", "version is -1")]
    fn refuses_a_database_that_is_not_an_outbox(#[case] setup: &str, #[case] says: &str) {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(setup).expect("setup");
        let err = migrate(&mut conn, Path::new("/data/other.db")).expect_err("not an outbox");
        let msg = err.to_string();
        assert!(matches!(err, OutboxError::NotOutbox { .. }), "{msg}");
        assert!(
            msg.contains("/data/other.db") && msg.contains(says),
            "{msg}"
        );
    }

    #[test]
    fn a_failed_migration_leaves_the_database_as_it_was() {
        let mut conn = Connection::open_in_memory().expect("open");
        // Marked as ours at version 0 (as if migration 1 had crashed before committing), with
        // a table of the same name that makes migration 1 fail after creating `entries`.
        conn.execute_batch("CREATE TABLE settings (k TEXT)")
            .expect("setup");
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .expect("mark");
        let err = migrate(&mut conn, Path::new(":memory:")).expect_err("settings exists");
        assert!(matches!(err, OutboxError::Sqlite { .. }), "{err}");
        assert_eq!(pragma(&conn, "user_version"), 0);
        let entries: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'entries'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(entries, 0, "the half-applied migration was rolled back");
    }
}
