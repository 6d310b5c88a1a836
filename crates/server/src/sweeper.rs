//! Retention: recordings past their expiry are deleted, audio and rows, and the audit log
//! says so.

use serde_json::json;
use time::OffsetDateTime;

use crate::db::{NewAudit, part_key};
use crate::error::Result;
use crate::state::AppState;

/// Recordings deleted per batch.
const BATCH: u32 = 500;

/// Deletes every recording expired at `now`; returns how many.
pub async fn sweep_once(state: &AppState, now: OffsetDateTime) -> Result<usize> {
    let mut total = 0;
    loop {
        let deleted = state
            .run(move |db, blobs| {
                let expired = db.expired(now, BATCH)?;
                for rec in &expired {
                    for f in &rec.files {
                        blobs.delete(&f.key)?;
                    }
                    db.delete_recording(&rec.summary.id)?;
                    db.audit(&NewAudit {
                        actor: None,
                        action: "retention_deleted",
                        target: Some(&rec.summary.id.to_string()),
                        detail: json!({"project": rec.summary.project_id, "expires_at": rec.summary.expires_at}),
                    })?;
                }
                // Half-uploaded calls past their expiry: their parts are recordings too.
                let unfinished = db.expired_uploads(now, BATCH)?;
                for upload in &unfinished {
                    for i in 0..upload.files.len() {
                        blobs.delete(&part_key(&upload.call_id, i))?;
                    }
                    db.delete_recording(&upload.call_id)?;
                    db.audit(&NewAudit {
                        actor: None,
                        action: "retention_deleted",
                        target: Some(&upload.call_id.to_string()),
                        detail: json!({"project": upload.summary.project_id, "unfinished_upload": true}),
                    })?;
                }
                Ok(expired.len() + unfinished.len())
            })
            .await?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
    }
}

/// Sweeps at the state's interval, forever.
pub(crate) async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.options.sweep_every);
    loop {
        tick.tick().await;
        match sweep_once(&state, OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention sweep"),
            Err(e) => tracing::error!(error = %e, "retention sweep failed"),
        }
    }
}
