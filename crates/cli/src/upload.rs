//! `callrec upload`: queue recordings and push everything queued to the central store.

use std::path::PathBuf;
use std::process::ExitCode;

use callrec_outbox::Outbox;
use callrec_uploader::{Client, UploadError, retry_delay};
use time::OffsetDateTime;

use crate::data;

/// Queue recorded call folders (from `callrec record`) in the local outbox, then upload
/// everything queued to the store signed in with `callrec login`. With no DIR, it retries
/// what is queued. A local copy is deleted only once the store has confirmed it by checksum,
/// or when it expires. Exit status 0 only when nothing is left to upload.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Call folders to queue.
    #[arg(value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let outbox = match data::outbox() {
        Ok(o) => o,
        Err(e) => return crate::fail(&e, 1),
    };
    let now = OffsetDateTime::now_utc();
    for dir in &args.dirs {
        if let Err(e) = outbox.enqueue(dir, now) {
            return crate::fail(&e.to_string(), crate::EXIT_UNREADABLE);
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    match runtime.block_on(push(&outbox)) {
        Ok(0) => crate::print("every recording is in the store"),
        Ok(left) => crate::fail(
            &format!("{left} recording(s) still queued; see `callrec outbox`"),
            1,
        ),
        Err(e) => crate::fail(&e, 1),
    }
}

/// Uploads every pending call once; returns how many are still pending.
async fn push(outbox: &Outbox) -> Result<u64, String> {
    let now = OffsetDateTime::now_utc();
    let expired = outbox.sweep_expired(now).map_err(|e| e.to_string())?;
    for id in expired {
        tracing::info!(%id, "expired before upload: local copy deleted");
    }
    let (Some(server), Some(token)) = (
        outbox.setting(data::SERVER).map_err(|e| e.to_string())?,
        outbox.setting(data::TOKEN).map_err(|e| e.to_string())?,
    ) else {
        return Err("not signed in: run `callrec login --server URL --user NAME` first".into());
    };
    let client = Client::new(&server)
        .map_err(|e| e.to_string())?
        .with_token(&token);
    // A manual run tries everything pending now, whatever its backoff says.
    let far = now + time::Duration::days(365 * 100);
    for entry in outbox.due(far).map_err(|e| e.to_string())? {
        let entry = outbox
            .start_attempt(entry.call_id, OffsetDateTime::now_utc())
            .map_err(|e| e.to_string())?;
        let result = client.upload_call(&entry.dir, |_| {}).await;
        let id = entry.call_id;
        match result {
            Ok(_) => {
                outbox
                    .uploaded(id, OffsetDateTime::now_utc())
                    .map_err(|e| e.to_string())?;
                let _ = crate::print(&format!("{id}: stored"));
            }
            Err(UploadError::Expired) => {
                outbox.expired(id).map_err(|e| e.to_string())?;
                let _ = crate::print(&format!("{id}: expired, local copy deleted"));
            }
            Err(e) => {
                let retry_at = (e.is_transient() || matches!(e, UploadError::Unauthorized))
                    .then(|| OffsetDateTime::now_utc() + retry_delay(entry.attempts));
                outbox
                    .attempt_failed(id, &e.to_string(), retry_at)
                    .map_err(|e| e.to_string())?;
                let _ = crate::print(&format!("{id}: {e}"));
                if matches!(e, UploadError::Unauthorized) {
                    break;
                }
            }
        }
    }
    outbox.pending_count().map_err(|e| e.to_string())
}
