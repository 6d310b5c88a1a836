//! `POST /login` and `POST /logout`.
//!
//! A login is the one thing anyone may ask without signing in, so it is guarded: names are
//! capped before they are looked up or logged, password checks run a few at a time, an
//! unknown name costs what a wrong password costs, and repeated failures per name and per
//! address are answered 429 with a growing `Retry-After` (crate::throttle).

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use callrec_protocol::{LoginRequest, LoginResponse, UserInfo, paths};
use serde_json::json;
use time::OffsetDateTime;

use super::JsonBody;
use crate::auth::{MAX_PASSWORD, MAX_USERNAME, Peer, check_login, random_secret, token_hash};
use crate::db::NewAudit;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::throttle::Refused;

/// A login body holds a name and a password: anything bigger is refused unread.
const MAX_LOGIN_BODY: usize = 16 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .layer(DefaultBodyLimit::max(MAX_LOGIN_BODY))
}

fn invalid_credentials() -> AppError {
    AppError::client(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong user name or password",
    )
}

/// At most [`MAX_USERNAME`] bytes of `name`, cut on a character boundary.
fn capped(name: &str) -> &str {
    let mut end = name.len().min(MAX_USERNAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[tracing::instrument(skip_all, fields(username = %capped(&req.username), peer = ?peer.0))]
async fn login(
    State(state): State<AppState>,
    peer: Peer,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let name = capped(&req.username).to_owned();
    let permit = match state.logins.admit(&name, peer.0).await {
        Ok(permit) => permit,
        Err(Refused::Backoff(wait)) => {
            tracing::warn!(wait_s = wait.as_secs(), "login refused: too many failures");
            return Err(AppError::RetryLater {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_attempts",
                message: format!(
                    "too many failed sign-ins for this user or from this address; try again in {} s",
                    wait.as_secs().max(1)
                ),
                retry_after: wait.as_secs().max(1),
            });
        }
        Err(Refused::Busy) => {
            return Err(AppError::RetryLater {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "busy",
                message: "the store is checking many sign-ins; try again in a moment".into(),
                retry_after: 1,
            });
        }
    };
    let lifetime =
        time::Duration::try_from(state.options.session_lifetime).unwrap_or(time::Duration::HOUR);
    // A name that no user can have is not looked up (it still costs a check).
    let plausible = req.username.len() <= MAX_USERNAME && req.password.len() <= MAX_PASSWORD;
    let username = req.username.clone();
    let user = if plausible {
        state.run(move |db, _| db.user_by_name(&username)).await?
    } else {
        None
    };
    let password = req.password;
    let user = state
        .passwords
        .run(move || check_login(user, &password))
        .await
        .ok_or(AppError::RetryLater {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "busy",
            message: "the store is checking many sign-ins; try again in a moment".into(),
            retry_after: 1,
        })?;
    drop(permit);
    let logins = state.logins.clone();
    let peer_ip = peer.0;
    state
        .run(move |db, _| {
            let Some(user) = user else {
                logins.failed(&name, peer_ip);
                db.audit(&NewAudit {
                    actor: None,
                    action: "login_failed",
                    target: Some(&name),
                    detail: json!({"address": peer_ip.map(|a| a.to_string())}),
                })?;
                return Err(invalid_credentials());
            };
            logins.succeeded(&name);
            let token = random_secret();
            let now = OffsetDateTime::now_utc();
            let expires_at = now + lifetime;
            db.insert_token(&token_hash(&token), &user.id, now, expires_at)?;
            db.audit(&NewAudit {
                actor: Some(&user.id),
                action: "login",
                target: None,
                detail: json!({"address": peer_ip.map(|a| a.to_string())}),
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

/// Ends the session whose token the request carries (204; also for a token already ended,
/// so a client can always sign out).
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode> {
    let hash = token_hash(crate::auth::bearer(&headers).ok_or(AppError::Unauthorized)?);
    state
        .run(move |db, _| {
            let user = {
                let now = OffsetDateTime::now_utc();
                db.token_user(&hash, now, OffsetDateTime::UNIX_EPOCH)?
            };
            if db.delete_token(&hash)?
                && let Some(user) = user
            {
                db.audit(&NewAudit {
                    actor: Some(&user.id),
                    action: "logout",
                    target: None,
                    detail: json!({}),
                })?;
            }
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}
