//! Resumable, idempotent uploads of recorded calls (the protocol is described in
//! `callrec_protocol`'s crate docs).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, put};
use axum::{Json, Router};
use callrec_policy::{Policy, Role, TakeStatus, expires_at};
use callrec_protocol::sidecar::Sidecar;
use callrec_protocol::{
    FileKind, FileState, MAX_CHUNK, MAX_FILE, ManifestFile, RecordingSummary, UPLOAD_OFFSET,
    UploadManifest, UploadState,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::JsonBody;
use super::projects::resolved;
use crate::auth::Caller;
use crate::db::{
    BlobStore, Database, NewAudit, Recording, StoredFile, Upload, UploadFile, final_key, part_key,
};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calls/{id}", put(start))
        .route(
            "/api/v1/calls/{id}/files/{index}",
            patch(append).head(offset),
        )
        .layer(DefaultBodyLimit::max(MAX_CHUNK))
}

fn state_of(u: &Upload) -> UploadState {
    UploadState {
        call_id: u.call_id,
        files: u
            .files
            .iter()
            .map(|f| FileState {
                received: f.received,
                bytes: f.bytes,
            })
            .collect(),
        complete: u.complete,
    }
}

fn call_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| {
        AppError::invalid(
            "invalid_call_id",
            format!("{id:?} is not a call id (a UUID)"),
        )
    })
}

/// Calls whose upload is being written: a second concurrent request for one is told to retry.
fn busy() -> &'static Mutex<HashSet<Uuid>> {
    static BUSY: OnceLock<Mutex<HashSet<Uuid>>> = OnceLock::new();
    BUSY.get_or_init(|| Mutex::new(HashSet::new()))
}

struct Claim(Uuid);

impl Claim {
    fn take(id: Uuid) -> Result<Self> {
        let mut set = busy()
            .lock()
            .map_err(|_| AppError::Internal("upload lock poisoned".into()))?;
        if !set.insert(id) {
            return Err(AppError::conflict(
                "upload_busy",
                "another request is writing this call; retry shortly",
            ));
        }
        Ok(Self(id))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut set) = busy().lock() {
            set.remove(&self.0);
        }
    }
}

/// The policy a call obeyed: the version its sidecar names (which must be one this store
/// served for that project), or the project's current one for a call recorded without.
fn policy_for(db: &dyn Database, project: &str, version: Option<&str>) -> Result<Policy> {
    match version {
        Some(v) => {
            let (owner, json) = db.policy_version(v)?.ok_or_else(|| {
                AppError::invalid(
                    "unknown_policy_version",
                    format!("policy version {v:?} was never served by this store"),
                )
            })?;
            if owner != project {
                return Err(AppError::invalid(
                    "unknown_policy_version",
                    format!("policy version {v:?} belongs to another project"),
                ));
            }
            serde_json::from_str(&json).map_err(|e| AppError::Internal(e.to_string()))
        }
        None => resolved(db, project)?
            .ok_or_else(|| AppError::invalid("unknown_project", format!("no project {project:?}"))),
    }
}

/// Checks the manifest against its sidecar and returns the upload to create.
fn plan(db: &dyn Database, caller: &Caller, id: Uuid, manifest: &UploadManifest) -> Result<Upload> {
    let sidecar: Sidecar = serde_json::from_value(manifest.sidecar.clone())
        .map_err(|e| AppError::invalid("invalid_sidecar", format!("sidecar: {e}")))?;
    if sidecar.info.call_id != id {
        return Err(AppError::invalid(
            "invalid_sidecar",
            format!(
                "sidecar `call_id` {} differs from the URL's {id}",
                sidecar.info.call_id
            ),
        ));
    }
    let project = sidecar.info.project_id.clone().ok_or_else(|| {
        AppError::invalid(
            "invalid_sidecar",
            "sidecar `project_id`: missing; every call belongs to a project",
        )
    })?;
    if db.project(&project)?.is_none() {
        return Err(AppError::invalid(
            "unknown_project",
            format!("no project {project:?}"),
        ));
    }
    match caller.0.role {
        Role::Admin => {}
        Role::Agent if caller.0.projects.contains(&project) => {}
        Role::Agent => {
            return Err(AppError::Forbidden(
                "upload into a project you do not belong to",
            ));
        }
        Role::Supervisor => return Err(AppError::Forbidden("upload recordings (agents do)")),
    }
    // The files the sidecar describes, in order: the recording, then each kept take.
    let mut expected: Vec<ManifestFile> = Vec::new();
    if let Some(f) = &sidecar.recording {
        expected.push(ManifestFile {
            kind: FileKind::Recording,
            order_id: None,
            seq: None,
            bytes: f.bytes,
            sha256: f.sha256.clone(),
        });
    }
    for r in &sidecar.receipts {
        if let (Some(f), TakeStatus::Kept) = (&r.file, r.take.status) {
            expected.push(ManifestFile {
                kind: FileKind::Receipt,
                order_id: Some(r.take.order_id.clone()),
                seq: Some(r.take.seq),
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            });
        }
    }
    if manifest.files.len() != expected.len() {
        return Err(AppError::invalid(
            "manifest_mismatch",
            format!(
                "the sidecar describes {} files, the manifest lists {}",
                expected.len(),
                manifest.files.len()
            ),
        ));
    }
    for (i, (f, e)) in manifest.files.iter().zip(&expected).enumerate() {
        if f != e {
            return Err(AppError::invalid(
                "manifest_mismatch",
                format!("files[{i}] differs from the sidecar's description of it"),
            ));
        }
        if f.bytes > MAX_FILE {
            return Err(AppError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("files[{i}]: {} bytes; at most {MAX_FILE}", f.bytes),
            ));
        }
        if f.sha256.len() != 64
            || !f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(AppError::invalid(
                "invalid_manifest",
                format!("files[{i}].sha256: expected 64 lowercase hex digits"),
            ));
        }
    }
    // Retention is the store's decision, whatever the sidecar claims.
    let policy = policy_for(db, &project, sidecar.info.policy_version.as_deref())?;
    let started_at = sidecar.started_at.unwrap_or(sidecar.info.origin_at);
    let expires = expires_at(started_at, policy.holding_months);
    if expires <= OffsetDateTime::now_utc() {
        return Err(AppError::client(
            StatusCode::GONE,
            "expired",
            format!("this call expired at {expires}; delete it"),
        ));
    }
    let duration_ms = match (sidecar.started_at, sidecar.ended_at) {
        (Some(s), Some(e)) => u64::try_from((e - s).whole_milliseconds()).unwrap_or(0),
        _ => 0,
    };
    let summary = RecordingSummary {
        id,
        project_id: project,
        agent_id: caller.0.id.clone(),
        contact: sidecar.info.contact.clone(),
        direction: sidecar.direction.map(|d| d.to_string()),
        started_at,
        duration_ms,
        has_audio: sidecar.recording.is_some(),
        receipts: u32::try_from(
            expected
                .len()
                .saturating_sub(usize::from(sidecar.recording.is_some())),
        )
        .unwrap_or(0),
        expires_at: expires,
    };
    Ok(Upload {
        call_id: id,
        uploader: caller.0.id.clone(),
        manifest_json: serde_json::to_string(manifest)
            .map_err(|e| AppError::Internal(e.to_string()))?,
        summary,
        files: manifest
            .files
            .iter()
            .map(|f| UploadFile {
                kind: f.kind,
                order_id: f.order_id.clone(),
                seq: f.seq,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
                received: 0,
                verified: false,
            })
            .collect(),
        complete: false,
    })
}

async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(manifest): JsonBody<UploadManifest>,
) -> Result<Response> {
    let id = call_id(&id)?;
    state
        .run(move |db, blobs| {
            let _claim = Claim::take(id)?;
            let mut upload = plan(db, &caller, id, &manifest)?;
            if let Some(existing) = db.upload(&id)? {
                let mine = existing.uploader == caller.0.id || caller.0.role == Role::Admin;
                if !mine || existing.manifest_json != upload.manifest_json {
                    return Err(AppError::conflict(
                        "call_exists",
                        "this call id was uploaded with different content; a call is stored once",
                    ));
                }
                return Ok((StatusCode::OK, Json(state_of(&existing))).into_response());
            }
            db.insert_upload(&upload)?;
            if upload.files.is_empty() {
                // Nothing was recorded (outcome none or discarded): only the metadata is kept.
                finish(db, blobs, &mut upload, &manifest.sidecar)?;
            }
            Ok((StatusCode::CREATED, Json(state_of(&upload))).into_response())
        })
        .await
}

fn offset_header(value: u64) -> [(&'static str, HeaderValue); 1] {
    [(UPLOAD_OFFSET, HeaderValue::from(value))]
}

async fn offset(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, usize)>,
) -> Result<Response> {
    let id = call_id(&id)?;
    state
        .run(move |db, _| {
            let upload = own_upload(db, &caller, &id)?;
            let file = upload.files.get(index).ok_or(AppError::NotFound)?;
            Ok((StatusCode::OK, offset_header(file.received)).into_response())
        })
        .await
}

fn own_upload(db: &dyn Database, caller: &Caller, id: &Uuid) -> Result<Upload> {
    db.upload(id)?
        .filter(|u| u.uploader == caller.0.id || caller.0.role == Role::Admin)
        .ok_or(AppError::NotFound)
}

async fn append(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, usize)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let id = call_id(&id)?;
    let at: u64 = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            AppError::client(
                StatusCode::BAD_REQUEST,
                "offset_required",
                format!("send the `{UPLOAD_OFFSET}` header: the byte offset this chunk starts at"),
            )
        })?;
    state
        .run(move |db, blobs| {
            let _claim = Claim::take(id)?;
            let mut upload = own_upload(db, &caller, &id)?;
            if upload.complete {
                return Err(AppError::conflict("upload_complete", "this call is stored already"));
            }
            let file = upload.files.get(index).cloned().ok_or(AppError::NotFound)?;
            if at != file.received || file.verified {
                return Err(AppError::Client {
                    status: StatusCode::CONFLICT,
                    code: "offset_mismatch",
                    message: format!("the store holds {} bytes of this file; continue from there", file.received),
                    offset: Some(file.received),
                    field: None,
                });
            }
            if at + body.len() as u64 > file.bytes {
                return Err(AppError::invalid("beyond_size", format!("the file has {} bytes; this chunk would end at {}", file.bytes, at + body.len() as u64)));
            }
            let key = part_key(&id, index);
            let received = blobs.write_at(&key, at, &body)?;
            let mut verified = false;
            if received == file.bytes {
                if blobs.sha256(&key)? != file.sha256 {
                    blobs.delete(&key)?;
                    db.set_received(&id, index, 0, false)?;
                    return Err(AppError::invalid("checksum_mismatch", "the file's sha256 does not match the manifest; it was discarded, send it again from 0"));
                }
                verified = true;
            }
            db.set_received(&id, index, received, verified)?;
            upload.files[index].received = received;
            upload.files[index].verified = verified;
            if upload.files.iter().all(|f| f.verified) {
                let manifest: UploadManifest = serde_json::from_str(&upload.manifest_json).map_err(|e| AppError::Internal(e.to_string()))?;
                finish(db, blobs, &mut upload, &manifest.sidecar)?;
            }
            Ok((StatusCode::OK, offset_header(received), Json(state_of(&upload))).into_response())
        })
        .await
}

/// Makes a fully received upload a stored recording: files moved to their final keys, rows
/// written in one transaction, audited.
fn finish(
    db: &dyn Database,
    blobs: &dyn BlobStore,
    upload: &mut Upload,
    sidecar: &serde_json::Value,
) -> Result<()> {
    let id = upload.call_id;
    let mut files = Vec::new();
    for (i, f) in upload.files.iter().enumerate() {
        let key = final_key(&id, i);
        blobs.rename(&part_key(&id, i), &key)?;
        files.push(StoredFile {
            kind: f.kind,
            order_id: f.order_id.clone(),
            seq: f.seq,
            key,
            bytes: f.bytes,
        });
    }
    let mut sidecar = sidecar.clone();
    sidecar["agent"] = json!(upload.uploader);
    sidecar["expires_at"] = json!(
        upload
            .summary
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    let recording = Recording {
        summary: upload.summary.clone(),
        sidecar_json: sidecar.to_string(),
        files,
    };
    db.complete_upload(&id, &recording)?;
    db.audit(&NewAudit {
        actor: Some(&upload.uploader),
        action: "recording_stored",
        target: Some(&id.to_string()),
        detail: json!({"project": upload.summary.project_id, "files": upload.files.len()}),
    })?;
    upload.complete = true;
    Ok(())
}
