//! What an admin does for a regulator or a data subject (POLICY.md §8): legal holds, deletion
//! on request, export of a contact's recordings; what agents' apps ask to delete their local
//! copies; and the re-dating of recordings when a holding time shortens. Every step is in the
//! audit log (who, when, why, which ids; never audio).

use std::io::{Seek, Write};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callrec_policy::{Role, expires_at};
use callrec_protocol::{
    CallStatusRequest, CallStatusResponse, Erasure, Hold, Subject, SubjectRequest, paths,
};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::JsonBody;
use super::projects::resolved;
use crate::auth::Caller;
use crate::db::{BlobStore, Database, NewAudit, part_key};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::HOLDS, get(holds).post(place_hold))
        .route("/api/v1/holds/{id}/lift", post(lift_hold))
        .route(paths::ERASURES, post(erase))
        .route("/api/v1/contacts/{contact}/export", get(export))
        .route(paths::CALL_STATUS, post(call_status))
}

fn reason_of(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 2000 {
        return Err(AppError::invalid_field(
            "invalid_reason",
            "reason",
            "field `reason`: say why (a case or request reference), 1 to 2000 characters",
        ));
    }
    Ok(reason.to_owned())
}

fn subject_json(subject: &Subject) -> serde_json::Value {
    match subject {
        Subject::Recording(id) => json!({"recording": id}),
        Subject::Contact(c) => json!({"contact": c}),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldsQuery {
    /// Lifted holds too.
    #[serde(default)]
    all: bool,
}

async fn holds(
    State(state): State<AppState>,
    caller: Caller,
    super::QueryParams(q): super::QueryParams<HoldsQuery>,
) -> Result<Json<Vec<Hold>>> {
    caller.admin("see legal holds")?;
    state.run(move |db, _| Ok(Json(db.holds(!q.all)?))).await
}

async fn place_hold(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<SubjectRequest>,
) -> Result<Response> {
    caller.admin("place legal holds")?;
    let reason = reason_of(&req.reason)?;
    state
        .run(move |db, _| {
            if let Subject::Recording(id) = &req.subject
                && db.recording(id)?.is_none()
                && db.receipts_of_call(id)?.is_empty()
            {
                return Err(AppError::NotFound);
            }
            let hold = Hold {
                id: Uuid::now_v7(),
                target: req.subject,
                reason,
                placed_by: caller.0.id.clone(),
                placed_at: OffsetDateTime::now_utc(),
                lifted_at: None,
                lifted_by: None,
                lift_reason: None,
            };
            db.insert_hold(&hold)?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "hold_placed",
                target: Some(&hold.id.to_string()),
                detail: json!({"on": subject_json(&hold.target), "reason": hold.reason}),
            })?;
            Ok((StatusCode::CREATED, Json(hold)).into_response())
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiftRequest {
    reason: String,
}

async fn lift_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<LiftRequest>,
) -> Result<Json<Hold>> {
    caller.admin("lift legal holds")?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let reason = reason_of(&req.reason)?;
    state
        .run(move |db, _| {
            let hold = db
                .lift_hold(&id, &caller.0.id, &reason, OffsetDateTime::now_utc())?
                .ok_or(AppError::NotFound)?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "hold_lifted",
                target: Some(&id.to_string()),
                detail: json!({"on": subject_json(&hold.target), "reason": reason}),
            })?;
            // What it kept past its expiry goes at the next sweep.
            Ok(Json(hold))
        })
        .await
}

/// The calls a subject covers: the recording, or every call of the contact (recordings,
/// receipts that outlived their call, unfinished uploads).
fn calls_of(db: &dyn Database, subject: &Subject) -> Result<Vec<(Uuid, Option<String>)>> {
    let mut calls: Vec<(Uuid, Option<String>)> = match subject {
        Subject::Recording(id) => {
            let contact = db
                .recording(id)?
                .and_then(|r| r.summary.contact)
                .or_else(|| {
                    db.receipts_of_call(id)
                        .ok()
                        .and_then(|r| r.into_iter().next())
                        .and_then(|r| r.contact)
                });
            vec![(*id, contact)]
        }
        Subject::Contact(contact) => db
            .calls_of_contact(contact)?
            .into_iter()
            .chain(db.receipt_calls_of_contact(contact)?)
            .chain(db.open_uploads_of_contact(contact)?)
            .map(|id| (id, Some(contact.clone())))
            .collect(),
    };
    calls.sort();
    calls.dedup();
    Ok(calls)
}

/// Deletes every stored trace of one call: audio, receipts, rows, an unfinished upload.
fn delete_call(db: &dyn Database, blobs: &dyn BlobStore, id: &Uuid) -> Result<()> {
    if let Some(rec) = db.recording(id)? {
        for f in &rec.files {
            blobs.delete(&f.key)?;
        }
    }
    for receipt in db.receipts_of_call(id)? {
        blobs.delete(&receipt.key)?;
        db.delete_receipt(&receipt.id)?;
    }
    if let Some(upload) = db.upload(id)? {
        for i in 0..upload.files.len() {
            blobs.delete(&part_key(id, i))?;
        }
    }
    db.delete_recording(id)
}

/// Deletion on request (a data subject's erasure request): gone from the store now and from
/// agents' machines at their next contact; recordings under a legal hold stay, and the answer
/// says which.
async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<SubjectRequest>,
) -> Result<Json<Erasure>> {
    caller.admin("delete recordings on request")?;
    let reason = reason_of(&req.reason)?;
    state
        .run(move |db, blobs| {
            let calls = calls_of(db, &req.subject)?;
            if calls.is_empty() && matches!(req.subject, Subject::Recording(_)) {
                return Err(AppError::NotFound);
            }
            let (mut erased, mut held) = (Vec::new(), Vec::new());
            for (id, contact) in &calls {
                if db.held(id, contact.as_deref())? {
                    held.push(*id);
                } else {
                    delete_call(db, blobs, id)?;
                    erased.push(*id);
                }
            }
            let erasure = Erasure {
                subject: req.subject,
                erased_at: OffsetDateTime::now_utc(),
                call_ids: erased,
                held,
            };
            db.insert_erasure(&erasure)?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "erased_on_request",
                target: None,
                detail: json!({"on": subject_json(&erasure.subject), "reason": reason,
                               "calls": erasure.call_ids, "kept_under_hold": erasure.held}),
            })?;
            Ok(Json(erasure))
        })
        .await
}

/// Every recording and receipt of a contact with its metadata, as one ZIP (a data subject's
/// access request): `CALL/recording.json` (the stored metadata), `CALL/recording.wav`,
/// `CALL/receipts/ORDER-SEQ.wav` with `receipts.json`. Logged.
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(contact): Path<String>,
) -> Result<Response> {
    caller.admin("export a contact's recordings")?;
    let name = contact.clone();
    let file = state
        .run(move |db, blobs| {
            let mut archive = zip::ZipWriter::new(
                tempfile::tempfile().map_err(|e| AppError::Internal(format!("export: {e}")))?,
            );
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(true);
            let fail = |e: zip::result::ZipError| AppError::Internal(format!("export: {e}"));
            let mut calls = Vec::new();
            let mut receipts_count = 0;
            for (id, _) in calls_of(db, &Subject::Contact(contact.clone()))? {
                let recording = db.recording(&id)?;
                let receipts = db.receipts_of_call(&id)?;
                if recording.is_none() && receipts.is_empty() {
                    continue;
                }
                if let Some(rec) = &recording {
                    archive
                        .start_file(format!("{id}/recording.json"), options)
                        .map_err(fail)?;
                    archive.write_all(rec.sidecar_json.as_bytes())?;
                    for f in &rec.files {
                        archive
                            .start_file(format!("{id}/recording.wav"), options)
                            .map_err(fail)?;
                        blobs.copy_to(&f.key, &mut archive)?;
                    }
                }
                let mut listed = Vec::new();
                for r in &receipts {
                    let path = format!("{id}/receipts/{}-{}.wav", safe(&r.order_id), r.seq);
                    archive.start_file(path.clone(), options).map_err(fail)?;
                    blobs.copy_to(&r.key, &mut archive)?;
                    listed.push(json!({"file": path, "order_id": r.order_id, "seq": r.seq,
                                       "customer": r.customer, "from_ms": r.from_ms, "to_ms": r.to_ms,
                                       "expires_at": r.expires_at}));
                }
                if !listed.is_empty() {
                    archive
                        .start_file(format!("{id}/receipts.json"), options)
                        .map_err(fail)?;
                    archive.write_all(serde_json::to_string_pretty(&listed).unwrap_or_default().as_bytes())?;
                }
                receipts_count += receipts.len();
                calls.push(id);
            }
            let mut file = archive.finish().map_err(fail)?;
            file.rewind()?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "exported",
                target: None,
                detail: json!({"contact": contact, "calls": calls, "receipts": receipts_count}),
            })?;
            Ok(file)
        })
        .await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"callrec-export-{}.zip\"",
        safe(&name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// A name safe in a path or a header: letters, digits, `-`, `_`, `.`, `+`; others become `_`.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An agent's app asks which of the calls on its machine must go: erased on request, or past
/// the expiry its project's holding time gives it now (a shortened holding time reaches
/// recordings not yet uploaded too).
async fn call_status(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CallStatusRequest>,
) -> Result<Json<CallStatusResponse>> {
    if req.calls.len() > 10_000 {
        return Err(AppError::invalid(
            "too_many_calls",
            "ask about at most 10,000 calls at once",
        ));
    }
    state
        .run(move |db, _| {
            let now = OffsetDateTime::now_utc();
            let mut delete = Vec::new();
            for call in &req.calls {
                // An agent asks about its own projects' calls only; others are not answered.
                if caller.0.role != Role::Admin && !caller.0.projects.contains(&call.project_id) {
                    continue;
                }
                let expired = resolved(db, &call.project_id)?.is_some_and(|p| {
                    let last = expires_at(call.started_at, p.holding_months)
                        .max(expires_at(call.started_at, p.receipt_months()));
                    last <= now
                });
                if expired || db.erased(&call.id, call.contact.as_deref(), call.started_at)? {
                    delete.push(call.id);
                }
            }
            Ok(Json(CallStatusResponse { delete }))
        })
        .await
}

/// After a holding time changed: every recording and receipt of `projects` expires at the
/// earlier of its current expiry and its call's start plus the new number of months (a longer
/// holding time never extends recordings already made). Returns how many were brought
/// forward.
pub(crate) fn redate(db: &dyn Database, projects: &[String]) -> Result<usize> {
    let mut changed = 0;
    for project in projects {
        let Some(policy) = resolved(db, project)? else {
            continue;
        };
        for (receipts, months) in [
            (false, policy.holding_months),
            (true, policy.receipt_months()),
        ] {
            let dated = if receipts {
                db.receipt_dates(project)?
            } else {
                db.recording_dates(project)?
            };
            let earlier: Vec<(Uuid, OffsetDateTime)> = dated
                .into_iter()
                .filter_map(|d| {
                    let new = expires_at(d.started_at, months);
                    (new < d.expires_at).then_some((d.id, new))
                })
                .collect();
            changed += earlier.len();
            db.set_expiries(receipts, &earlier)?;
        }
    }
    Ok(changed)
}
