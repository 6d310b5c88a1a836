//! The outbox: opening the database, queueing call folders and reading the queue.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entry::{COLUMNS, Entry};
use crate::error::{OutboxError, Result};
use crate::{schema, sidecar, stamp};

/// The agent machine's queue of recordings waiting for the central store, with the policies
/// and settings the app keeps between runs.
///
/// One SQLite file, safe to open from several processes at once (the app and the `callrec`
/// command). Every instant is given by the caller, never read from a clock.
#[derive(Debug)]
pub struct Outbox {
    pub(crate) conn: Connection,
    pub(crate) db: PathBuf,
}

impl Outbox {
    /// Opens the outbox at `path`, creating the file (and its folder) if needed and
    /// migrating an older schema. Refuses a database written by a newer callrec, or a SQLite
    /// file that is not an outbox.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(OutboxError::io("creating the outbox folder", parent))?;
        }
        let conn = Connection::open(path).map_err(OutboxError::sql("opening", path))?;
        Self::setup(conn, path.to_owned())
    }

    /// An outbox that lives in memory and vanishes when dropped (for tests).
    pub fn open_in_memory() -> Result<Self> {
        let db = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(OutboxError::sql("opening", &db))?;
        Self::setup(conn, db)
    }

    fn setup(mut conn: Connection, db: PathBuf) -> Result<Self> {
        schema::configure(&conn, &db)?;
        schema::migrate(&mut conn, &db)?;
        Ok(Self { conn, db })
    }

    /// The database file (`:memory:` for an in-memory outbox).
    pub fn path(&self) -> &Path {
        &self.db
    }

    /// Queues the call recorded in the folder `dir`, due at `now`.
    ///
    /// The folder must hold a complete `recording.json` (the recorder writes it last). A
    /// call already in the outbox is not queued twice: its existing entry is returned as it
    /// is, whatever its state.
    pub fn enqueue(&self, dir: &Path, now: OffsetDateTime) -> Result<Entry> {
        let dir = dir
            .canonicalize()
            .map_err(OutboxError::io("finding the call folder", dir))?;
        let ids = sidecar::read(&dir)?;
        let dir_text = dir
            .to_str()
            .ok_or_else(|| OutboxError::NotUtf8 { path: dir.clone() })?;
        let now = stamp::encode("now", now)?;
        let expires_at = ids
            .expires_at
            .map(|t| stamp::encode("expires_at", t))
            .transpose()?;
        self.conn
            .execute(
                "INSERT INTO entries (call_id, dir, state, next_attempt_at, created_at, expires_at)
                 VALUES (?1, ?2, 'queued', ?3, ?3, ?4)
                 ON CONFLICT (call_id) DO NOTHING",
                params![ids.call_id.to_string(), dir_text, now, expires_at],
            )
            .map_err(OutboxError::sql("queueing a call", &self.db))?;
        self.require(ids.call_id)
    }

    /// The entry of `call_id`, if it was ever queued.
    pub fn get(&self, call_id: Uuid) -> Result<Option<Entry>> {
        let sql = format!("SELECT {COLUMNS} FROM entries WHERE call_id = ?1");
        Ok(self
            .select(&sql, params![call_id.to_string()])?
            .into_iter()
            .next())
    }

    /// Every entry, newest first.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let sql = format!("SELECT {COLUMNS} FROM entries ORDER BY created_at DESC, call_id DESC");
        self.select(&sql, [])
    }

    /// The entries to attempt at `now`, oldest first: queued ones whose time has come, and
    /// `uploading` ones, which only a crash (or another uploader) leaves behind.
    pub fn due(&self, now: OffsetDateTime) -> Result<Vec<Entry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM entries
             WHERE state IN ('queued', 'uploading') AND next_attempt_at <= ?1
             ORDER BY created_at, call_id"
        );
        self.select(&sql, params![stamp::encode("now", now)?])
    }

    /// How many recordings still wait for the central store (neither deleted nor failed).
    pub fn pending_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM entries WHERE state NOT IN ('deleted', 'failed')",
                [],
                |row| row.get(0),
            )
            .map_err(OutboxError::sql("counting pending calls", &self.db))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The entry of `call_id`, which must exist.
    pub(crate) fn require(&self, call_id: Uuid) -> Result<Entry> {
        self.get(call_id)?.ok_or_else(|| OutboxError::UnknownCall {
            call_id,
            db: self.db.clone(),
        })
    }

    pub(crate) fn select(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Entry>> {
        const READING: &str = "reading the outbox";
        let mut stmt =
            (self.conn.prepare_cached(sql)).map_err(OutboxError::sql(READING, &self.db))?;
        let mut rows = stmt
            .query(params)
            .map_err(OutboxError::sql(READING, &self.db))?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(OutboxError::sql(READING, &self.db))? {
            entries.push(Entry::from_row(&self.db, row)?);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_in_memory_outbox_starts_empty_and_says_where_it_lives() {
        let outbox = Outbox::open_in_memory().expect("open");
        assert_eq!(outbox.path(), Path::new(":memory:"));
        assert_eq!(outbox.list().expect("list"), []);
        assert_eq!(
            outbox.due(datetime!(2025-03-01 09:00 UTC)).expect("due"),
            []
        );
        assert_eq!(outbox.pending_count().expect("count"), 0);
    }

    #[test]
    fn open_creates_the_missing_folders_of_the_database() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = tmp.path().join("data/callrec/callrec.db");
        let outbox = Outbox::open(&db).expect("open");
        assert_eq!(outbox.path(), db);
        assert!(db.is_file());
    }
}
