//! `POST /login`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use callrec_protocol::{LoginRequest, LoginResponse, UserInfo, paths};
use serde_json::json;
use time::OffsetDateTime;

use super::JsonBody;
use crate::auth::{random_secret, token_hash, verify_password};
use crate::db::NewAudit;
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(paths::LOGIN, post(login))
}

#[tracing::instrument(skip_all, fields(username = %req.username))]
async fn login(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let lifetime =
        time::Duration::try_from(state.options.token_lifetime).unwrap_or(time::Duration::HOUR);
    state
        .run(move |db, _| {
            let user = db.user_by_name(&req.username)?;
            let Some(user) = user.filter(|u| verify_password(&u.password_hash, &req.password))
            else {
                db.audit(&NewAudit {
                    actor: None,
                    action: "login_failed",
                    target: Some(&req.username),
                    detail: json!({}),
                })?;
                return Err(AppError::client(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "wrong user name or password",
                ));
            };
            let token = random_secret();
            let expires_at = OffsetDateTime::now_utc() + lifetime;
            db.insert_token(&token_hash(&token), &user.id, expires_at)?;
            db.audit(&NewAudit {
                actor: Some(&user.id),
                action: "login",
                target: None,
                detail: json!({}),
            })?;
            Ok(Json(LoginResponse {
                token,
                expires_at,
                user: UserInfo {
                    id: user.id,
                    username: user.username,
                    role: user.role,
                    projects: user.projects,
                },
            }))
        })
        .await
}
