//! What every handler shares.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::db::{BlobStore, Database, FsBlobs, SqliteDb};
use crate::error::{AppError, Result};
use crate::space::Space;
use crate::throttle::{Listens, LoginGuard, Passwords};

/// Settings of a running store.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often the retention sweeper runs.
    pub sweep_every: Duration,
    /// How long a session lasts at most after sign-in.
    pub session_lifetime: Duration,
    /// How long a session lasts unused.
    pub session_idle: Duration,
    /// Bytes one uploader may hold in the store (its recordings and unfinished uploads).
    pub quota_per_user: u64,
    /// Unfinished uploads one uploader may have at once.
    pub open_uploads_per_user: u64,
    /// An unfinished upload with no chunk for this long is deleted.
    pub abandon_uploads_after: Duration,
    /// Free bytes uploads never take: the database's room.
    pub reserve_bytes: u64,
    /// Bytes held back in a ballast file, released when the disk fills anyway.
    pub ballast_bytes: u64,
    /// How far a recording's start may lie after the times the store saw (clocks differ).
    pub clock_skew: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sweep_every: Duration::from_secs(60),
            session_lifetime: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(4 * 3600),
            quota_per_user: 50 << 30,
            open_uploads_per_user: 50,
            abandon_uploads_after: Duration::from_secs(12 * 3600),
            reserve_bytes: 256 << 20,
            ballast_bytes: 64 << 20,
            clock_skew: Duration::from_secs(5 * 60),
        }
    }
}

/// The store's shared state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) db: Arc<dyn Database>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) options: Options,
    /// Calls offered to agents and facts of their calls, fanned out to their apps' event
    /// streams.
    pub(crate) calls: tokio::sync::broadcast::Sender<callrec_protocol::Pushed>,
    /// Guards the login endpoint.
    pub(crate) logins: LoginGuard,
    /// Where passwords are hashed and checked.
    pub(crate) passwords: Passwords,
    /// Recent audio accesses, to fold a player's range requests into one log entry.
    pub(crate) listens: Listens,
    /// The data folder's free space, where the store keeps its files on a local disk.
    pub(crate) space: Option<Space>,
}

impl AppState {
    /// A store over any storage pair.
    pub fn new(db: Arc<dyn Database>, blobs: Arc<dyn BlobStore>, options: Options) -> Self {
        crate::auth::warm_up();
        Self {
            db,
            blobs,
            options,
            calls: tokio::sync::broadcast::channel(256).0,
            logins: LoginGuard::default(),
            passwords: Passwords::default(),
            listens: Listens::default(),
            space: None,
        }
    }

    /// The embedded store: `DIR/callrec.db` and `DIR/blobs/`, the folder readable by the
    /// store's own user only.
    pub fn open(dir: &Path, options: Options) -> Result<Self> {
        crate::private::dir(dir)?;
        let space = Space::new(dir, options.reserve_bytes, options.ballast_bytes);
        let db = SqliteDb::open_in(&dir.join("callrec.db"), Some(space.clone()))?;
        let blobs = FsBlobs::open(&dir.join("blobs"))?;
        let mut state = Self::new(Arc::new(db), Arc::new(blobs), options);
        state.space = Some(space);
        Ok(state)
    }

    /// The metadata store.
    pub fn db(&self) -> &Arc<dyn Database> {
        &self.db
    }

    /// Runs blocking storage work off the async threads.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Database, &dyn BlobStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (db, blobs) = (Arc::clone(&self.db), Arc::clone(&self.blobs));
        tokio::task::spawn_blocking(move || work(db.as_ref(), blobs.as_ref()))
            .await
            .map_err(|e| AppError::Internal(format!("storage task: {e}")))?
    }

    /// Hashes a new password on the password threads.
    pub(crate) async fn hash_password(&self, password: String) -> Result<String> {
        self.passwords
            .run(move || crate::auth::hash_password(&password))
            .await
            .ok_or_else(|| AppError::RetryLater {
                status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code: "busy",
                message: "the store is busy checking passwords; try again in a moment".into(),
                retry_after: 1,
            })?
    }
}
