//! Disk space for the embedded store: uploads never eat into a reserve kept for the database,
//! and a ballast file holds back a little more, released the moment a database write finds
//! the disk full (something else filled it), so signing in, listening and the audit log go
//! on while uploads wait for room.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;

use crate::error::{AppError, Result};

/// The ballast's name in the data folder.
const BALLAST: &str = "reserve.bin";

/// The free space of one data folder.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    root: PathBuf,
    reserve: u64,
    ballast_bytes: u64,
}

/// Free bytes for an unprivileged writer on the file system holding `path`, where the
/// platform says (`None` elsewhere).
pub fn available(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stat = rustix::fs::statvfs(path).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn insufficient(message: String) -> AppError {
    AppError::client(
        StatusCode::INSUFFICIENT_STORAGE,
        "insufficient_storage",
        message,
    )
}

impl Space {
    /// The data folder `root`, keeping `reserve` bytes free of uploads and `ballast_bytes` in a
    /// ballast file (made now, if there is room).
    pub(crate) fn new(root: &Path, reserve: u64, ballast_bytes: u64) -> Self {
        let space = Self {
            root: root.to_owned(),
            reserve,
            ballast_bytes,
        };
        space.refill();
        space
    }

    /// Refuses (507) `incoming` more bytes of audio unless the reserve stays free after them.
    pub(crate) fn check_room(&self, incoming: u64) -> Result<()> {
        let Some(free) = available(&self.root) else {
            return Ok(());
        };
        if free < incoming.saturating_add(self.reserve) {
            return Err(insufficient(format!(
                "the store's disk is nearly full ({} MiB free, {} MiB needed plus {} MiB kept for the database); the upload waits until an administrator makes room",
                free >> 20,
                incoming.div_ceil(1 << 20),
                self.reserve >> 20
            )));
        }
        Ok(())
    }

    /// Gives the ballast's space back to the file system; true when there was one.
    pub(crate) fn release(&self) -> bool {
        let released = std::fs::remove_file(self.root.join(BALLAST)).is_ok();
        if released {
            tracing::error!(
                data = %self.root.display(),
                "the disk is full: the ballast was released so the database can go on; uploads wait for room"
            );
        }
        released
    }

    /// Makes the ballast again once there is room for it beside the reserve.
    pub(crate) fn refill(&self) {
        let path = self.root.join(BALLAST);
        if self.ballast_bytes == 0 || path.exists() {
            return;
        }
        let Some(free) = available(&self.root) else {
            return;
        };
        if free < self.ballast_bytes.saturating_add(self.reserve) {
            return;
        }
        // Written, not set_len: a sparse file would hold no space back.
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&path)?;
            let block = vec![0u8; 1 << 20];
            let mut left = self.ballast_bytes;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                file.write_all(&block[..n])?;
                left -= n as u64;
            }
            file.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&path);
            tracing::warn!(error = %e, "cannot make the disk space ballast");
        }
    }
}

/// Whether an error is a full disk (SQLite's or the file system's).
pub(crate) fn is_full(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull
    )
}

/// The answer to a write that found the disk full.
pub(crate) fn full_disk() -> AppError {
    insufficient(
        "the store's disk is full; nothing was changed. Uploads wait until an administrator makes room"
            .into(),
    )
}
