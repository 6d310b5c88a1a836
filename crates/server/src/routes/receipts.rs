//! Voice receipts as artifacts of their own (POLICY.md §8): listed and found by order id,
//! described and played on their own, with the same permissions and log as recordings.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use callrec_protocol::{FileKind, ReceiptInfo};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::QueryParams;
use super::recordings::{Access, may_hear, next_cursor, page, scope_of, stream};
use crate::auth::Caller;
use crate::db::{Database, Receipt, ReceiptQuery};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/receipts", get(list))
        .route("/api/v1/receipts/{id}", get(detail))
        .route("/api/v1/receipts/{id}/audio", get(audio))
}

/// `receipt` if the caller may hear it and it has not expired; else "not found" (its
/// existence is not revealed).
pub(super) fn visible_receipt(
    db: &dyn Database,
    caller: &Caller,
    receipt: Receipt,
) -> Result<Receipt> {
    if receipt.expires_at <= OffsetDateTime::now_utc()
        || !may_hear(db, caller, &receipt.agent_id, &receipt.project_id)?
    {
        return Err(AppError::NotFound);
    }
    Ok(receipt)
}

fn info(db: &dyn Database, r: Receipt, playable: bool) -> Result<ReceiptInfo> {
    let agent = db
        .user(&r.agent_id)?
        .map_or_else(|| r.agent_id.clone(), |u| u.username);
    Ok(ReceiptInfo {
        id: r.id,
        call_id: r.call_id,
        project_id: r.project_id,
        agent_id: r.agent_id,
        agent,
        contact: r.contact,
        order_id: r.order_id,
        seq: r.seq,
        customer: r.customer,
        started_at: r.started_at,
        from_ms: r.from_ms,
        to_ms: r.to_ms,
        expires_at: r.expires_at,
        playable,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    order_id: Option<String>,
    contact: Option<String>,
    project: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The receipts the caller may hear, newest call first, filtered by order, contact, project.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListParams>,
) -> Result<Json<serde_json::Value>> {
    let (limit, after) = page(q.limit, q.cursor.as_deref())?;
    state
        .run(move |db, _| {
            let query = ReceiptQuery {
                scope: scope_of(db, &caller)?,
                order_id: q.order_id,
                contact: q.contact,
                project: q.project,
                limit,
                after,
            };
            let found = db.list_receipts(&query)?;
            let next_cursor = next_cursor(&found, limit, |r| (r.started_at, r.id));
            let now = OffsetDateTime::now_utc();
            let items = found
                .into_iter()
                .filter(|r| r.expires_at > now)
                .map(|r| info(db, r, true))
                .collect::<Result<Vec<_>>>()?;
            Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
        })
        .await
}

fn receipt_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReceiptInfo>> {
    let id = receipt_id(&id)?;
    state
        .run(move |db, _| {
            let receipt = db.receipt(&id)?.ok_or(AppError::NotFound)?;
            let receipt = visible_receipt(db, &caller, receipt)?;
            Ok(Json(info(db, receipt, true)?))
        })
        .await
}

async fn audio(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = receipt_id(&id)?;
    let actor = caller.0.id.clone();
    let receipt = state
        .run(move |db, _| {
            let receipt = db.receipt(&id)?.ok_or(AppError::NotFound)?;
            visible_receipt(db, &caller, receipt)
        })
        .await?;
    play_as(&state, &headers, receipt, actor).await
}

/// Streams a receipt `actor` may hear, logging the access.
pub(super) async fn play_as(
    state: &AppState,
    headers: &HeaderMap,
    receipt: Receipt,
    actor: String,
) -> Result<Response> {
    let access = Access {
        actor,
        target: receipt.call_id.to_string(),
        detail: json!({"kind": FileKind::Receipt, "receipt": receipt.id,
                       "order_id": receipt.order_id, "seq": receipt.seq}),
    };
    stream(state, headers, &receipt.key, receipt.bytes, access).await
}
