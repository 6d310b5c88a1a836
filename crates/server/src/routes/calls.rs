//! Calls offered by the telephony platform, pushed to the agent's app as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callrec_policy::Role;
use callrec_protocol::{IncomingCall, OfferCall, paths};
use serde_json::json;
use time::OffsetDateTime;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{BroadcastStream, ReceiverStream};

use super::JsonBody;
use crate::auth::{Caller, PlatformCaller};
use crate::db::{NewAudit, Offer};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::CALLS, post(offer))
        .route(paths::CALL_EVENTS, get(events))
}

async fn offer(
    State(state): State<AppState>,
    caller: PlatformCaller,
    JsonBody(req): JsonBody<OfferCall>,
) -> Result<Response> {
    let calls = state.calls.clone();
    state
        .run(move |db, _| {
            let agent = db
                .user_by_name(&req.agent)?
                .filter(|u| u.role == Role::Agent)
                .ok_or_else(|| {
                    AppError::invalid_field(
                        "unknown_agent",
                        "agent",
                        format!("field `agent`: no agent named {:?}", req.agent),
                    )
                })?;
            if db.project(&req.project)?.is_none() {
                return Err(AppError::invalid_field(
                    "unknown_project",
                    "project",
                    format!("field `project`: no project {:?}", req.project),
                ));
            }
            if !agent.projects.contains(&req.project) {
                return Err(AppError::invalid_field(
                    "not_a_member",
                    "project",
                    format!(
                        "field `project`: {} does not belong to {:?}",
                        req.agent, req.project
                    ),
                ));
            }
            let call = IncomingCall {
                id: uuid::Uuid::now_v7(),
                agent_id: agent.id.clone(),
                contact: req.contact,
                project: req.project,
                direction: req.direction,
                consent: req.consent,
                offered_at: OffsetDateTime::now_utc(),
            };
            // The store's own record of the call: its upload is checked against it.
            db.insert_offer(&Offer {
                id: call.id,
                agent_id: call.agent_id.clone(),
                project_id: call.project.clone(),
                contact: call.contact.clone(),
                direction: call.direction,
                consent: call.consent,
                offered_at: call.offered_at,
            })?;
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "call_offered",
                target: Some(&agent.id),
                detail: json!(call),
            })?;
            // No listener (the agent's app is closed) is not an error: the platform is told
            // how many apps received it.
            let delivered = calls.send(call.clone()).unwrap_or(0);
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"call": call, "delivered": delivered})),
            )
                .into_response())
        })
        .await
}

/// How often an open events stream checks that its session still stands (signed out,
/// password changed, user deleted: the stream ends).
const SESSION_CHECK: Duration = Duration::from_secs(15);

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Sse<impl tokio_stream::Stream<Item = std::result::Result<Event, Infallible>>> {
    let me = caller.0.id;
    let calls = BroadcastStream::new(state.calls.subscribe()).filter_map(move |item| {
        let call = item.ok().filter(|c| c.agent_id == me)?;
        Some(Some(Ok(Event::default()
            .event("call")
            .json_data(&call)
            .unwrap_or_default())))
    });
    // The session is checked while the stream is open; its end ends the stream. The checker
    // stops with the stream (its channel closes).
    let (ended_tx, ended) = tokio::sync::mpsc::channel::<()>(1);
    let hash = crate::auth::bearer(&headers).map(crate::auth::token_hash);
    let idle = time::Duration::try_from(state.options.session_idle).unwrap_or(time::Duration::HOUR);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SESSION_CHECK);
        tick.tick().await;
        loop {
            tokio::select! {
                () = ended_tx.closed() => return,
                _ = tick.tick() => {}
            }
            let hash = hash.clone().unwrap_or_default();
            let valid = state
                .run(move |db, _| {
                    let now = OffsetDateTime::now_utc();
                    db.token_user(&hash, now, now - idle)
                })
                .await
                .is_ok_and(|u| u.is_some());
            if !valid {
                let _ = ended_tx.send(()).await;
                return;
            }
        }
    });
    let stream = calls
        .merge(ReceiverStream::new(ended).map(|()| None))
        .take_while(Option::is_some)
        .filter_map(|e| e);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
