//! Users (admin only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use callrec_protocol::{UserInfo, UserRequest, paths};
use serde_json::json;

use super::JsonBody;
use crate::auth::{Caller, check_password};
use crate::db::{Database, NewAudit, User};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::USERS, get(list).post(create))
        .route("/api/v1/users/{id}", get(read).put(update).delete(remove))
}

fn info(u: &User) -> UserInfo {
    UserInfo {
        id: u.id.clone(),
        username: u.username.clone(),
        role: u.role,
        projects: u.projects.clone(),
    }
}

/// Checks a request's own fields; `password` is required when creating.
fn check_fields(req: &UserRequest, creating: bool) -> Result<()> {
    let name_ok = (1..=64).contains(&req.username.len())
        && req
            .username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if !name_ok {
        return Err(AppError::invalid(
            "invalid_user",
            "field `username`: use 1 to 64 of letters, digits, `.`, `_`, `-`, `@`",
        ));
    }
    match &req.password {
        Some(p) => {
            check_password(req.role, p).map_err(|why| {
                AppError::invalid_field(
                    "invalid_user",
                    "password",
                    format!("field `password`: {why}"),
                )
            })?;
        }
        None if creating => {
            return Err(AppError::invalid(
                "invalid_user",
                "field `password`: missing; a new user needs one",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Checks a request against the store: its projects exist.
fn validate(db: &dyn Database, req: &UserRequest, creating: bool) -> Result<()> {
    check_fields(req, creating)?;
    for p in &req.projects {
        if db.project(p)?.is_none() {
            return Err(AppError::invalid(
                "invalid_user",
                format!("field `projects`: no project {p:?}"),
            ));
        }
    }
    Ok(())
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<UserInfo>>> {
    caller.admin("list users")?;
    state
        .run(|db, _| Ok(Json(db.users()?.iter().map(info).collect())))
        .await
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<UserRequest>,
) -> Result<Response> {
    caller.admin("create users")?;
    check_fields(&req, true)?;
    let password_hash = state
        .hash_password(req.password.clone().unwrap_or_default())
        .await?;
    state
        .run(move |db, _| {
            validate(db, &req, true)?;
            let user = User {
                id: uuid::Uuid::now_v7().to_string(),
                username: req.username.clone(),
                password_hash,
                role: req.role,
                projects: req.projects.clone(),
            };
            db.insert_user(&user)?;
            db.audit(&NewAudit { actor: Some(&caller.0.id), action: "user_created", target: Some(&user.id), detail: json!({"username": user.username, "role": user.role, "projects": user.projects}) })?;
            Ok((StatusCode::CREATED, Json(info(&user))).into_response())
        })
        .await
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<UserInfo>> {
    caller.admin("read users")?;
    state
        .run(move |db, _| {
            db.user(&id)?
                .map(|u| Json(info(&u)))
                .ok_or(AppError::NotFound)
        })
        .await
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UserRequest>,
) -> Result<Json<UserInfo>> {
    caller.admin("change users")?;
    check_fields(&req, false)?;
    let new_hash = match &req.password {
        Some(p) => Some(state.hash_password(p.clone()).await?),
        None => None,
    };
    state
        .run(move |db, _| {
            let before = db.user(&id)?.ok_or(AppError::NotFound)?;
            validate(db, &req, false)?;
            let password_hash = new_hash.unwrap_or_else(|| before.password_hash.clone());
            let user = User {
                id: id.clone(),
                username: req.username.clone(),
                password_hash,
                role: req.role,
                projects: req.projects.clone(),
            };
            db.update_user(&user)?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "user_changed",
                target: Some(&id),
                detail: json!({"before": info(&before), "after": info(&user)}),
            })?;
            Ok(Json(info(&user)))
        })
        .await
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.admin("delete users")?;
    if id == caller.0.id {
        return Err(AppError::conflict(
            "self_delete",
            "an admin cannot delete their own account",
        ));
    }
    super::delete_audited(&state, caller, id, "user_deleted", |db, id| {
        db.delete_user(id)
    })
    .await
}
