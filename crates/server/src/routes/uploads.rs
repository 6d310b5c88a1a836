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
use callrec_policy::{Consent, Policy, Role, TakeStatus, expires_at};
use callrec_protocol::sidecar::Sidecar;
use callrec_protocol::{
    FileKind, FileState, MAX_CHUNK, MAX_FILE, ManifestFile, RecordingSummary, UPLOAD_OFFSET,
    UploadManifest, UploadState,
};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::JsonBody;
use super::projects::note_current;
use crate::auth::Caller;
use crate::db::{
    BlobStore, Database, NewAudit, Offer, Receipt, Recording, StoredFile, Upload, UploadFile,
    final_key, part_key,
};
use crate::error::{AppError, Result};
use crate::space::Space;
use crate::state::{AppState, Options};

/// Files one call may have: its recording and its receipt takes.
const MAX_FILES: usize = 101;

/// How long after its offer a call may start (it rang, the agent answered).
const OFFER_ANSWERED_WITHIN: time::Duration = time::Duration::hours(1);

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

/// The policy a call that started at `started_at` obeyed: the version its sidecar names, which
/// must be one the store knows for that project and in force at the call (or replaced at most
/// `offline_policy_days` before it: an app out of reach records under its cached settings
/// that long), or the project's current one for a call recorded without.
fn policy_for(
    db: &dyn Database,
    options: &Options,
    project: &str,
    version: Option<&str>,
    started_at: OffsetDateTime,
) -> Result<Policy> {
    let now = OffsetDateTime::now_utc();
    // The current policy is noted first: a settings change the store has not served yet still
    // ends the version before it.
    let current = note_current(db, project, now)?
        .ok_or_else(|| AppError::invalid("unknown_project", format!("no project {project:?}")))?;
    let Some(v) = version else {
        return Ok(current.1);
    };
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
    let skew = duration(options.clock_skew);
    let offline_days = super::settings::global(db)?.offline_policy_days.get();
    let offline = time::Duration::days(i64::from(offline_days));
    let periods = db.policy_periods(project, v)?;
    let in_force = periods.iter().any(|p| {
        p.since <= started_at + skew && p.until.is_none_or(|until| started_at <= until + offline)
    });
    if !in_force {
        let ended = periods
            .iter()
            .filter_map(|p| p.until)
            .max()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "later".into());
        return Err(AppError::invalid(
            "stale_policy_version",
            format!(
                "policy version {v:?} was not the project's policy when this call started ({}): it was replaced {ended}, and cached settings may be used for {} days at most",
                started_at.format(&Rfc3339).unwrap_or_default(),
                offline_days
            ),
        ));
    }
    serde_json::from_str(&json).map_err(|e| AppError::Internal(e.to_string()))
}

fn duration(d: std::time::Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::ZERO)
}

/// The facts the store holds about a call it offered (the telephony platform's), checked
/// against the sidecar: the same agent and project, a start near the offer, and consent as
/// the platform reported it (a decline stands). Returns the consent to keep.
fn offered_facts(
    offer: &Offer,
    caller: &Caller,
    project: &str,
    started_at: OffsetDateTime,
    claimed: Consent,
    skew: time::Duration,
) -> Result<Consent> {
    if offer.agent_id != caller.0.id && caller.0.role != Role::Admin {
        return Err(AppError::Forbidden(
            "upload a call the platform offered to another agent",
        ));
    }
    if offer.project_id != project {
        return Err(AppError::invalid(
            "offer_mismatch",
            format!(
                "this call was offered in project {:?}; the recording says {project:?}",
                offer.project_id
            ),
        ));
    }
    if started_at < offer.offered_at - skew || started_at > offer.offered_at + OFFER_ANSWERED_WITHIN
    {
        return Err(AppError::invalid(
            "started_at_mismatch",
            format!(
                "the recording says the call started at {}, but it was offered at {}",
                started_at.format(&Rfc3339).unwrap_or_default(),
                offer.offered_at.format(&Rfc3339).unwrap_or_default()
            ),
        ));
    }
    match (offer.consent, claimed) {
        (Consent::Declined, Consent::Declined) | (_, Consent::Declined) => Ok(Consent::Declined),
        (Consent::Declined, _) => Err(AppError::invalid(
            "consent_mismatch",
            "the telephony platform reported that the customer declined recording, but this recording says otherwise; it is not kept",
        )),
        (platform, _) => Ok(platform),
    }
}

/// Checks the manifest against its sidecar and returns the upload to create.
fn plan(
    db: &dyn Database,
    options: &Options,
    caller: &Caller,
    id: Uuid,
    manifest: &UploadManifest,
) -> Result<Upload> {
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
        Role::Supervisor | Role::Platform => {
            return Err(AppError::Forbidden("upload recordings (agents do)"));
        }
    }
    if manifest.files.len() > MAX_FILES {
        return Err(AppError::invalid(
            "invalid_manifest",
            format!(
                "the manifest lists {} files; a call has at most {MAX_FILES} (its recording and its receipt takes)",
                manifest.files.len()
            ),
        ));
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
    // Retention is the store's decision, whatever the sidecar claims: the call cannot have
    // started after the store saw its upload begin (beyond clock skew), nor far from the time
    // it was offered; its policy is one in force then.
    let now = OffsetDateTime::now_utc();
    let skew = duration(options.clock_skew);
    let started_at = sidecar.started_at.unwrap_or(sidecar.info.origin_at);
    if started_at > now + skew {
        return Err(AppError::invalid(
            "started_at_in_future",
            format!(
                "sidecar `started_at`: {} is later than now ({}); check this computer's clock",
                started_at.format(&Rfc3339).unwrap_or_default(),
                now.format(&Rfc3339).unwrap_or_default()
            ),
        ));
    }
    // A call erased on request is not taken back from an agent's machine.
    if db.erased(&id, sidecar.info.contact.as_deref(), started_at)? {
        return Err(AppError::client(
            StatusCode::GONE,
            "erased",
            "this call was deleted on request (a data subject's erasure); delete it",
        ));
    }
    let consent = match db.offer(&id)? {
        Some(offer) => offered_facts(&offer, caller, &project, started_at, sidecar.consent, skew)?,
        None => sidecar.consent,
    };
    let policy = policy_for(
        db,
        options,
        &project,
        sidecar.info.policy_version.as_deref(),
        started_at,
    )?;
    let expires = expires_at(started_at, policy.holding_months);
    // Receipts may be kept longer than their call: the call is refused only once every part
    // of it has expired.
    let receipts_expire = expires_at(started_at, policy.receipt_months());
    let last = if expected.len() > usize::from(sidecar.recording.is_some()) {
        expires.max(receipts_expire)
    } else {
        expires
    };
    if last <= OffsetDateTime::now_utc() {
        return Err(AppError::client(
            StatusCode::GONE,
            "expired",
            format!("this call expired at {last}; delete it"),
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
    // What is kept of the sidecar says what the store decided, not what was claimed.
    let mut manifest = manifest.clone();
    manifest.sidecar["policy"] =
        serde_json::to_value(policy).map_err(|e| AppError::Internal(e.to_string()))?;
    manifest.sidecar["holding_months"] = json!(policy.holding_months);
    manifest.sidecar["consent"] = json!(consent);
    Ok(Upload {
        call_id: id,
        uploader: caller.0.id.clone(),
        started_at: now,
        manifest_json: serde_json::to_string(&manifest)
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
    let (options, space) = (state.options.clone(), state.space.clone());
    state
        .run(move |db, blobs| {
            let _claim = Claim::take(id)?;
            if let Some(existing) = db.upload(&id)? {
                let mine = existing.uploader == caller.0.id || caller.0.role == Role::Admin;
                if !mine || !same_manifest(&existing, &manifest)? {
                    return Err(AppError::conflict(
                        "call_exists",
                        "this call id was uploaded with different content; a call is stored once",
                    ));
                }
                return Ok((StatusCode::OK, Json(state_of(&existing))).into_response());
            }
            let mut upload = plan(db, &options, &caller, id, &manifest)?;
            room_for(db, &options, space.as_ref(), &caller, &upload)?;
            db.insert_upload(&upload)?;
            if upload.files.is_empty() {
                // Nothing was recorded (outcome none or discarded): only the metadata is kept.
                finish(db, blobs, &mut upload, &manifest.sidecar)?;
            }
            Ok((StatusCode::CREATED, Json(state_of(&upload))).into_response())
        })
        .await
}

/// The sidecar fields the store decides (whatever the app sent, they are replaced).
const STORE_DECIDES: [&str; 3] = ["policy", "holding_months", "consent"];

/// Whether `sent` is the manifest `existing` was started with (the fields the store decides
/// aside): a resumed upload, not another call under the same id.
fn same_manifest(existing: &Upload, sent: &UploadManifest) -> Result<bool> {
    let stored: UploadManifest = serde_json::from_str(&existing.manifest_json)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut sent = sent.clone();
    for field in STORE_DECIDES {
        sent.sidecar[field] = stored.sidecar[field].clone();
    }
    Ok(
        serde_json::to_string(&sent).map_err(|e| AppError::Internal(e.to_string()))?
            == existing.manifest_json,
    )
}

/// Refuses an upload its uploader has no room for: too many unfinished uploads (429), over
/// its quota, or more than the disk can take beside the database's reserve (507).
fn room_for(
    db: &dyn Database,
    options: &Options,
    space: Option<&Space>,
    caller: &Caller,
    upload: &Upload,
) -> Result<()> {
    let usage = db.usage(&caller.0.id)?;
    if usage.open_uploads >= options.open_uploads_per_user {
        return Err(AppError::RetryLater {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_uploads",
            message: format!(
                "{} uploads of yours are unfinished (at most {}); finish them first",
                usage.open_uploads, options.open_uploads_per_user
            ),
            retry_after: 60,
        });
    }
    let declared: u64 = upload.files.iter().map(|f| f.bytes).sum();
    if usage.bytes.saturating_add(declared) > options.quota_per_user {
        return Err(AppError::client(
            StatusCode::INSUFFICIENT_STORAGE,
            "quota_exceeded",
            format!(
                "this call ({} MiB) would take your recordings in the store past your quota of {} MiB ({} MiB used); an administrator can raise it",
                declared.div_ceil(1 << 20),
                options.quota_per_user >> 20,
                usage.bytes >> 20
            ),
        ));
    }
    if let Some(space) = space {
        space.check_room(declared)?;
    }
    Ok(())
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
    let space = state.space.clone();
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
            if let Some(space) = &space {
                space.check_room(body.len() as u64)?;
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
                if let Err(e) = check_audio(blobs, &upload, &manifest.sidecar) {
                    // Not the audio it claims to be: nothing of it is kept, and sending it
                    // again will not help.
                    for i in 0..upload.files.len() {
                        blobs.delete(&part_key(&id, i))?;
                    }
                    db.delete_recording(&id)?;
                    return Err(e);
                }
                finish(db, blobs, &mut upload, &manifest.sidecar)?;
            }
            Ok((StatusCode::OK, offset_header(received), Json(state_of(&upload))).into_response())
        })
        .await
}

/// Checks that every file of an upload is the audio its sidecar describes: a WAV header that
/// parses (16-bit PCM, two channels, the call's rate), data filling the file exactly, and as
/// many frames as the sidecar says. A lying header, a web page or a program is refused.
fn check_audio(blobs: &dyn BlobStore, upload: &Upload, sidecar: &serde_json::Value) -> Result<()> {
    let sidecar: Sidecar = serde_json::from_value(sidecar.clone())
        .map_err(|e| AppError::invalid("invalid_sidecar", format!("sidecar: {e}")))?;
    let mut described = Vec::new();
    if let Some(f) = &sidecar.recording {
        described.push(f.frames);
    }
    described.extend(
        sidecar
            .receipts
            .iter()
            .filter(|r| r.take.status == TakeStatus::Kept)
            .filter_map(|r| r.file.as_ref().map(|f| f.frames)),
    );
    for (i, (file, frames)) in upload.files.iter().zip(described).enumerate() {
        let head = blobs.head(&part_key(&upload.call_id, i), WAV_HEAD)?;
        wav_matches(&head, file.bytes, sidecar.rate, frames).map_err(|why| {
            AppError::invalid(
                "not_audio",
                format!("files[{i}] is not the recording its sidecar describes: {why}"),
            )
        })?;
    }
    Ok(())
}

/// How much of a file's start holds its WAV header (hound's own files: 44 bytes).
const WAV_HEAD: u64 = 64 * 1024;

/// Whether `head` (the first bytes of a file of `bytes` bytes) is a 16-bit stereo PCM WAV at
/// `rate` with `frames` frames filling the file; why not, in words.
fn wav_matches(head: &[u8], bytes: u64, rate: u32, frames: u64) -> std::result::Result<(), String> {
    let reader = hound::WavReader::new(std::io::Cursor::new(head))
        .map_err(|e| format!("no WAV header ({e})"))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int
        || spec.bits_per_sample != 16
        || spec.channels != 2
    {
        return Err(format!(
            "{} channel(s) of {}-bit {:?} samples; recordings are 16-bit PCM stereo",
            spec.channels, spec.bits_per_sample, spec.sample_format
        ));
    }
    if spec.sample_rate != rate {
        return Err(format!(
            "{} Hz; the call was recorded at {rate} Hz",
            spec.sample_rate
        ));
    }
    let samples = u64::from(reader.len());
    // hound stops reading at the start of the audio: what it read is the header.
    let data_at = reader.into_inner().position();
    if data_at + samples * 2 != bytes {
        return Err(format!(
            "its header announces {} bytes of audio after {data_at} bytes of header, the file has {bytes}",
            samples * 2
        ));
    }
    if samples / 2 != frames {
        return Err(format!("{} frames; the sidecar says {frames}", samples / 2));
    }
    Ok(())
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
    let parsed: Sidecar = serde_json::from_value(sidecar.clone())
        .map_err(|e| AppError::invalid("invalid_sidecar", format!("sidecar: {e}")))?;
    let started_at = upload.summary.started_at;
    // Each kept take is an artifact of its own, kept for the receipts' holding time.
    let receipt_expiry = expires_at(started_at, parsed.policy.receipt_months());
    let mut files = Vec::new();
    let mut receipts = Vec::new();
    for (i, f) in upload.files.iter().enumerate() {
        let key = final_key(&id, i);
        blobs.rename(&part_key(&id, i), &key)?;
        match f.kind {
            FileKind::Recording => files.push(StoredFile {
                kind: f.kind,
                order_id: f.order_id.clone(),
                seq: f.seq,
                key,
                bytes: f.bytes,
            }),
            FileKind::Receipt => {
                let order_id = f.order_id.clone().unwrap_or_default();
                let seq = f.seq.unwrap_or(1);
                let take = parsed
                    .receipts
                    .iter()
                    .find(|r| r.take.order_id == order_id && r.take.seq == seq)
                    .map(|r| &r.take);
                receipts.push(Receipt {
                    id: Uuid::now_v7(),
                    call_id: id,
                    project_id: upload.summary.project_id.clone(),
                    agent_id: upload.uploader.clone(),
                    contact: upload.summary.contact.clone(),
                    order_id,
                    seq,
                    customer: take.is_some_and(|t| t.customer),
                    started_at,
                    from_ms: take.map_or(0, |t| t.from_ms),
                    to_ms: take.map_or(0, |t| t.to_ms),
                    expires_at: receipt_expiry,
                    key,
                    bytes: f.bytes,
                });
            }
        }
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
    db.complete_upload(&id, &recording, &receipts)?;
    db.audit(&NewAudit {
        actor: Some(&upload.uploader),
        action: "recording_stored",
        target: Some(&id.to_string()),
        detail: json!({"project": upload.summary.project_id, "files": upload.files.len()}),
    })?;
    upload.complete = true;
    Ok(())
}
