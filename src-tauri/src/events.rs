//! What the window is told without asking: the session's snapshot (several times a second
//! while it changes), calls offered by the platform, and the background upload loop.

use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::state::AppState;

/// How often the window's picture of the session is refreshed.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);
/// How often queued recordings are retried (each keeps its own backoff).
const UPLOAD_EVERY: Duration = Duration::from_secs(20);
/// How long to wait before listening for calls again after the connection dropped.
const RECONNECT_AFTER: Duration = Duration::from_secs(3);

/// Starts the background tasks.
pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    let session = app.state::<AppState>().session.clone();
    let emitter = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut last = None;
        loop {
            if let Ok(snapshot) = session.snapshot() {
                let json = serde_json::to_value(&snapshot).ok();
                if json != last {
                    let _ = emitter.emit("snapshot", &snapshot);
                    last = json;
                }
            }
            tokio::time::sleep(SNAPSHOT_EVERY).await;
        }
    });
    let session = app.state::<AppState>().session.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            if let Err(e) = session.upload_once(false).await {
                tracing::debug!(error = %e, "upload pass");
            }
            tokio::time::sleep(UPLOAD_EVERY).await;
        }
    });
    let session = app.state::<AppState>().session.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let emitter = app.clone();
            let result = session
                .watch_calls(move |call| emitter.emit("incoming_call", &call).is_ok())
                .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "listening for calls");
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
}
