//! `GET /openapi.json`: the API described for clients and tools (OpenAPI 3.1).

use axum::routing::get;
use axum::{Json, Router};
use callrec_protocol::paths;
use serde_json::{Value, json};

use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(paths::OPENAPI, get(|| async { Json(document()) }))
}

fn op(summary: &str, auth: bool) -> Value {
    let mut o = json!({"summary": summary, "responses": {"200": {"description": "OK"},
        "4XX": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}});
    if auth {
        o["security"] = json!([{"bearer": []}]);
    }
    o
}

/// The OpenAPI document.
pub(crate) fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "callrec central store", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "offset": {"type": "integer"}}}}}}
        },
        "paths": {
            "/api/v1/login": {"post": op("Sign in: {username, password} -> {token, expires_at, user}; 401 for a wrong name or password, 429 with Retry-After after repeated failures for a name or from an address", false)},
            "/api/v1/logout": {"post": op("End the session whose token the request carries (204)", true)},
            "/api/v1/settings": {"get": op("Global recording settings (admin)", true), "put": op("Replace the global recording settings (admin)", true)},
            "/api/v1/projects": {"get": op("Projects the caller may read", true), "post": op("Create a project (admin)", true)},
            "/api/v1/projects/{id}": {"get": op("A project", true), "put": op("Replace a project (admin)", true), "delete": op("Delete a project (admin)", true)},
            "/api/v1/projects/{id}/policy": {"get": op("A project's resolved policy with its version (ETag, If-None-Match)", true)},
            "/api/v1/users": {"get": op("Users (admin)", true), "post": op("Create a user (admin)", true)},
            "/api/v1/users/{id}": {"get": op("A user (admin)", true), "put": op("Replace a user (admin)", true), "delete": op("Delete a user (admin)", true)},
            "/api/v1/calls": {"post": op("Offer a call to an agent (the telephony platform's `platform` account, or an admin)", true)},
            "/api/v1/calls/events": {"get": op("Server-sent events: calls offered to the signed-in agent", true)},
            "/api/v1/calls/{id}/events": {"post": op("A fact of a call (the telephony platform): {event: party_joined|party_left, party} | {event: consent_withdrawn} | {event: call_ended}; the agent's app applies it at once", true)},
            "/api/v1/calls/status": {"post": op("An agent's app asks about its local copies: {calls: [{id, project_id, contact, started_at}]} -> {delete: [ids]} (erased on request, or past an expiry brought forward)", true)},
            "/api/v1/calls/{id}": {"put": op("Start or resume a call's upload with its manifest", true)},
            "/api/v1/calls/{id}/files/{index}": {"head": op("Bytes held of a file (Upload-Offset)", true), "patch": op("Append bytes at Upload-Offset", true)},
            "/api/v1/recordings": {"get": op("Recordings the caller may hear (project, agent: user name or id, contact, from, to, limit, cursor)", true)},
            "/api/v1/recordings/{id}": {"get": op("A recording's metadata, timeline and receipts", true)},
            "/api/v1/recordings/{id}/audio": {"get": op("A recording's audio (HTTP Range)", true)},
            "/api/v1/recordings/{id}/receipts/{order_id}/{seq}/audio": {"get": op("A receipt take's audio (HTTP Range)", true)},
            "/api/v1/contacts/{contact}/calls": {"get": op("A contact's calls in the caller's projects, each marked playable or not", true)},
            "/api/v1/receipts": {"get": op("Voice receipts the caller may hear, newest first (order_id, contact, project, limit, cursor)", true)},
            "/api/v1/receipts/{id}": {"get": op("A voice receipt: its order, call, take, customer side, expiry", true)},
            "/api/v1/receipts/{id}/audio": {"get": op("A voice receipt's audio (HTTP Range); every access is audited", true)},
            "/api/v1/holds": {"get": op("Legal holds (admin; all=true for lifted ones too, with who lifted each and why)", true), "post": op("Place a legal hold (admin): {recording: id | contact: c, reason}; what it covers outlives its expiry", true)},
            "/api/v1/holds/{id}/lift": {"post": op("Lift a legal hold (admin): {reason}", true)},
            "/api/v1/erasures": {"post": op("Delete on request (admin): {recording: id | contact: c, reason} -> {call_ids, held}: erased now, held ones kept; agents' apps delete their copies", true)},
            "/api/v1/contacts/{contact}/export": {"get": op("Every recording and receipt of a contact with its metadata, as a ZIP (admin; audited)", true)},
            "/api/v1/audit": {"get": op("The audit log (admin), newest first: before (an id: the next page), action, actor, from, to, limit; or after (an id) to read forward, oldest first", true)},
            "/api/v1/openapi.json": {"get": op("This document", false)}
        }
    })
}
