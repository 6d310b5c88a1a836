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
pub mod private;
mod routes;
mod serve;
mod space;
mod state;
mod sweeper;
mod throttle;
mod tls;

use std::future::Future;

pub use error::{AppError, Result};
pub use routes::router;
pub use serve::{Limits, Listening, is_loopback};
pub use state::{AppState, Options};
pub use sweeper::{sweep_once, tidy_once};
pub use tls::{TlsError, TlsFiles};

/// Serves the API over plain HTTP on `listener` with the default limits until `shutdown`
/// completes; the retention sweeper runs alongside at the state's interval.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::result::Result<(), TlsError> {
    serve_with(listener, state, Listening::default(), shutdown).await
}

/// Serves the API on `listener` as `listening` says (TLS, limits) until `shutdown`
/// completes; the retention sweeper runs alongside.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    listening: Listening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::result::Result<(), TlsError> {
    let sweeper = tokio::spawn(sweeper::run(state.clone()));
    let result = serve::serve_router(listener, router(state), listening, shutdown).await;
    sweeper.abort();
    result
}
