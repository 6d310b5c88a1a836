//! callrec's central store.
//!
//! - [`router`] builds the whole HTTP API (axum) over an [`AppState`]; [`serve`] runs it on a
//!   listener until a shutdown signal. The `callrec server` binary only parses its options.
//! - Storage sits behind [`db::Database`] (metadata) and [`db::BlobStore`] (audio): the
//!   embedded default keeps SQLite and files under one data folder.
//! - Every request is authenticated and authorised here: hiding a button in a UI is not a
//!   check. Who may listen is `callrec_policy::may_listen`; retention is the store's decision.
//!
//! It knows nothing of audio devices or the desktop app.

pub mod auth;
pub mod db;
mod error;
mod routes;
mod state;
mod sweeper;

use std::future::Future;

pub use error::{AppError, Result};
pub use routes::router;
pub use state::{AppState, Options};
pub use sweeper::sweep_once;

/// Serves the API on `listener` until `shutdown` completes; the retention sweeper runs
/// alongside at the state's interval.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweeper::run(state.clone()));
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    result
}
