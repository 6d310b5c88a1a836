//! The embedded metadata store: one SQLite file (WAL) under the data folder.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use callrec_policy::{Named, Role};
use callrec_protocol::{AuditEntry, FileKind, RecordingSummary};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    AuditQuery, Database, ListQuery, NewAudit, Offer, PolicyPeriod, ProjectRow, Receipt, Recording,
    Scope, StoredFile, Upload, UploadFile, Usage, User,
};
use crate::error::{AppError, Result};
use crate::space::{Space, full_disk, is_full};

/// Append-only migrations; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    PRIMARY KEY (user_id, project_id)
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    json TEXT NOT NULL
);
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    settings_json TEXT NOT NULL
);
CREATE TABLE policy_versions (
    version TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    policy_json TEXT NOT NULL
);
CREATE TABLE uploads (
    call_id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,
    manifest_json TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE upload_files (
    call_id TEXT NOT NULL REFERENCES uploads(call_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT,
    seq INTEGER,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    verified INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (call_id, idx)
);
CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    contact TEXT,
    direction TEXT,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    has_audio INTEGER NOT NULL,
    receipts INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sidecar_json TEXT NOT NULL
);
CREATE INDEX recordings_by_time ON recordings (started_at DESC, id DESC);
CREATE INDEX recordings_by_project ON recordings (project_id, started_at DESC, id DESC);
CREATE INDEX recordings_by_agent ON recordings (agent_id, started_at DESC, id DESC);
CREATE INDEX recordings_by_contact ON recordings (contact, started_at DESC, id DESC);
CREATE INDEX recordings_by_expiry ON recordings (expires_at);
CREATE TABLE recording_files (
    recording_id TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    order_id TEXT,
    seq INTEGER,
    blob_key TEXT NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE INDEX recording_files_by_recording ON recording_files (recording_id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail_json TEXT NOT NULL
);
"#,
    // 2: uploads carry their expiry, so unfinished uploads of expired calls are swept too.
    r#"
ALTER TABLE uploads ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE uploads SET expires_at = CAST(strftime('%s', json_extract(summary_json, '$.expires_at')) AS INTEGER) * 1000;
CREATE INDEX uploads_by_expiry ON uploads (complete, expires_at);
"#,
    // 3: sessions that idle out and end with their user's password or role; memberships of
    // deleted projects gone; when each policy version was in force; offered calls kept (their
    // consent and time are the store's facts); uploads' own times and sizes (quotas,
    // abandoned uploads). Sessions from before the upgrade sign in again.
    r#"
DELETE FROM tokens;
ALTER TABLE tokens ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
DELETE FROM memberships WHERE project_id NOT IN (SELECT id FROM projects);
CREATE TABLE policy_periods (
    project_id TEXT NOT NULL,
    version TEXT NOT NULL,
    since INTEGER NOT NULL,
    until INTEGER
);
CREATE INDEX policy_periods_by_version ON policy_periods (project_id, version);
CREATE INDEX policy_periods_open ON policy_periods (project_id, until);
INSERT INTO policy_periods (project_id, version, since, until)
    SELECT project_id, version, 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM policy_versions;
CREATE TABLE offered_calls (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    contact TEXT,
    direction TEXT NOT NULL,
    consent TEXT NOT NULL,
    offered_at INTEGER NOT NULL
);
CREATE INDEX offered_calls_by_time ON offered_calls (offered_at);
ALTER TABLE uploads ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN active_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE uploads SET
    bytes = (SELECT COALESCE(SUM(f.bytes), 0) FROM upload_files f WHERE f.call_id = uploads.call_id),
    started_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000,
    active_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
CREATE INDEX uploads_by_uploader ON uploads (uploader, complete);
CREATE INDEX uploads_by_activity ON uploads (complete, active_at);
CREATE INDEX audit_by_action ON audit (action, id);
CREATE INDEX audit_by_actor ON audit (actor, id);
"#,
    // 4: voice receipts as artifacts of their own, each with its own expiry; legal holds;
    // erasures on request (POLICY.md §8). Receipts stored before keep their call's expiry.
    r#"
CREATE TABLE receipts (
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    contact TEXT,
    order_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    customer INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE INDEX receipts_by_order ON receipts (order_id, started_at DESC, id DESC);
CREATE INDEX receipts_by_call ON receipts (call_id);
CREATE INDEX receipts_by_contact ON receipts (contact, started_at DESC, id DESC);
CREATE INDEX receipts_by_project ON receipts (project_id, started_at DESC, id DESC);
CREATE INDEX receipts_by_time ON receipts (started_at DESC, id DESC);
CREATE INDEX receipts_by_expiry ON receipts (expires_at);
INSERT INTO receipts (id, call_id, project_id, agent_id, contact, order_id, seq, customer,
                      started_at, from_ms, to_ms, expires_at, blob_key, bytes)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-7' ||
           substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', abs(random()) % 4 + 1, 1) ||
           substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
       r.id, r.project_id, r.agent_id, r.contact, f.order_id, f.seq,
       COALESCE((SELECT json_extract(t.value, '$.customer') FROM json_each(r.sidecar_json, '$.receipts') t
                 WHERE json_extract(t.value, '$.order_id') = f.order_id AND json_extract(t.value, '$.seq') = f.seq), 0),
       r.started_at,
       COALESCE((SELECT json_extract(t.value, '$.from_ms') FROM json_each(r.sidecar_json, '$.receipts') t
                 WHERE json_extract(t.value, '$.order_id') = f.order_id AND json_extract(t.value, '$.seq') = f.seq), 0),
       COALESCE((SELECT json_extract(t.value, '$.to_ms') FROM json_each(r.sidecar_json, '$.receipts') t
                 WHERE json_extract(t.value, '$.order_id') = f.order_id AND json_extract(t.value, '$.seq') = f.seq), 0),
       r.expires_at, f.blob_key, f.bytes
FROM recording_files f JOIN recordings r ON r.id = f.recording_id
WHERE f.kind = 'receipt';
DELETE FROM recording_files WHERE kind = 'receipt';
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('recording', 'contact')),
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at INTEGER NOT NULL,
    lifted_by TEXT,
    lifted_at INTEGER,
    lift_reason TEXT
);
CREATE INDEX holds_active ON holds (kind, target) WHERE lifted_at IS NULL;
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    call_ids_json TEXT NOT NULL,
    held_json TEXT NOT NULL
);
CREATE INDEX erasures_by_time ON erasures (erased_at);
"#,
];

/// Metadata in SQLite. One connection behind a mutex: SQLite serialises writers anyway,
/// and every query here is indexed.
pub struct SqliteDb {
    conn: Mutex<Connection>,
    /// The data folder's space: its ballast is released when a write finds the disk full.
    space: Option<Space>,
}

/// How stale a session's last use may be before it is written again (milliseconds).
const TOUCH_EVERY_MS: i64 = 60_000;

/// A SELECT grown one condition at a time, its arguments numbered as they are added.
pub(super) struct Query {
    sql: String,
    args: Vec<rusqlite::types::Value>,
}

impl Query {
    /// `select` (without WHERE) and no condition yet.
    pub(super) fn new(select: &str) -> Self {
        Self {
            sql: format!("{select} WHERE 1 = 1"),
            args: Vec::new(),
        }
    }

    fn arg(&mut self, v: impl Into<rusqlite::types::Value>) -> usize {
        self.args.push(v.into());
        self.args.len()
    }

    /// `AND clause`, its one `?` bound to `v`.
    pub(super) fn and(&mut self, clause: &str, v: impl Into<rusqlite::types::Value>) {
        let n = self.arg(v);
        self.sql
            .push_str(&format!(" AND {}", clause.replace('?', &format!("?{n}"))));
    }

    /// `AND column = v` when there is a `v`.
    pub(super) fn and_if(&mut self, column: &str, v: Option<String>) {
        if let Some(v) = v {
            self.and(&format!("{column} = ?"), v);
        }
    }

    /// What a caller may see: everything, or its own (`agent_id`) and its projects'.
    pub(super) fn scope(&mut self, scope: &Scope) {
        if let Scope::Own { agent_id, projects } = scope {
            let mut any = format!("agent_id = ?{}", self.arg(agent_id.clone()));
            for p in projects {
                any.push_str(&format!(" OR project_id = ?{}", self.arg(p.clone())));
            }
            self.sql.push_str(&format!(" AND ({any})"));
        }
    }

    /// The statement, ordered by `order`, at most `limit` rows.
    pub(super) fn finish(
        mut self,
        order: &str,
        limit: u32,
    ) -> (String, Vec<rusqlite::types::Value>) {
        let n = self.arg(i64::from(limit));
        (format!("{} {order} LIMIT ?{n}", self.sql), self.args)
    }

    /// Newest call first (`started_at`, then `id`), continuing after a page's last row.
    pub(super) fn newest_first(
        mut self,
        after: Option<(i64, Uuid)>,
        limit: u32,
    ) -> (String, Vec<rusqlite::types::Value>) {
        if let Some((t, id)) = after {
            let (a, b) = (self.arg(t), self.arg(id.to_string()));
            self.sql.push_str(&format!(
                " AND (started_at < ?{a} OR (started_at = ?{a} AND id < ?{b}))"
            ));
        }
        self.finish("ORDER BY started_at DESC, id DESC", limit)
    }
}

/// An SQL condition true when an active legal hold covers the call `id` (or its `contact`).
pub(super) fn held_clause(id: &str, contact: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM holds h WHERE h.lifted_at IS NULL AND ((h.kind = 'recording' AND h.target = {id}) OR (h.kind = 'contact' AND h.target = {contact})))"
    )
}

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Recording => "recording",
        FileKind::Receipt => "receipt",
    }
}

fn kind_from(name: &str) -> FileKind {
    if name == "receipt" {
        FileKind::Receipt
    } else {
        FileKind::Recording
    }
}

pub(super) fn corrupt(what: &str) -> AppError {
    AppError::Internal(format!("corrupt row: {what}"))
}

impl SqliteDb {
    /// Opens (or creates) the database file and brings its schema up to date. Refuses a
    /// database written by a newer callrec.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_in(path, None)
    }

    /// [`SqliteDb::open`] in a data folder whose space is watched: a write that finds the disk
    /// full releases the folder's ballast and is tried once more.
    pub(crate) fn open_in(path: &Path, space: Option<Space>) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut db = Self::migrate(conn)?;
        db.space = space;
        Ok(db)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Self::migrate(conn)
    }

    fn migrate(mut conn: Connection) -> Result<Self> {
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(AppError::Internal(format!(
                "the database has schema version {version}, newer than this callrec's {}; run the newer callrec",
                MIGRATIONS.len()
            )));
        }
        let tx = conn.transaction()?;
        for sql in &MIGRATIONS[version..] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
        tx.commit()?;
        Ok(Self {
            conn: Mutex::new(conn),
            space: None,
        })
    }

    /// Runs a write that must not fail for a full disk (the audit log, sessions): when it
    /// does, the ballast is released and the write tried once more.
    fn write<T>(&self, f: impl Fn(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn()?;
        match f(&conn) {
            Err(e) if is_full(&e) => {
                if self.space.as_ref().is_some_and(Space::release) {
                    f(&conn).map_err(|e| if is_full(&e) { full_disk() } else { e.into() })
                } else {
                    Err(full_disk())
                }
            }
            other => Ok(other?),
        }
    }

    pub(super) fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| AppError::Internal("database lock poisoned".into()))
    }

    fn memberships(conn: &Connection, user_id: &str) -> Result<Vec<String>> {
        let mut stmt = conn.prepare_cached(
            "SELECT project_id FROM memberships WHERE user_id = ?1 ORDER BY project_id",
        )?;
        let rows = stmt.query_map([user_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn user_from(conn: &Connection, row: (String, String, String, String)) -> Result<User> {
        let (id, username, password_hash, role) = row;
        let role = Role::from_name(&role).ok_or_else(|| corrupt("role"))?;
        let projects = Self::memberships(conn, &id)?;
        Ok(User {
            id,
            username,
            password_hash,
            role,
            projects,
        })
    }

    fn set_memberships(conn: &Connection, user: &User) -> Result<()> {
        conn.execute("DELETE FROM memberships WHERE user_id = ?1", [&user.id])?;
        for p in &user.projects {
            conn.execute(
                "INSERT OR IGNORE INTO memberships (user_id, project_id) VALUES (?1, ?2)",
                params![user.id, p],
            )?;
        }
        Ok(())
    }

    /// The ids `sql` selects, given an instant (`?1`) and a limit (`?2`).
    pub(super) fn ids(&self, sql: &str, at: OffsetDateTime, limit: u32) -> Result<Vec<Uuid>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![ms(at), limit], |r| r.get::<_, String>(0))?;
        rows.map(|id| Uuid::parse_str(&id?).map_err(|_| corrupt("id")))
            .collect()
    }

    /// The uploads whose call ids `sql` selects (see [`SqliteDb::ids`]).
    fn uploads_selected(&self, sql: &str, at: OffsetDateTime, limit: u32) -> Result<Vec<Upload>> {
        let mut out = Vec::new();
        for id in self.ids(sql, at, limit)? {
            out.extend(self.upload(&id)?);
        }
        Ok(out)
    }

    fn files_of(conn: &Connection, id: &str) -> Result<Vec<StoredFile>> {
        let mut stmt = conn.prepare_cached(
            "SELECT kind, order_id, seq, blob_key, bytes FROM recording_files WHERE recording_id = ?1",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(StoredFile {
                kind: kind_from(&r.get::<_, String>(0)?),
                order_id: r.get(1)?,
                seq: r.get(2)?,
                key: r.get(3)?,
                bytes: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const SUMMARY_COLUMNS: &str = "id, project_id, agent_id, contact, direction, started_at, duration_ms, has_audio, receipts, expires_at";

fn summary(r: &Row<'_>) -> rusqlite::Result<RecordingSummary> {
    let id: String = r.get(0)?;
    Ok(RecordingSummary {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        project_id: r.get(1)?,
        agent_id: r.get(2)?,
        contact: r.get(3)?,
        direction: r.get(4)?,
        started_at: from_ms(r.get(5)?),
        duration_ms: r.get::<_, i64>(6)?.try_into().unwrap_or(0),
        has_audio: r.get(7)?,
        receipts: r.get(8)?,
        expires_at: from_ms(r.get(9)?),
    })
}

impl Database for SqliteDb {
    fn user_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        Ok(n.try_into().unwrap_or(0))
    }

    fn insert_user(&self, user: &User) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO users (id, username, password_hash, role) VALUES (?1, ?2, ?3, ?4)",
            params![user.id, user.username, user.password_hash, user.role.name()],
        )?;
        if inserted == 0 {
            return Err(AppError::conflict(
                "username_taken",
                format!("a user named {:?} exists already", user.username),
            ));
        }
        Self::set_memberships(&tx, user)?;
        tx.commit()?;
        Ok(())
    }

    fn update_user(&self, user: &User) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let clash: Option<String> = tx
            .query_row(
                "SELECT id FROM users WHERE username = ?1 AND id != ?2",
                params![user.username, user.id],
                |r| r.get(0),
            )
            .optional()?;
        if clash.is_some() {
            return Err(AppError::conflict(
                "username_taken",
                format!("a user named {:?} exists already", user.username),
            ));
        }
        let before: Option<(String, String)> = tx
            .query_row(
                "SELECT password_hash, role FROM users WHERE id = ?1",
                [&user.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        tx.execute(
            "UPDATE users SET username = ?2, password_hash = ?3, role = ?4 WHERE id = ?1",
            params![user.id, user.username, user.password_hash, user.role.name()],
        )?;
        Self::set_memberships(&tx, user)?;
        // A changed role or password ends every session of the user.
        if before.is_some_and(|(hash, role)| hash != user.password_hash || role != user.role.name())
        {
            tx.execute("DELETE FROM tokens WHERE user_id = ?1", [&user.id])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn delete_user(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()?
            .execute("DELETE FROM users WHERE id = ?1", [id])?
            > 0)
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT id, username, password_hash, role FROM users WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|row| Self::user_from(&conn, row)).transpose()
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT id, username, password_hash, role FROM users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|row| Self::user_from(&conn, row)).transpose()
    }

    fn users(&self) -> Result<Vec<User>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT id, username, password_hash, role FROM users ORDER BY username")?;
        let rows: Vec<(String, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|row| Self::user_from(&conn, row))
            .collect()
    }

    fn insert_token(
        &self,
        hash: &str,
        user_id: &str,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO tokens (hash, user_id, expires_at, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![hash, user_id, ms(expires_at), ms(created_at)],
            )
        })?;
        Ok(())
    }

    fn token_user(
        &self,
        hash: &str,
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> Result<Option<User>> {
        let user_id: Option<(String, i64)> = self
            .conn()?
            .query_row(
                "SELECT user_id, last_used_at FROM tokens WHERE hash = ?1 AND expires_at > ?2 AND last_used_at > ?3",
                params![hash, ms(now), ms(idle_since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        // Use is noted at most once a minute: a busy session is not a write per request.
        if let Some((_, last)) = &user_id
            && ms(now) - last > TOUCH_EVERY_MS
        {
            self.write(|conn| {
                conn.execute(
                    "UPDATE tokens SET last_used_at = ?2 WHERE hash = ?1",
                    params![hash, ms(now)],
                )
            })?;
        }
        match user_id {
            Some((id, _)) => self.user(&id),
            None => Ok(None),
        }
    }

    fn delete_token(&self, hash: &str) -> Result<bool> {
        Ok(self.write(|conn| conn.execute("DELETE FROM tokens WHERE hash = ?1", [hash]))? > 0)
    }

    fn purge_tokens(&self, now: OffsetDateTime, idle_since: OffsetDateTime) -> Result<u64> {
        Ok(self.conn()?.execute(
            "DELETE FROM tokens WHERE expires_at <= ?1 OR last_used_at <= ?2",
            params![ms(now), ms(idle_since)],
        )? as u64)
    }

    fn global_settings(&self) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT json FROM settings WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    fn set_global_settings(&self, json: &str) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO settings (id, json) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            [json],
        )?;
        Ok(())
    }

    fn projects(&self) -> Result<Vec<ProjectRow>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT id, name, settings_json FROM projects ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(ProjectRow {
                id: r.get(0)?,
                name: r.get(1)?,
                settings_json: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn project(&self, id: &str) -> Result<Option<ProjectRow>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT id, name, settings_json FROM projects WHERE id = ?1",
                [id],
                |r| {
                    Ok(ProjectRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        settings_json: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn insert_project(&self, p: &ProjectRow) -> Result<()> {
        let n = self.conn()?.execute(
            "INSERT OR IGNORE INTO projects (id, name, settings_json) VALUES (?1, ?2, ?3)",
            params![p.id, p.name, p.settings_json],
        )?;
        if n == 0 {
            return Err(AppError::conflict(
                "project_exists",
                format!("a project with id {:?} exists already", p.id),
            ));
        }
        Ok(())
    }

    fn update_project(&self, p: &ProjectRow) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE projects SET name = ?2, settings_json = ?3 WHERE id = ?1",
            params![p.id, p.name, p.settings_json],
        )? > 0)
    }

    fn delete_project(&self, id: &str, now: OffsetDateTime) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let deleted = tx.execute("DELETE FROM projects WHERE id = ?1", [id])? > 0;
        // Nobody belongs to (or supervises) a project that is gone, nor to one re-created
        // later with the same id; its policy is in force no longer.
        tx.execute("DELETE FROM memberships WHERE project_id = ?1", [id])?;
        tx.execute(
            "UPDATE policy_periods SET until = ?2 WHERE project_id = ?1 AND until IS NULL",
            params![id, ms(now)],
        )?;
        tx.commit()?;
        Ok(deleted)
    }

    fn note_policy(
        &self,
        version: &str,
        project_id: &str,
        policy_json: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO policy_versions (version, project_id, policy_json) VALUES (?1, ?2, ?3)",
            params![version, project_id, policy_json],
        )?;
        let open: Option<String> = tx
            .query_row(
                "SELECT version FROM policy_periods WHERE project_id = ?1 AND until IS NULL",
                [project_id],
                |r| r.get(0),
            )
            .optional()?;
        if open.as_deref() != Some(version) {
            tx.execute(
                "UPDATE policy_periods SET until = ?2 WHERE project_id = ?1 AND until IS NULL",
                params![project_id, ms(now)],
            )?;
            tx.execute(
                "INSERT INTO policy_periods (project_id, version, since) VALUES (?1, ?2, ?3)",
                params![project_id, version, ms(now)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn policy_periods(&self, project_id: &str, version: &str) -> Result<Vec<PolicyPeriod>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT since, until FROM policy_periods WHERE project_id = ?1 AND version = ?2 ORDER BY since",
        )?;
        let rows = stmt.query_map(params![project_id, version], |r| {
            Ok(PolicyPeriod {
                since: from_ms(r.get(0)?),
                until: r.get::<_, Option<i64>>(1)?.map(from_ms),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn insert_offer(&self, offer: &Offer) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO offered_calls (id, agent_id, project_id, contact, direction, consent, offered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                offer.id.to_string(),
                offer.agent_id,
                offer.project_id,
                offer.contact,
                offer.direction.name(),
                offer.consent.name(),
                ms(offer.offered_at)
            ],
        )?;
        Ok(())
    }

    fn offer(&self, id: &Uuid) -> Result<Option<Offer>> {
        let row: Option<(String, String, Option<String>, String, String, i64)> = self
            .conn()?
            .query_row(
                "SELECT agent_id, project_id, contact, direction, consent, offered_at FROM offered_calls WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        row.map(|(agent_id, project_id, contact, direction, consent, at)| {
            Ok(Offer {
                id: *id,
                agent_id,
                project_id,
                contact,
                direction: callrec_policy::Direction::from_name(&direction)
                    .ok_or_else(|| corrupt("offer direction"))?,
                consent: callrec_policy::Consent::from_name(&consent)
                    .ok_or_else(|| corrupt("offer consent"))?,
                offered_at: from_ms(at),
            })
        })
        .transpose()
    }

    fn purge_offers(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self.conn()?.execute(
            "DELETE FROM offered_calls WHERE offered_at < ?1",
            [ms(before)],
        )? as u64)
    }

    fn policy_version(&self, version: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT project_id, policy_json FROM policy_versions WHERE version = ?1",
                [version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn upload(&self, call_id: &Uuid) -> Result<Option<Upload>> {
        let conn = self.conn()?;
        let id = call_id.to_string();
        let head: Option<(String, String, String, bool, i64)> = conn
            .query_row(
                "SELECT uploader, manifest_json, summary_json, complete, started_at FROM uploads WHERE call_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((uploader, manifest_json, summary_json, complete, started_at)) = head else {
            return Ok(None);
        };
        let mut stmt = conn.prepare_cached(
            "SELECT kind, order_id, seq, bytes, sha256, received, verified FROM upload_files WHERE call_id = ?1 ORDER BY idx",
        )?;
        let files = stmt
            .query_map([&id], |r| {
                Ok(UploadFile {
                    kind: kind_from(&r.get::<_, String>(0)?),
                    order_id: r.get(1)?,
                    seq: r.get(2)?,
                    bytes: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    sha256: r.get(4)?,
                    received: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
                    verified: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let summary = serde_json::from_str(&summary_json).map_err(|_| corrupt("upload summary"))?;
        Ok(Some(Upload {
            call_id: *call_id,
            uploader,
            manifest_json,
            summary,
            files,
            complete,
            started_at: from_ms(started_at),
        }))
    }

    fn insert_upload(&self, u: &Upload) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let summary =
            serde_json::to_string(&u.summary).map_err(|e| AppError::Internal(e.to_string()))?;
        let bytes: u64 = u.files.iter().map(|f| f.bytes).sum();
        tx.execute(
            "INSERT INTO uploads (call_id, uploader, manifest_json, summary_json, complete, expires_at, started_at, active_at, bytes) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?6, ?7)",
            params![u.call_id.to_string(), u.uploader, u.manifest_json, summary, ms(u.summary.expires_at), ms(u.started_at), i64::try_from(bytes).unwrap_or(i64::MAX)],
        )?;
        for (i, f) in u.files.iter().enumerate() {
            tx.execute(
                "INSERT INTO upload_files (call_id, idx, kind, order_id, seq, bytes, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![u.call_id.to_string(), i, kind_name(f.kind), f.order_id, f.seq, i64::try_from(f.bytes).unwrap_or(i64::MAX), f.sha256],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn set_received(
        &self,
        call_id: &Uuid,
        index: usize,
        received: u64,
        verified: bool,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE upload_files SET received = ?3, verified = ?4 WHERE call_id = ?1 AND idx = ?2",
            params![
                call_id.to_string(),
                index,
                i64::try_from(received).unwrap_or(i64::MAX),
                verified
            ],
        )?;
        tx.execute(
            "UPDATE uploads SET active_at = ?2 WHERE call_id = ?1",
            params![call_id.to_string(), ms(OffsetDateTime::now_utc())],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn usage(&self, uploader: &str) -> Result<Usage> {
        let (bytes, open): (i64, i64) = self.conn()?.query_row(
            "SELECT COALESCE(SUM(bytes), 0), COALESCE(SUM(complete = 0), 0) FROM uploads WHERE uploader = ?1",
            [uploader],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Usage {
            bytes: bytes.try_into().unwrap_or(0),
            open_uploads: open.try_into().unwrap_or(0),
        })
    }

    fn abandoned_uploads(&self, idle_since: OffsetDateTime, limit: u32) -> Result<Vec<Upload>> {
        self.uploads_selected(
            "SELECT call_id FROM uploads WHERE complete = 0 AND active_at <= ?1 ORDER BY active_at LIMIT ?2",
            idle_since,
            limit,
        )
    }

    fn complete_upload(&self, call_id: &Uuid, rec: &Recording, receipts: &[Receipt]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        for r in receipts {
            super::artifacts::insert_receipt(&tx, r)?;
        }
        let s = &rec.summary;
        tx.execute(
            &format!("INSERT OR IGNORE INTO recordings ({SUMMARY_COLUMNS}, sidecar_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                s.id.to_string(), s.project_id, s.agent_id, s.contact, s.direction, ms(s.started_at),
                i64::try_from(s.duration_ms).unwrap_or(i64::MAX), s.has_audio, s.receipts, ms(s.expires_at), rec.sidecar_json
            ],
        )?;
        for f in &rec.files {
            tx.execute(
                "INSERT INTO recording_files (recording_id, kind, order_id, seq, blob_key, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.id.to_string(), kind_name(f.kind), f.order_id, f.seq, f.key, i64::try_from(f.bytes).unwrap_or(i64::MAX)],
            )?;
        }
        tx.execute(
            "UPDATE uploads SET complete = 1 WHERE call_id = ?1",
            [call_id.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn recording(&self, id: &Uuid) -> Result<Option<Recording>> {
        let conn = self.conn()?;
        let key = id.to_string();
        let row = conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS}, sidecar_json FROM recordings WHERE id = ?1"),
                [&key],
                |r| Ok((summary(r)?, r.get::<_, String>(10)?)),
            )
            .optional()?;
        let Some((summary, sidecar_json)) = row else {
            return Ok(None);
        };
        let files = Self::files_of(&conn, &key)?;
        Ok(Some(Recording {
            summary,
            sidecar_json,
            files,
        }))
    }

    fn list(&self, q: &ListQuery) -> Result<Vec<RecordingSummary>> {
        let mut query = Query::new(&format!("SELECT {SUMMARY_COLUMNS} FROM recordings"));
        query.scope(&q.scope);
        query.and_if("project_id", q.project.clone());
        query.and_if("agent_id", q.agent.clone());
        query.and_if("contact", q.contact.clone());
        if let Some(from) = q.from {
            query.and("started_at >= ?", ms(from));
        }
        if let Some(to) = q.to {
            query.and("started_at < ?", ms(to));
        }
        let (sql, args) = query.newest_first(q.after, q.limit);
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), summary)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn expired(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Recording>> {
        let ids = self.ids(
            &format!(
                "SELECT id FROM recordings r WHERE expires_at <= ?1 AND NOT {HELD} ORDER BY expires_at LIMIT ?2",
                HELD = held_clause("r.id", "r.contact")
            ),
            now,
            limit,
        )?;
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.recording(&id)?);
        }
        Ok(out)
    }

    fn delete_recording(&self, id: &Uuid) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM recordings WHERE id = ?1", [id.to_string()])?;
        tx.execute("DELETE FROM uploads WHERE call_id = ?1", [id.to_string()])?;
        tx.commit()?;
        Ok(())
    }

    fn expired_uploads(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Upload>> {
        self.uploads_selected(
            "SELECT call_id FROM uploads WHERE complete = 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
            now,
            limit,
        )
    }

    fn audit(&self, e: &NewAudit<'_>) -> Result<()> {
        let detail = e.detail.to_string();
        self.write(|conn| {
            conn.execute(
                "INSERT INTO audit (at, actor, action, target, detail_json) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![ms(OffsetDateTime::now_utc()), e.actor, e.action, e.target, detail],
            )
        })?;
        Ok(())
    }

    fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut query = Query::new("SELECT id, at, actor, action, target, detail_json FROM audit");
        if let Some(after) = q.after {
            query.and("id > ?", after);
        }
        if let Some(before) = q.before {
            query.and("id < ?", before);
        }
        query.and_if("action", q.action.clone());
        query.and_if("actor", q.actor.clone());
        if let Some(from) = q.from {
            query.and("at >= ?", ms(from));
        }
        if let Some(to) = q.to {
            query.and("at < ?", ms(to));
        }
        // Newest first, unless reading forward from a known entry (tailing the log).
        let order = if q.after.is_some() { "ASC" } else { "DESC" };
        let (sql, args) = query.finish(&format!("ORDER BY id {order}"), q.limit);
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: from_ms(r.get(1)?),
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_is_upgraded_with_its_uploads_expiry() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("callrec.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(MIGRATIONS[0]).expect("v1 schema");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            conn.execute(
                "INSERT INTO uploads (call_id, uploader, manifest_json, summary_json) VALUES ('c', 'u', '{}', ?1)",
                [r#"{"expires_at": "2027-02-28T08:00:00Z"}"#],
            )
            .expect("row");
        }
        let db = SqliteDb::open(&path).expect("upgrade");
        let conn = db.conn().expect("conn");
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len());
        let expires: i64 = conn
            .query_row("SELECT expires_at FROM uploads", [], |r| r.get(0))
            .expect("row");
        assert_eq!(expires, 1_803_801_600_000, "2027-02-28T08:00:00Z in ms");
    }

    #[test]
    fn a_database_from_a_newer_callrec_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("callrec.db");
        Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "user_version", 99))
            .expect("future db");
        let err = SqliteDb::open(&path).err().expect("refused");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
