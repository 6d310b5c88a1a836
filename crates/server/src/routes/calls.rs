//! Calls offered by the telephony platform, pushed to the agent's app as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callrec_policy::Role;
use callrec_protocol::{CallFact, CallFactEvent, IncomingCall, OfferCall, Pushed, paths};
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
        .route("/api/v1/calls/{id}/events", post(fact))
}

/// The telephony platform reports what happens in a call it offered: the agent's app hears of
/// it at once and applies it to the recording (POLICY.md §4 on calls recorded from devices; a
/// withdrawn consent; the end of a call the agent forgot to hang up).
async fn fact(
    State(state): State<AppState>,
    caller: PlatformCaller,
    Path(id): Path<String>,
    JsonBody(fact): JsonBody<CallFact>,
) -> Result<Response> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if let CallFact::PartyJoined { party } | CallFact::PartyLeft { party } = &fact
        && (party.trim().is_empty() || party.len() > 128)
    {
        return Err(AppError::invalid_field(
            "invalid_party",
            "party",
            "field `party`: a non-empty label of at most 128 bytes",
        ));
    }
    let calls = state.calls.clone();
    state
        .run(move |db, _| {
            let offer = db.offer(&id)?.ok_or(AppError::NotFound)?;
            let event = CallFactEvent {
                call_id: id,
                agent_id: offer.agent_id.clone(),
                fact,
                at: OffsetDateTime::now_utc(),
            };
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "call_fact",
                target: Some(&id.to_string()),
                detail: json!(event.fact),
            })?;
            let delivered = calls.send(Pushed::Fact(event.clone())).unwrap_or(0);
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"event": event, "delivered": delivered})),
            )
                .into_response())
        })
        .await
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
            let delivered = calls.send(Pushed::Offer(call.clone())).unwrap_or(0);
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
        let pushed = item.ok().filter(|p| p.agent_id() == me)?;
        let event = Event::default().event(pushed.event_name());
        let event = match &pushed {
            Pushed::Offer(call) => event.json_data(call),
            Pushed::Fact(fact) => event.json_data(fact),
        };
        Some(Some(Ok(event.unwrap_or_default())))
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
