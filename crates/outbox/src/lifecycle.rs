//! An entry's way through the states: attempts, confirmation, local deletion and expiry.
//!
//! A call folder is removed from this machine in two cases only: the central store has
//! confirmed the upload ([`Outbox::uploaded`]), or the recording has expired
//! ([`Outbox::sweep_expired`], [`Outbox::expired`]). The folder is removed before its entry
//! says `deleted`, so a crash in between leaves an entry that removes it again, never an
//! entry that forgot a folder.

use std::path::Path;

use rusqlite::{ToSql, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entry::{COLUMNS, Entry, State};
use crate::error::{OutboxError, Result};
use crate::outbox::Outbox;
use crate::stamp;

/// Why an expired entry was deleted, in its `last_error`.
pub const EXPIRED: &str = "expired";

impl Outbox {
    /// An upload attempt of `call_id` starts at `now`: the entry becomes `uploading` and
    /// counts one more attempt. Allowed from `queued`, or `uploading` (a crash interrupted
    /// the previous attempt).
    pub fn start_attempt(&self, call_id: Uuid, now: OffsetDateTime) -> Result<Entry> {
        self.step(
            call_id,
            "start an upload attempt of",
            &[State::Queued, State::Uploading],
            "state = 'uploading', attempts = attempts + 1, last_attempt_at = ?3",
            &[&stamp::encode("now", now)?],
        )
    }

    /// The attempt in progress failed with `error`: retried at `retry_at` (back to
    /// `queued`), or, with no `retry_at`, given up on (`failed`, folder kept for a person to
    /// look at).
    pub fn attempt_failed(
        &self,
        call_id: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<Entry> {
        let (state, retry_at) = match retry_at {
            Some(t) => (State::Queued, Some(stamp::encode("retry_at", t)?)),
            None => (State::Failed, None),
        };
        self.step(
            call_id,
            "record a failed attempt of",
            &[State::Uploading],
            "state = ?3, last_error = ?4, next_attempt_at = ?5",
            &[&state.as_str(), &error, &retry_at],
        )
    }

    /// A person asks to try a `failed` (or waiting) entry again now, e.g. once an admin has
    /// fixed what the store refused: back to `queued`, due at `now`, its last error kept.
    pub fn retry(&self, call_id: Uuid, now: OffsetDateTime) -> Result<Entry> {
        self.step(
            call_id,
            "retry",
            &[State::Failed, State::Queued],
            "state = 'queued', next_attempt_at = ?3",
            &[&stamp::encode("now", now)?],
        )
    }

    /// The central store confirmed `call_id` at `now`: the entry becomes `uploaded`, its
    /// folder is removed (one already gone is fine), then it becomes `deleted`.
    ///
    /// Calling it again on an `uploaded` entry (its folder could not be removed) tries the
    /// removal again; on a `deleted` entry it changes nothing.
    pub fn uploaded(&self, call_id: Uuid, now: OffsetDateTime) -> Result<Entry> {
        let entry = self.require(call_id)?;
        if entry.state == State::Deleted {
            return Ok(entry);
        }
        let entry = self.step(
            call_id,
            "confirm the upload of",
            &[State::Uploading, State::Uploaded],
            "state = 'uploaded', uploaded_at = coalesce(uploaded_at, ?3), \
             next_attempt_at = NULL, last_error = NULL",
            &[&stamp::encode("now", now)?],
        )?;
        remove_folder(&entry.dir)?;
        self.step(
            call_id,
            "delete",
            &[State::Uploaded],
            "state = 'deleted'",
            &[],
        )
    }

    /// The central store says `call_id` has expired (HTTP 410): its folder is removed and
    /// the entry becomes `deleted` with `last_error` [`EXPIRED`], whatever its state.
    pub fn expired(&self, call_id: Uuid) -> Result<Entry> {
        let entry = self.require(call_id)?;
        if entry.state == State::Deleted {
            return Ok(entry);
        }
        self.expire(&entry)
    }

    /// Removes every recording whose `expires_at` is at or before `now`, uploaded or not,
    /// and returns their calls, earliest expiry first.
    ///
    /// One folder that cannot be removed does not stop the others: the sweep goes on, then
    /// reports [`OutboxError::ExpiryIncomplete`]; that entry stays as it was, to be swept
    /// again.
    pub fn sweep_expired(&self, now: OffsetDateTime) -> Result<Vec<Uuid>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM entries
             WHERE state <> 'deleted' AND expires_at <= ?1
             ORDER BY expires_at, call_id"
        );
        let expired = self.select(&sql, params![stamp::encode("now", now)?])?;
        let mut deleted = Vec::with_capacity(expired.len());
        let mut failures = Vec::new();
        for entry in expired {
            match self.expire(&entry) {
                Ok(_) => deleted.push(entry.call_id),
                Err(e) => failures.push(e),
            }
        }
        let failed = failures.len();
        match failures.into_iter().next() {
            None => Ok(deleted),
            Some(first) => Err(OutboxError::ExpiryIncomplete {
                deleted,
                failed,
                first: Box::new(first),
            }),
        }
    }

    fn expire(&self, entry: &Entry) -> Result<Entry> {
        remove_folder(&entry.dir)?;
        self.step(
            entry.call_id,
            "expire",
            &[
                State::Queued,
                State::Uploading,
                State::Uploaded,
                State::Failed,
            ],
            "state = 'deleted', last_error = ?3, next_attempt_at = NULL",
            &[&EXPIRED],
        )
    }

    /// Moves `call_id` from one of the states `from` by the SQL `assignments`, in which
    /// `?3`, `?4`, ... are `values`. The update applies only if the state is still the one
    /// read, so a concurrent change is reported rather than overwritten.
    fn step(
        &self,
        call_id: Uuid,
        action: &'static str,
        from: &[State],
        assignments: &str,
        values: &[&dyn ToSql],
    ) -> Result<Entry> {
        let entry = self.require(call_id)?;
        let wrong_state = |state| OutboxError::WrongState {
            call_id,
            action,
            state,
        };
        if !from.contains(&entry.state) {
            return Err(wrong_state(entry.state));
        }
        let (id, state) = (call_id.to_string(), entry.state.as_str());
        let mut params: Vec<&dyn ToSql> = vec![&id, &state];
        params.extend_from_slice(values);
        let changed = self
            .conn
            .execute(
                &format!("UPDATE entries SET {assignments} WHERE call_id = ?1 AND state = ?2"),
                params.as_slice(),
            )
            .map_err(OutboxError::sql("updating an entry", &self.db))?;
        let after = self.require(call_id)?;
        if changed == 0 {
            return Err(wrong_state(after.state));
        }
        Ok(after)
    }
}

/// Removes a call folder and everything in it; one already gone is fine.
fn remove_folder(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OutboxError::io("deleting the call folder", dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_folder_already_gone_is_fine_and_a_file_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let call = tmp.path().join("call");
        std::fs::create_dir_all(call.join("receipts")).expect("mkdir");
        std::fs::write(call.join("receipts/A-1.wav"), b"RIFF").expect("write");
        remove_folder(&call).expect("remove");
        assert!(!call.exists());
        remove_folder(&call).expect("already gone");

        std::fs::write(&call, b"a file").expect("write");
        let err = remove_folder(&call).expect_err("not a folder");
        assert!(
            err.to_string().contains("deleting the call folder"),
            "{err}"
        );
        assert!(call.exists());
    }
}
