//! Projects (admin writes; members read theirs) and their resolved policies.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use callrec_policy::{Policy, ProjectSettings, Role};
use callrec_protocol::{PolicyResponse, Project, paths};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::settings::global;
use super::{JsonBody, invalid_settings};
use crate::auth::{Caller, random_secret};
use crate::db::{Database, NewAudit, ProjectRow};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::PROJECTS, get(list).post(create))
        .route(
            "/api/v1/projects/{id}",
            get(read).put(update).delete(remove),
        )
        .route("/api/v1/projects/{id}/policy", get(policy))
}

/// A project's stored settings, parsed.
pub(crate) fn settings_of(row: &ProjectRow) -> Result<ProjectSettings> {
    let value: Value =
        serde_json::from_str(&row.settings_json).map_err(|e| AppError::Internal(e.to_string()))?;
    ProjectSettings::from_json_value(&value, "").map_err(|e| AppError::Internal(e.to_string()))
}

/// A project's policy now: the project's settings under the current global settings.
pub(crate) fn resolved(db: &dyn Database, id: &str) -> Result<Option<Policy>> {
    let Some(row) = db.project(id)? else {
        return Ok(None);
    };
    Ok(Some(settings_of(&row)?.resolve(&global(db)?)))
}

/// The version of a project's policy: a digest of what its calls obey and of how long the
/// app may obey it offline, so it changes exactly when either does.
pub(crate) fn version_of(project_id: &str, policy: &Policy, offline_days: u8) -> Result<String> {
    let json = serde_json::to_string(policy).map_err(|e| AppError::Internal(e.to_string()))?;
    let digest = Sha256::digest(format!("{project_id}\n{json}\n{offline_days}").as_bytes());
    Ok(hex::encode(&digest[..8]))
}

/// A project's policy now with its version, noted as the project's policy from `now` on if
/// it was not already: the store knows when each version was in force (an upload may only
/// name a version in force at its call, or shortly before for an app that was offline).
pub(crate) fn note_current(
    db: &dyn Database,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<Option<(String, Policy)>> {
    let Some(policy) = resolved(db, id)? else {
        return Ok(None);
    };
    let version = version_of(id, &policy, global(db)?.offline_policy_days.get())?;
    let json = serde_json::to_string(&policy).map_err(|e| AppError::Internal(e.to_string()))?;
    db.note_policy(&version, id, &json, now)?;
    Ok(Some((version, policy)))
}

fn may_read(caller: &Caller, id: &str) -> bool {
    caller.0.role == Role::Admin || caller.0.projects.iter().any(|p| p == id)
}

fn to_project(row: &ProjectRow) -> Result<Project> {
    // The id is the project's own field; the settings carry no second copy.
    let settings = ProjectSettings {
        id: None,
        ..settings_of(row)?
    };
    Ok(Project {
        id: row.id.clone(),
        name: row.name.clone(),
        settings,
    })
}

fn valid_slug(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !id.starts_with('-')
}

/// Reads a project body: §9 project settings plus `name`. `path_id` is the id in the URL.
fn parse(body: &Value, path_id: Option<&str>) -> Result<ProjectRow> {
    let Value::Object(map) = body else {
        return Err(AppError::invalid(
            "invalid_settings",
            "expected a JSON object with the project's name and settings",
        ));
    };
    let mut map = map.clone();
    let name = match map.remove("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n,
        Some(_) => {
            return Err(AppError::invalid_field(
                "invalid_settings",
                "name",
                "field `name`: expected a non-empty string",
            ));
        }
        None => {
            return Err(AppError::invalid_field(
                "invalid_settings",
                "name",
                "field `name`: missing; every project needs a name",
            ));
        }
    };
    let mut settings = ProjectSettings::from_json_value(&Value::Object(map), "")
        .map_err(|e| invalid_settings(&e))?;
    let id = match (path_id, settings.id.clone()) {
        (Some(p), Some(b)) if p != b => {
            return Err(AppError::invalid_field(
                "invalid_settings",
                "id",
                format!("field `id`: {b:?} differs from the URL's {p:?}"),
            ));
        }
        (Some(p), _) => p.to_owned(),
        (None, Some(b)) => b,
        (None, None) => {
            let base: String = name
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            format!(
                "{}-{}",
                base.trim_matches('-').chars().take(40).collect::<String>(),
                &random_secret()[..6]
            )
        }
    };
    if !valid_slug(&id) {
        return Err(AppError::invalid_field(
            "invalid_settings",
            "id",
            format!("field `id`: {id:?} is not a valid id; use 1 to 64 of a-z, 0-9, - and _"),
        ));
    }
    settings.id = Some(id.clone());
    let settings_json =
        serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(ProjectRow {
        id,
        name,
        settings_json,
    })
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Project>>> {
    state
        .run(move |db, _| {
            let rows = db.projects()?;
            rows.iter()
                .filter(|r| may_read(&caller, &r.id))
                .map(to_project)
                .collect::<Result<Vec<_>>>()
                .map(Json)
        })
        .await
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    caller.admin("create projects")?;
    let row = parse(&body, None)?;
    state
        .run(move |db, _| {
            db.insert_project(&row)?;
            note_current(db, &row.id, time::OffsetDateTime::now_utc())?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "project_created",
                target: Some(&row.id),
                detail: json!({"name": row.name}),
            })?;
            Ok((StatusCode::CREATED, Json(to_project(&row)?)).into_response())
        })
        .await
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Project>> {
    if !may_read(&caller, &id) {
        return Err(AppError::NotFound);
    }
    state
        .run(move |db, _| {
            db.project(&id)?
                .ok_or(AppError::NotFound)
                .and_then(|r| to_project(&r))
                .map(Json)
        })
        .await
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Project>> {
    caller.admin("change projects")?;
    let row = parse(&body, Some(&id))?;
    state
        .run(move |db, _| {
            let before = db.project(&row.id)?.ok_or(AppError::NotFound)?;
            db.update_project(&row)?;
            note_current(db, &row.id, time::OffsetDateTime::now_utc())?;
            // A shorter holding time reaches the project's recordings already made.
            let shortened = super::retention::redate(db, std::slice::from_ref(&row.id))?;
            if shortened > 0 {
                db.audit(&NewAudit {
                    actor: Some(&caller.0.id),
                    action: "holding_time_shortened",
                    target: Some(&row.id),
                    detail: json!({"recordings_and_receipts": shortened}),
                })?;
            }
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "project_changed",
                target: Some(&row.id),
                detail: json!({"before": serde_json::from_str::<Value>(&before.settings_json).unwrap_or_default(),
                               "after": serde_json::from_str::<Value>(&row.settings_json).unwrap_or_default()}),
            })?;
            Ok(Json(to_project(&row)?))
        })
        .await
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.admin("delete projects")?;
    super::delete_audited(&state, caller, id, "project_deleted", |db, id| {
        db.delete_project(id, time::OffsetDateTime::now_utc())
    })
    .await
}

async fn policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    if !may_read(&caller, &id) {
        return Err(AppError::NotFound);
    }
    let (version, policy) = state
        .run(move |db, _| {
            let (version, policy) = note_current(db, &id, time::OffsetDateTime::now_utc())?
                .ok_or(AppError::NotFound)?;
            Ok((
                version,
                PolicyResponse {
                    project_id: id,
                    version: String::new(),
                    policy,
                    offline_policy_days: global(db)?.offline_policy_days.get(),
                },
            ))
        })
        .await?;
    let etag = format!("\"{version}\"");
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.to_string()))?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    let body = PolicyResponse { version, ..policy };
    Ok(([(header::ETAG, etag_value)], Json(body)).into_response())
}
