//! `GET /audit` (admin): logins, playbacks, changes, deletions by retention.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use callrec_protocol::{AuditEntry, paths};
use serde::Deserialize;

use super::QueryParams;
use crate::auth::Caller;
use crate::error::Result;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(paths::AUDIT, get(log))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Entries after this id.
    #[serde(default)]
    after: i64,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

async fn log(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<Vec<AuditEntry>>> {
    caller.admin("read the audit log")?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    state
        .run(move |db, _| db.audit_log(page.after, limit).map(Json))
        .await
}
