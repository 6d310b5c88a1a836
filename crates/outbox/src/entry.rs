//! One queued call and the states it goes through.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::Row;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{OutboxError, Result};
use crate::stamp;

/// Where a call is on its way from this machine to the central store.
///
/// `queued` → `uploading` → `uploaded` → `deleted`; an attempt that fails goes back to
/// `queued` (to be retried) or to `failed` (permanent: kept, folder and all, for a person to
/// look at). Expiry takes any state to `deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its next attempt (`next_attempt_at`).
    Queued,
    /// An attempt started; left in this state by a crash, it is due again.
    Uploading,
    /// The central store confirmed it; the local folder is being deleted.
    Uploaded,
    /// The local folder is gone: uploaded, or expired (`last_error` says `expired`).
    Deleted,
    /// A permanent error stopped it; `last_error` says which.
    Failed,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 5] = [
        Self::Queued,
        Self::Uploading,
        Self::Uploaded,
        Self::Deleted,
        Self::Failed,
    ];

    /// The name stored in the database and printed in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Uploading => "uploading",
            Self::Uploaded => "uploaded",
            Self::Deleted => "deleted",
            Self::Failed => "failed",
        }
    }

    /// Whether the recording is still on this machine waiting for the central store (neither
    /// deleted nor given up on).
    pub fn is_pending(self) -> bool {
        !matches!(self, Self::Deleted | Self::Failed)
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call in the outbox. Instants are read back in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The call's id, from its `recording.json`.
    pub call_id: Uuid,
    /// The call folder (absolute).
    pub dir: PathBuf,
    /// Where it is in its lifecycle.
    pub state: State,
    /// Upload attempts started so far.
    pub attempts: u32,
    /// Why the last attempt failed, or `expired`; none after a successful upload.
    pub last_error: Option<String>,
    /// When it may next be attempted; none once uploaded, deleted or failed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When the last attempt started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the central store confirmed it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub uploaded_at: Option<OffsetDateTime>,
    /// When the recording must be deleted everywhere, uploaded or not.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// The columns [`Entry::from_row`] reads, in order.
pub(crate) const COLUMNS: &str = "call_id, dir, state, attempts, last_error, next_attempt_at, \
     last_attempt_at, created_at, uploaded_at, expires_at";

impl Entry {
    /// The entry in `row` (selected with [`COLUMNS`]) of the database `db`.
    pub(crate) fn from_row(db: &Path, row: &Row<'_>) -> Result<Self> {
        let text = |i: usize| -> Result<Option<String>> {
            row.get(i).map_err(OutboxError::sql("reading an entry", db))
        };
        let required = |i: usize| -> Result<String> {
            text(i)?.ok_or_else(|| corrupt(db, format!("column {i} of an entry is empty")))
        };
        let instant = |i: usize| -> Result<Option<OffsetDateTime>> {
            text(i)?.map(|t| stamp::decode(db, &t)).transpose()
        };
        let call_id = required(0)?;
        let call_id = Uuid::parse_str(&call_id)
            .map_err(|e| corrupt(db, format!("call id {call_id:?}: {e}")))?;
        let state = required(2)?;
        let state = State::parse(&state)
            .ok_or_else(|| corrupt(db, format!("call {call_id} has unknown state {state:?}")))?;
        let attempts: i64 = row
            .get(3)
            .map_err(OutboxError::sql("reading an entry", db))?;
        let attempts = u32::try_from(attempts)
            .map_err(|_| corrupt(db, format!("call {call_id} has {attempts} attempts")))?;
        Ok(Self {
            call_id,
            dir: PathBuf::from(required(1)?),
            state,
            attempts,
            last_error: text(4)?,
            next_attempt_at: instant(5)?,
            last_attempt_at: instant(6)?,
            created_at: stamp::decode(db, &required(7)?)?,
            uploaded_at: instant(8)?,
            expires_at: instant(9)?,
        })
    }
}

fn corrupt(db: &Path, why: String) -> OutboxError {
    OutboxError::Corrupt {
        db: db.to_owned(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use time::macros::datetime;

    #[rstest]
    fn every_state_reads_back_its_own_name(#[values(0, 1, 2, 3, 4)] i: usize) {
        let state = State::ALL[i];
        assert_eq!(State::parse(state.as_str()), Some(state));
        assert_eq!(
            serde_json::to_value(state).expect("serializes"),
            serde_json::json!(state.as_str())
        );
    }

    #[rstest]
    #[case(State::Queued, true)]
    #[case(State::Uploading, true)]
    #[case(State::Uploaded, true)]
    #[case(State::Deleted, false)]
    #[case(State::Failed, false)]
    fn pending_means_still_waiting_for_the_store(#[case] state: State, #[case] pending: bool) {
        assert_eq!(state.is_pending(), pending);
    }

    #[test]
    fn an_entry_prints_as_the_cli_shows_it() {
        let entry = Entry {
            call_id: Uuid::from_u128(7),
            dir: PathBuf::from("/data/recordings/7"),
            state: State::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: Some(datetime!(2025-03-01 09:30 UTC)),
            last_attempt_at: None,
            created_at: datetime!(2025-03-01 09:30 UTC),
            uploaded_at: None,
            expires_at: None,
        };
        let json = serde_json::to_value(&entry).expect("serializes");
        assert_eq!(json["call_id"], "00000000-0000-0000-0000-000000000007");
        assert_eq!(json["state"], "queued");
        assert_eq!(json["next_attempt_at"], "2025-03-01T09:30:00Z");
        assert_eq!(json["expires_at"], serde_json::Value::Null);
    }
}
