//! What every handler shares.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::db::{BlobStore, Database, FsBlobs, SqliteDb};
use crate::error::{AppError, Result};

/// Settings of a running store.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often the retention sweeper runs.
    pub sweep_every: Duration,
    /// How long a session token lasts.
    pub token_lifetime: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sweep_every: Duration::from_secs(60),
            token_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

/// The store's shared state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) db: Arc<dyn Database>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) options: Options,
    /// Calls offered to agents, fanned out to their apps' event streams.
    pub(crate) calls: tokio::sync::broadcast::Sender<callrec_protocol::IncomingCall>,
}

impl AppState {
    /// A store over any storage pair.
    pub fn new(db: Arc<dyn Database>, blobs: Arc<dyn BlobStore>, options: Options) -> Self {
        Self {
            db,
            blobs,
            options,
            calls: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// The embedded store: `DIR/callrec.db` and `DIR/blobs/`.
    pub fn open(dir: &Path, options: Options) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = SqliteDb::open(&dir.join("callrec.db"))?;
        let blobs = FsBlobs::open(&dir.join("blobs"))?;
        Ok(Self::new(Arc::new(db), Arc::new(blobs), options))
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
}
