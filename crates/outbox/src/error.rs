//! Outbox errors: each says what failed and in which database, folder or file.

use std::path::PathBuf;

use uuid::Uuid;

use crate::entry::State;

/// Result alias for this crate.
pub type Result<T, E = OutboxError> = std::result::Result<T, E>;

/// What went wrong in the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite refused an operation (unreadable file, full disk, locked too long, ...).
    #[error("{action} in {db}: {source}")]
    Sqlite {
        /// What was being done.
        action: &'static str,
        /// The database file (`:memory:` for an in-memory outbox).
        db: PathBuf,
        /// Why it failed.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer callrec; opening it could damage it.
    #[error(
        "{db} has schema version {found}, newer than the version {known} this callrec knows; \
         use a newer callrec (the file was left untouched)"
    )]
    TooNew {
        /// The database file.
        db: PathBuf,
        /// Its `user_version`.
        found: i32,
        /// The newest version this code can migrate to.
        known: i32,
    },
    /// The file is a SQLite database, but not an outbox (another program's, or the server's).
    #[error("{db} is not a callrec outbox: {why}; choose another file")]
    NotOutbox {
        /// The database file.
        db: PathBuf,
        /// What gives it away.
        why: String,
    },
    /// The database holds a value this code cannot read back.
    #[error("{db} is damaged: {why}")]
    Corrupt {
        /// The database file.
        db: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A call folder has no `recording.json`: the recorder has not finished with it.
    #[error(
        "{dir} has no recording.json, so the recording is not complete; \
         if a crash interrupted it, run `callrec recover` on the folder first"
    )]
    NoSidecar {
        /// The call folder.
        dir: PathBuf,
    },
    /// A `recording.json` lacks what the outbox needs (`call_id`, `expires_at`).
    #[error("{path} is not a complete recording.json: {why}")]
    BadSidecar {
        /// The `recording.json` file.
        path: PathBuf,
        /// What is missing or malformed.
        why: String,
    },
    /// A file or folder could not be read or removed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A folder path that is not UTF-8 cannot be stored.
    #[error("{path} is not valid UTF-8; the outbox can only queue folders with UTF-8 paths")]
    NotUtf8 {
        /// The folder.
        path: PathBuf,
    },
    /// No entry has this call id.
    #[error("call {call_id} is not in the outbox {db}")]
    UnknownCall {
        /// The call asked for.
        call_id: Uuid,
        /// The database file.
        db: PathBuf,
    },
    /// The entry's state does not allow the operation (e.g. `uploaded` before `start_attempt`).
    #[error("cannot {action} call {call_id}: its outbox entry is {state}")]
    WrongState {
        /// The call.
        call_id: Uuid,
        /// The operation refused.
        action: &'static str,
        /// The entry's state.
        state: State,
    },
    /// An instant outside the years 0000..=9999 cannot be stored.
    #[error("{what} {value} cannot be stored: only years 0000 to 9999 can")]
    TimeRange {
        /// Which instant (`now`, `expires_at`, ...).
        what: &'static str,
        /// The instant.
        value: String,
    },
    /// Some expired recordings were deleted and others could not be.
    #[error(
        "{failed} expired recording(s) could not be deleted ({deleted} were); first failure: {first}",
        deleted = deleted.len()
    )]
    ExpiryIncomplete {
        /// The calls whose folders were deleted.
        deleted: Vec<Uuid>,
        /// How many could not be.
        failed: usize,
        /// The first failure.
        #[source]
        first: Box<OutboxError>,
    },
}

impl OutboxError {
    pub(crate) fn sql(
        action: &'static str,
        db: &std::path::Path,
    ) -> impl FnOnce(rusqlite::Error) -> Self {
        let db = db.to_owned();
        move |source| Self::Sqlite { action, db, source }
    }

    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
