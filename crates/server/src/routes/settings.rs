//! `GET|PUT /settings`: the global recording settings (admin).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use callrec_policy::GlobalSettings;
use callrec_protocol::paths;
use serde_json::{Value, json};

use super::{JsonBody, invalid_settings};
use crate::auth::Caller;
use crate::db::{Database, NewAudit};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(paths::SETTINGS, get(read).put(write))
}

/// The global settings in force (the defaults until an admin sets them).
pub(crate) fn global(db: &dyn Database) -> Result<GlobalSettings> {
    match db.global_settings()? {
        None => Ok(GlobalSettings::default()),
        Some(json) => {
            let value: Value =
                serde_json::from_str(&json).map_err(|e| AppError::Internal(e.to_string()))?;
            GlobalSettings::from_json_value(&value, "")
                .map_err(|e| AppError::Internal(e.to_string()))
        }
    }
}

async fn read(State(state): State<AppState>, caller: Caller) -> Result<Json<GlobalSettings>> {
    caller.admin("read the global settings")?;
    state.run(|db, _| global(db).map(Json)).await
}

async fn write(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<GlobalSettings>> {
    caller.admin("change the global settings")?;
    let settings = GlobalSettings::from_json_value(&body, "").map_err(|e| invalid_settings(&e))?;
    state
        .run(move |db, _| {
            let before = global(db)?;
            let json =
                serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.to_string()))?;
            db.set_global_settings(&json)?;
            // Every project that takes a global value may obey another policy from now on.
            let now = time::OffsetDateTime::now_utc();
            let projects: Vec<String> = db.projects()?.into_iter().map(|p| p.id).collect();
            for project in &projects {
                super::projects::note_current(db, project, now)?;
            }
            // A shorter global holding time reaches recordings already made in the projects
            // that use it.
            let shortened = super::retention::redate(db, &projects)?;
            if shortened > 0 {
                db.audit(&NewAudit {
                    actor: Some(&caller.0.id),
                    action: "holding_time_shortened",
                    target: None,
                    detail: json!({"recordings_and_receipts": shortened}),
                })?;
            }
            db.audit(&NewAudit {
                actor: Some(&caller.0.id),
                action: "settings_changed",
                target: None,
                detail: json!({"before": before, "after": settings}),
            })?;
            Ok(Json(settings))
        })
        .await
}
