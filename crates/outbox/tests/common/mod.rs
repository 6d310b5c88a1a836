//! Shared fixtures: call folders as the recorder leaves them, and an outbox on a real
//! SQLite file in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use callrec_outbox::{Entry, Outbox, SIDECAR, State};
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// The instant every test starts from.
pub const T0: OffsetDateTime = datetime!(2025-03-01 09:00 UTC);

/// `T0` plus `m` minutes.
pub fn at(m: i64) -> OffsetDateTime {
    T0 + time::Duration::minutes(m)
}

/// The id of test call `n`.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A temporary folder holding `callrec.db` and `recordings/<call>/`, and the outbox open on
/// that file.
pub struct Machine {
    pub tmp: TempDir,
    pub db: PathBuf,
    pub outbox: Outbox,
}

impl Machine {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = tmp.path().join("callrec.db");
        let outbox = Outbox::open(&db).expect("open the outbox");
        Self { tmp, db, outbox }
    }

    /// Closes the outbox and opens the file again, as the next start of the app does.
    pub fn reopen(self) -> Self {
        let Self { tmp, db, outbox } = self;
        drop(outbox);
        let outbox = Outbox::open(&db).expect("reopen the outbox");
        Self { tmp, db, outbox }
    }

    /// Writes the folder of call `n` expiring at `expires_at`.
    pub fn call(&self, n: u128, expires_at: Option<OffsetDateTime>) -> PathBuf {
        call_folder(&self.tmp.path().join("recordings"), n, expires_at)
    }

    /// Writes and queues call `n` at `now`.
    pub fn queued(
        &self,
        n: u128,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Entry {
        let dir = self.call(n, expires_at);
        self.outbox.enqueue(&dir, now).expect("enqueue")
    }

    /// Call `n` queued at `T0` and taken to `state` through the public operations.
    pub fn in_state(&self, n: u128, state: State) -> Entry {
        let o = &self.outbox;
        self.queued(n, None, T0);
        let entry = match state {
            State::Queued => o.get(id(n)).expect("get").expect("queued"),
            State::Uploading => o.start_attempt(id(n), at(1)).expect("start"),
            State::Uploaded => unreachable!("`uploaded` passes straight on to `deleted`"),
            State::Deleted => {
                o.start_attempt(id(n), at(1)).expect("start");
                o.uploaded(id(n), at(2)).expect("uploaded")
            }
            State::Failed => {
                o.start_attempt(id(n), at(1)).expect("start");
                o.attempt_failed(id(n), "403 not your project", None)
                    .expect("fail")
            }
        };
        assert_eq!(entry.state, state);
        entry
    }

    pub fn state(&self, n: u128) -> State {
        self.outbox
            .get(id(n))
            .expect("get")
            .expect("in the outbox")
            .state
    }
}

/// Writes, under `root`, the folder of call `n` as the recorder completes it: the WAV files
/// and, last, `recording.json`.
pub fn call_folder(root: &Path, n: u128, expires_at: Option<OffsetDateTime>) -> PathBuf {
    let dir = root.join(id(n).to_string());
    std::fs::create_dir_all(dir.join("receipts")).expect("create the call folder");
    std::fs::write(dir.join("recording.wav"), b"RIFF....WAVE").expect("write wav");
    std::fs::write(dir.join("receipts/A-17-1.wav"), b"RIFF....WAVE").expect("write receipt");
    let expires_at = expires_at.map(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    });
    let sidecar = serde_json::json!({
        "format": 1,
        "call_id": id(n),
        "project_id": "sales-fr",
        "agent": "agent-1",
        "holding_months": 3,
        "expires_at": expires_at,
        "outcome": "kept",
    });
    std::fs::write(dir.join(SIDECAR), sidecar.to_string()).expect("write recording.json");
    dir
}
