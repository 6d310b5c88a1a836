//! The embedded store's receipts, legal holds, erasures and re-dating (the [`Artifacts`]
//! half of its metadata).

use callrec_protocol::{Erasure, Hold, Subject};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sqlite::{Query, SqliteDb, corrupt, from_ms, held_clause, ms};
use super::{Artifacts, Dated, Receipt, ReceiptQuery};
use crate::error::{AppError, Result};

const RECEIPT_COLUMNS: &str = "id, call_id, project_id, agent_id, contact, order_id, seq, customer, started_at, from_ms, to_ms, expires_at, blob_key, bytes";

fn uuid(text: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| corrupt(what))
}

fn receipt_row(r: &Row<'_>) -> rusqlite::Result<(Receipt, String, String)> {
    let id: String = r.get(0)?;
    let call: String = r.get(1)?;
    Ok((
        Receipt {
            id: Uuid::nil(),
            call_id: Uuid::nil(),
            project_id: r.get(2)?,
            agent_id: r.get(3)?,
            contact: r.get(4)?,
            order_id: r.get(5)?,
            seq: r.get(6)?,
            customer: r.get(7)?,
            started_at: from_ms(r.get(8)?),
            from_ms: r.get::<_, i64>(9)?.try_into().unwrap_or(0),
            to_ms: r.get::<_, i64>(10)?.try_into().unwrap_or(0),
            expires_at: from_ms(r.get(11)?),
            key: r.get(12)?,
            bytes: r.get::<_, i64>(13)?.try_into().unwrap_or(0),
        },
        id,
        call,
    ))
}

/// Reads the receipts `sql` selects (its columns [`RECEIPT_COLUMNS`]).
fn receipts(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Receipt>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, receipt_row)?;
    rows.map(|row| {
        let (mut receipt, id, call) = row?;
        receipt.id = uuid(&id, "receipt id")?;
        receipt.call_id = uuid(&call, "receipt call id")?;
        Ok(receipt)
    })
    .collect()
}

/// Stores one receipt (inside the upload's transaction).
pub(super) fn insert_receipt(conn: &Connection, r: &Receipt) -> Result<()> {
    conn.execute(
        &format!("INSERT OR IGNORE INTO receipts ({RECEIPT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            r.id.to_string(),
            r.call_id.to_string(),
            r.project_id,
            r.agent_id,
            r.contact,
            r.order_id,
            r.seq,
            r.customer,
            ms(r.started_at),
            i64::try_from(r.from_ms).unwrap_or(i64::MAX),
            i64::try_from(r.to_ms).unwrap_or(i64::MAX),
            ms(r.expires_at),
            r.key,
            i64::try_from(r.bytes).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

fn subject_parts(subject: &Subject) -> (&'static str, String) {
    match subject {
        Subject::Recording(id) => ("recording", id.to_string()),
        Subject::Contact(c) => ("contact", c.clone()),
    }
}

fn subject_from(kind: &str, target: String) -> Result<Subject> {
    match kind {
        "recording" => Ok(Subject::Recording(uuid(&target, "hold target")?)),
        "contact" => Ok(Subject::Contact(target)),
        _ => Err(corrupt("hold kind")),
    }
}

fn json_ids(ids: &[Uuid]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| AppError::Internal(e.to_string()))
}

impl Artifacts for SqliteDb {
    fn receipt(&self, id: &Uuid) -> Result<Option<Receipt>> {
        Ok(receipts(
            &*self.conn()?,
            &format!("SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = ?1"),
            [id.to_string()],
        )?
        .pop())
    }

    fn receipt_of_take(&self, call: &Uuid, order_id: &str, seq: u32) -> Result<Option<Receipt>> {
        Ok(receipts(
            &*self.conn()?,
            &format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE call_id = ?1 AND order_id = ?2 AND seq = ?3"
            ),
            params![call.to_string(), order_id, seq],
        )?
        .pop())
    }

    fn list_receipts(&self, q: &ReceiptQuery) -> Result<Vec<Receipt>> {
        let mut query = Query::new(&format!("SELECT {RECEIPT_COLUMNS} FROM receipts"));
        query.scope(&q.scope);
        query.and_if("order_id", q.order_id.clone());
        query.and_if("contact", q.contact.clone());
        query.and_if("project_id", q.project.clone());
        let (sql, args) = query.newest_first(q.after, q.limit);
        receipts(&*self.conn()?, &sql, rusqlite::params_from_iter(args))
    }

    fn receipts_of_call(&self, call: &Uuid) -> Result<Vec<Receipt>> {
        receipts(
            &*self.conn()?,
            &format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE call_id = ?1 ORDER BY from_ms, seq"
            ),
            [call.to_string()],
        )
    }

    fn expired_receipts(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Receipt>> {
        receipts(
            &*self.conn()?,
            &format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts r WHERE expires_at <= ?1 AND NOT {HELD} ORDER BY expires_at LIMIT ?2",
                HELD = held_clause("r.call_id", "r.contact")
            ),
            params![ms(now), limit],
        )
    }

    fn delete_receipt(&self, id: &Uuid) -> Result<()> {
        self.conn()?
            .execute("DELETE FROM receipts WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }

    fn insert_hold(&self, hold: &Hold) -> Result<()> {
        let (kind, target) = subject_parts(&hold.target);
        self.conn()?.execute(
            "INSERT INTO holds (id, kind, target, reason, placed_by, placed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![hold.id.to_string(), kind, target, hold.reason, hold.placed_by, ms(hold.placed_at)],
        )?;
        Ok(())
    }

    fn lift_hold(
        &self,
        id: &Uuid,
        by: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Hold>> {
        let conn = self.conn()?;
        let lifted = conn.execute(
            "UPDATE holds SET lifted_by = ?2, lifted_at = ?3, lift_reason = ?4 WHERE id = ?1 AND lifted_at IS NULL",
            params![id.to_string(), by, ms(at), reason],
        )?;
        if lifted == 0 {
            return Ok(None);
        }
        hold_by_id(&conn, id)
    }

    fn holds(&self, active_only: bool) -> Result<Vec<Hold>> {
        let conn = self.conn()?;
        let sql = if active_only {
            "SELECT id, kind, target, reason, placed_by, placed_at, lifted_at, lifted_by, lift_reason FROM holds WHERE lifted_at IS NULL ORDER BY placed_at DESC"
        } else {
            "SELECT id, kind, target, reason, placed_by, placed_at, lifted_at, lifted_by, lift_reason FROM holds ORDER BY placed_at DESC"
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], hold_row)?;
        rows.map(|row| row?).collect()
    }

    fn held(&self, call: &Uuid, contact: Option<&str>) -> Result<bool> {
        Ok(self.conn()?.query_row(
            &format!("SELECT {}", held_clause("?1", "?2")),
            params![call.to_string(), contact],
            |r| r.get(0),
        )?)
    }

    fn calls_of_contact(&self, contact: &str) -> Result<Vec<Uuid>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT id FROM recordings WHERE contact = ?1")?;
        let rows = stmt.query_map([contact], |r| r.get::<_, String>(0))?;
        rows.map(|id| uuid(&id?, "recording id")).collect()
    }

    fn open_uploads_of_contact(&self, contact: &str) -> Result<Vec<Uuid>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT call_id FROM uploads WHERE complete = 0 AND json_extract(summary_json, '$.contact') = ?1",
        )?;
        let rows = stmt.query_map([contact], |r| r.get::<_, String>(0))?;
        rows.map(|id| uuid(&id?, "upload id")).collect()
    }

    fn erased(
        &self,
        call: &Uuid,
        contact: Option<&str>,
        started_at: OffsetDateTime,
    ) -> Result<bool> {
        Ok(self.conn()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM erasures WHERE (kind = 'recording' AND target = ?1)
                 OR (kind = 'contact' AND target = ?2 AND erased_at > ?3))",
            params![call.to_string(), contact, ms(started_at)],
            |r| r.get(0),
        )?)
    }

    fn receipt_calls_of_contact(&self, contact: &str) -> Result<Vec<Uuid>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT DISTINCT call_id FROM receipts WHERE contact = ?1")?;
        let rows = stmt.query_map([contact], |r| r.get::<_, String>(0))?;
        rows.map(|id| uuid(&id?, "receipt call id")).collect()
    }

    fn insert_erasure(&self, erasure: &Erasure) -> Result<()> {
        let (kind, target) = subject_parts(&erasure.subject);
        self.conn()?.execute(
            "INSERT INTO erasures (kind, target, erased_at, call_ids_json, held_json) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind, target, ms(erasure.erased_at), json_ids(&erasure.call_ids)?, json_ids(&erasure.held)?],
        )?;
        Ok(())
    }

    fn erasures_since(&self, since: OffsetDateTime) -> Result<Vec<Erasure>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT kind, target, erased_at, call_ids_json, held_json FROM erasures WHERE erased_at >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([ms(since)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (kind, target, at, ids, held) = row?;
            let parse = |json: &str| -> Result<Vec<Uuid>> {
                serde_json::from_str(json).map_err(|_| corrupt("erasure ids"))
            };
            Ok(Erasure {
                subject: subject_from(&kind, target)?,
                erased_at: from_ms(at),
                call_ids: parse(&ids)?,
                held: parse(&held)?,
            })
        })
        .collect()
    }

    fn recording_dates(&self, project: &str) -> Result<Vec<Dated>> {
        dates(
            &*self.conn()?,
            "SELECT id, started_at, expires_at FROM recordings WHERE project_id = ?1",
            project,
        )
    }

    fn receipt_dates(&self, project: &str) -> Result<Vec<Dated>> {
        dates(
            &*self.conn()?,
            "SELECT id, started_at, expires_at FROM receipts WHERE project_id = ?1",
            project,
        )
    }

    fn set_expiries(&self, receipts: bool, expiries: &[(Uuid, OffsetDateTime)]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let sql = if receipts {
            "UPDATE receipts SET expires_at = ?2 WHERE id = ?1"
        } else {
            "UPDATE recordings SET expires_at = ?2 WHERE id = ?1"
        };
        for (id, at) in expiries {
            tx.execute(sql, params![id.to_string(), ms(*at)])?;
            if !receipts {
                // An unfinished upload of the call expires with it.
                tx.execute(
                    "UPDATE uploads SET expires_at = MIN(expires_at, ?2) WHERE call_id = ?1",
                    params![id.to_string(), ms(*at)],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn hold_row(r: &Row<'_>) -> rusqlite::Result<Result<Hold>> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let target: String = r.get(2)?;
    let lifted: Option<i64> = r.get(6)?;
    let (lifted_by, lift_reason): (Option<String>, Option<String>) = (r.get(7)?, r.get(8)?);
    let (reason, placed_by, placed_at): (String, String, i64) = (r.get(3)?, r.get(4)?, r.get(5)?);
    Ok((|| {
        Ok(Hold {
            id: uuid(&id, "hold id")?,
            target: subject_from(&kind, target)?,
            reason,
            placed_by,
            placed_at: from_ms(placed_at),
            lifted_at: lifted.map(from_ms),
            lifted_by,
            lift_reason,
        })
    })())
}

fn hold_by_id(conn: &Connection, id: &Uuid) -> Result<Option<Hold>> {
    conn.query_row(
        "SELECT id, kind, target, reason, placed_by, placed_at, lifted_at, lifted_by, lift_reason FROM holds WHERE id = ?1",
        [id.to_string()],
        hold_row,
    )
    .optional()?
    .transpose()
}

fn dates(conn: &Connection, sql: &str, project: &str) -> Result<Vec<Dated>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([project], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (id, started, expires) = row?;
        Ok(Dated {
            id: uuid(&id, "id")?,
            started_at: from_ms(started),
            expires_at: from_ms(expires),
        })
    })
    .collect()
}
