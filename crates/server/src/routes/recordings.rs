//! Listing and listening: only what the caller may hear (POLICY.md §8), every playback audited.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use callrec_policy::{Listener, RecordingOwner, Role, may_listen};
use callrec_protocol::{FileKind, RecordingList, paths};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::QueryParams;
use super::projects::resolved;
use crate::auth::Caller;
use crate::db::{Database, ListQuery, NewAudit, Recording, Scope};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::RECORDINGS, get(list))
        .route("/api/v1/recordings/{id}", get(detail))
        .route("/api/v1/recordings/{id}/audio", get(audio))
        .route(
            "/api/v1/recordings/{id}/receipts/{order_id}/{seq}/audio",
            get(receipt_audio),
        )
        .route("/api/v1/contacts/{contact}/calls", get(contact_calls))
}

/// Whether the project lets agents hear each other now (false for a deleted project).
fn others_allowed(db: &dyn Database, project: &str) -> Result<bool> {
    Ok(resolved(db, project)?.is_some_and(|p| p.agents_can_listen_to_others))
}

/// Whether `caller` may hear `rec`.
fn allowed(db: &dyn Database, caller: &Caller, rec: &Recording) -> Result<bool> {
    may_hear(db, caller, &rec.summary.agent_id, &rec.summary.project_id)
}

/// Which recordings (and receipts) `caller` may hear, as a listing's scope.
pub(super) fn scope_of(db: &dyn Database, caller: &Caller) -> Result<Scope> {
    Ok(match caller.0.role {
        Role::Admin => Scope::All,
        Role::Supervisor => Scope::Own {
            agent_id: caller.0.id.clone(),
            projects: caller.0.projects.clone(),
        },
        // The platform hears nothing (and `Caller` keeps it out of here anyway).
        Role::Platform => Scope::Own {
            agent_id: caller.0.id.clone(),
            projects: Vec::new(),
        },
        Role::Agent => {
            let mut projects = Vec::new();
            for p in &caller.0.projects {
                if others_allowed(db, p)? {
                    projects.push(p.clone());
                }
            }
            Scope::Own {
                agent_id: caller.0.id.clone(),
                projects,
            }
        }
    })
}

/// Whether `caller` may hear what `agent_id` recorded in `project_id`, by the project's
/// current settings and the caller's current memberships (POLICY.md §8).
pub(super) fn may_hear(
    db: &dyn Database,
    caller: &Caller,
    agent_id: &str,
    project_id: &str,
) -> Result<bool> {
    let listener = Listener {
        user_id: &caller.0.id,
        role: caller.0.role,
        projects: &caller.0.projects,
    };
    let owner = RecordingOwner {
        agent_id,
        project_id,
    };
    let others = caller.0.role == Role::Agent && others_allowed(db, project_id)?;
    Ok(may_listen(&listener, &owner, others))
}

/// A recording the caller may hear; anything else is "not found", so that its existence is
/// not revealed.
fn visible(db: &dyn Database, caller: &Caller, id: &str) -> Result<Recording> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let rec = db.recording(&id)?.ok_or(AppError::NotFound)?;
    if !allowed(db, caller, &rec)? || rec.summary.expires_at <= OffsetDateTime::now_utc() {
        return Err(AppError::NotFound);
    }
    Ok(rec)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    project: Option<String>,
    agent: Option<String>,
    contact: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(crate) fn instant(field: &str, v: Option<&String>) -> Result<Option<OffsetDateTime>> {
    v.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            AppError::client(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!(
                    "`{field}`: expected an RFC 3339 time such as 2026-11-29T08:00:00Z, got {s:?}"
                ),
            )
        })
    })
    .transpose()
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A listing's page size (1 to 500, 50 by default) and where it continues (the `cursor` a
/// previous page gave: its last call's start and id).
pub(super) fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<(i64, Uuid)>)> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::client(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "`limit`: 1 to 500",
        ));
    }
    let after = cursor
        .map(|c| {
            c.split_once('_')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, Uuid::parse_str(id).ok()?)))
                .ok_or_else(|| {
                    AppError::client(
                        StatusCode::BAD_REQUEST,
                        "invalid_query",
                        "`cursor`: pass back the next_cursor of a previous page",
                    )
                })
        })
        .transpose()?;
    Ok((limit, after))
}

/// The cursor of the page after `items` (a full page of `limit`), from its last item's call
/// start and id.
pub(super) fn next_cursor<T>(
    items: &[T],
    limit: u32,
    key: impl Fn(&T) -> (OffsetDateTime, Uuid),
) -> Option<String> {
    (items.len() == limit as usize)
        .then(|| items.last().map(&key))
        .flatten()
        .map(|(t, id)| format!("{}_{id}", ms(t)))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListParams>,
) -> Result<Json<RecordingList>> {
    let (limit, after) = page(q.limit, q.cursor.as_deref())?;
    let (from, to) = (
        instant("from", q.from.as_ref())?,
        instant("to", q.to.as_ref())?,
    );
    state
        .run(move |db, _| {
            let scope = scope_of(db, &caller)?;
            // `agent` is a user name (what people type) or a user id (what links carry).
            let agent = match q.agent {
                Some(a) => Some(db.user_by_name(&a)?.map_or(a, |u| u.id)),
                None => None,
            };
            let query = ListQuery {
                scope,
                project: q.project,
                agent,
                contact: q.contact,
                from,
                to,
                limit,
                after,
            };
            let now = OffsetDateTime::now_utc();
            let summaries = db.list(&query)?;
            let next_cursor = next_cursor(&summaries, limit, |r| (r.started_at, r.id));
            // The list's scope is exactly what the caller may hear (POLICY.md 8), so every
            // call with audio is playable.
            let mut names = std::collections::HashMap::new();
            let mut items = Vec::with_capacity(summaries.len());
            for summary in summaries.into_iter().filter(|r| r.expires_at > now) {
                if !names.contains_key(&summary.agent_id) {
                    let name = db
                        .user(&summary.agent_id)?
                        .map_or_else(|| summary.agent_id.clone(), |u| u.username);
                    names.insert(summary.agent_id.clone(), name);
                }
                items.push(callrec_protocol::HistoryEntry {
                    agent: names[&summary.agent_id].clone(),
                    playable: summary.has_audio,
                    summary,
                });
            }
            Ok(Json(RecordingList { items, next_cursor }))
        })
        .await
}

/// A contact's call history: the calls of that contact in the caller's projects (all, for an
/// admin), newest first, each marked playable only where the caller may hear it. Dates,
/// agents and durations are shown to the project's members; audio only per POLICY.md 8.
async fn contact_calls(
    State(state): State<AppState>,
    caller: Caller,
    Path(contact): Path<String>,
) -> Result<Json<Vec<callrec_protocol::HistoryEntry>>> {
    state
        .run(move |db, _| {
            let scope = match caller.0.role {
                Role::Admin => Scope::All,
                _ => Scope::Own {
                    agent_id: caller.0.id.clone(),
                    projects: caller.0.projects.clone(),
                },
            };
            let query = ListQuery {
                scope,
                project: None,
                agent: None,
                contact: Some(contact),
                from: None,
                to: None,
                limit: 200,
                after: None,
            };
            let now = OffsetDateTime::now_utc();
            let mut out = Vec::new();
            for summary in db.list(&query)?.into_iter().filter(|r| r.expires_at > now) {
                let Some(rec) = db.recording(&summary.id)? else {
                    continue;
                };
                let playable = rec.summary.has_audio && allowed(db, &caller, &rec)?;
                let agent = db
                    .user(&summary.agent_id)?
                    .map_or_else(|| summary.agent_id.clone(), |u| u.username);
                out.push(callrec_protocol::HistoryEntry {
                    summary,
                    agent,
                    playable,
                });
            }
            Ok(Json(out))
        })
        .await
}

async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    state
        .run(move |db, _| {
            let rec = visible(db, &caller, &id)?;
            let sidecar: Value = serde_json::from_str(&rec.sidecar_json)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(Json(json!({
                "summary": rec.summary,
                "timeline": sidecar["timeline"],
                "receipts": sidecar["receipts"],
                "refused": sidecar["refused"],
                "outcome": sidecar["outcome"],
                "policy": sidecar["policy"],
                "consent": sidecar["consent"],
                "recording": sidecar["recording"],
            })))
        })
        .await
}

async fn audio(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let actor = caller.0.id.clone();
    let (file, rec_id) = state
        .run(move |db, _| {
            let rec = visible(db, &caller, &id)?;
            let file = rec
                .files
                .into_iter()
                .find(|f| f.kind == FileKind::Recording)
                .ok_or(AppError::NotFound)?;
            Ok((file, rec.summary.id))
        })
        .await?;
    let access = Access {
        actor,
        target: rec_id.to_string(),
        detail: json!({"kind": FileKind::Recording}),
    };
    stream(&state, &headers, &file.key, file.bytes, access).await
}

/// A receipt take's audio by its call, order and number (also `GET /receipts/{id}/audio`).
async fn receipt_audio(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, order_id, seq)): Path<(String, String, u32)>,
    headers: HeaderMap,
) -> Result<Response> {
    let call = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let actor = caller.0.id.clone();
    let receipt = state
        .run(move |db, _| {
            let receipt = db
                .receipt_of_take(&call, &order_id, seq)?
                .ok_or(AppError::NotFound)?;
            super::receipts::visible_receipt(db, &caller, receipt)
        })
        .await?;
    super::receipts::play_as(&state, &headers, receipt, actor).await
}

/// Who accessed which audio, for the log.
pub(super) struct Access {
    /// The user.
    pub actor: String,
    /// The call.
    pub target: String,
    /// Which of its files.
    pub detail: Value,
}

/// Streams `len` bytes of blob `key` with HTTP Range, and logs the access: every access,
/// whatever range it asks for (a request from the middle of the file is no way around the
/// log); a player's follow-up ranges of the same file within a few minutes are folded into
/// the entry of the first.
pub(super) async fn stream(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    len: u64,
    access: Access,
) -> Result<Response> {
    let r = range(headers, len);
    let what = format!("{}\n{}\n{}", access.actor, access.target, access.detail);
    if state.listens.first_in_a_while(what) {
        let mut detail = access.detail;
        detail["range"] = json!(r.ok().flatten().map(|(a, b)| format!("{a}-{b}")));
        state
            .run(move |db, _| {
                db.audit(&NewAudit {
                    actor: Some(&access.actor),
                    action: "playback",
                    target: Some(&access.target),
                    detail,
                })
            })
            .await?;
    }
    let (status, start, end) = match r {
        Err(()) => {
            let mut resp = AppError::client(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the file has {len} bytes"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
        Ok(None) => (StatusCode::OK, 0, len.saturating_sub(1)),
        Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let key = key.to_owned();
    let reader = state
        .run(move |_, blobs| blobs.open_range(&key, start, count))
        .await?;
    let stream = tokio_util::io::ReaderStream::new(reader);
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

/// A byte range of a file of `len` bytes: `None` for the whole file, `Err` if unsatisfiable.
fn range(headers: &HeaderMap, len: u64) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // several ranges: the whole file is a valid answer
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(s), Some(e)) if s <= e => (s, e.min(len.saturating_sub(1))),
        (Some(s), None) if b.is_empty() => (s, len.saturating_sub(1)),
        (None, Some(n)) if a.is_empty() && n > 0 => (len.saturating_sub(n), len.saturating_sub(1)),
        _ => return Ok(None),
    };
    if start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}
