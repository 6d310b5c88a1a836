//! `GET /audit` (admin): logins, playbacks, changes, deletions by retention. Newest first,
//! a page at a time (`before`: the id of the last entry seen), filtered by action, actor and
//! time; `after` reads forward from an entry instead (oldest first), to follow the log.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use callrec_protocol::{AuditEntry, paths};
use serde::Deserialize;

use super::QueryParams;
use super::recordings::instant;
use crate::auth::Caller;
use crate::db::AuditQuery;
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(paths::AUDIT, get(log))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Entries after this id, oldest first.
    after: Option<i64>,
    /// Entries before this id, newest first.
    before: Option<i64>,
    /// Only this action (e.g. `login_failed`, `recording_played`).
    action: Option<String>,
    /// Only this actor's entries (a user id).
    actor: Option<String>,
    /// At or after this time (RFC 3339).
    from: Option<String>,
    /// Before this time (RFC 3339).
    to: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

async fn log(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<Vec<AuditEntry>>> {
    caller.admin("read the audit log")?;
    if page.after.is_some() && page.before.is_some() {
        return Err(AppError::client(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "give `after` (oldest first) or `before` (newest first), not both",
        ));
    }
    let query = AuditQuery {
        after: page.after,
        before: page.before,
        action: page.action,
        actor: page.actor,
        from: instant("from", page.from.as_ref())?,
        to: instant("to", page.to.as_ref())?,
        limit: page.limit.unwrap_or(100).clamp(1, 1000),
    };
    state.run(move |db, _| db.audit_log(&query).map(Json)).await
}
