//! Retention: recordings and receipts past their expiry are deleted, audio and rows, unless a
//! legal hold covers them, and the audit log says so.

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
                // Receipts have their own expiry (often longer than their call's).
                let receipts = db.expired_receipts(now, BATCH)?;
                for receipt in &receipts {
                    blobs.delete(&receipt.key)?;
                    db.delete_receipt(&receipt.id)?;
                    db.audit(&NewAudit {
                        actor: None,
                        action: "retention_deleted",
                        target: Some(&receipt.call_id.to_string()),
                        detail: json!({"project": receipt.project_id, "receipt": receipt.id,
                                       "order_id": receipt.order_id, "seq": receipt.seq,
                                       "expires_at": receipt.expires_at}),
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
                Ok(expired.len() + receipts.len() + unfinished.len())
            })
            .await?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
    }
}

/// How long the store remembers an offered call (its upload is checked against it).
const KEEP_OFFERS: time::Duration = time::Duration::days(90);

/// Deletes what no one will use again: sessions expired or idle, uploads abandoned half-way
/// (their parts too), offers long past; returns how many uploads went.
pub async fn tidy_once(state: &AppState, now: OffsetDateTime) -> Result<usize> {
    let idle = time::Duration::try_from(state.options.session_idle).unwrap_or(time::Duration::HOUR);
    let abandoned_after = time::Duration::try_from(state.options.abandon_uploads_after)
        .unwrap_or(time::Duration::DAY);
    let space = state.space.clone();
    state
        .run(move |db, blobs| {
            let sessions = db.purge_tokens(now, now - idle)?;
            let offers = db.purge_offers(now - KEEP_OFFERS)?;
            let mut uploads = 0;
            loop {
                let batch = db.abandoned_uploads(now - abandoned_after, BATCH)?;
                if batch.is_empty() {
                    break;
                }
                for upload in &batch {
                    for i in 0..upload.files.len() {
                        blobs.delete(&part_key(&upload.call_id, i))?;
                    }
                    db.delete_recording(&upload.call_id)?;
                    db.audit(&NewAudit {
                        actor: None,
                        action: "upload_abandoned",
                        target: Some(&upload.call_id.to_string()),
                        detail: json!({"uploader": upload.uploader, "project": upload.summary.project_id}),
                    })?;
                }
                uploads += batch.len();
            }
            if sessions + offers > 0 || uploads > 0 {
                tracing::info!(sessions, offers, uploads, "tidied");
            }
            // Room came back: the ballast is made again.
            if let Some(space) = space {
                space.refill();
            }
            Ok(uploads)
        })
        .await
}

/// Sweeps at the state's interval, forever.
pub(crate) async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.options.sweep_every);
    loop {
        tick.tick().await;
        let now = OffsetDateTime::now_utc();
        match sweep_once(&state, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention sweep"),
            Err(e) => tracing::error!(error = %e, "retention sweep failed"),
        }
        if let Err(e) = tidy_once(&state, now).await {
            tracing::error!(error = %e, "tidying failed");
        }
    }
}
