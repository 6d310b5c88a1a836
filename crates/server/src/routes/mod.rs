//! The HTTP API: one module per resource, each with its own small router.

mod audit;
mod calls;
mod console;
mod login;
mod openapi;
mod projects;
mod receipts;
mod recordings;
mod retention;
mod settings;
mod uploads;
mod users;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::{Json, Router};
use callrec_protocol::MAX_JSON;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::state::AppState;

/// The whole API over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(login::routes())
        .merge(settings::routes())
        .merge(projects::routes())
        .merge(users::routes())
        .merge(recordings::routes())
        .merge(receipts::routes())
        .merge(retention::routes())
        .merge(audit::routes())
        .merge(calls::routes())
        .merge(openapi::routes())
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(MAX_JSON))
        // Upload chunks are larger than JSON bodies: their router sets its own limit.
        .merge(uploads::routes())
        .fallback(|| async { AppError::NotFound })
        .with_state(state)
}

/// A JSON body whose every rejection is answered in the store's error format.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                let (status, code) = match &rejection {
                    JsonRejection::JsonDataError(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
                    }
                    JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "json_required")
                    }
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
                    }
                    _ => (rejection.status(), "invalid_body"),
                };
                Err(AppError::client(status, code, rejection.body_text()))
            }
        }
    }
}

/// Deletes one resource (`delete` says whether it existed) and audits it as `action`: the
/// shared tail of every admin DELETE.
pub(crate) async fn delete_audited(
    state: &AppState,
    caller: crate::auth::Caller,
    id: String,
    action: &'static str,
    delete: fn(&dyn crate::db::Database, &str) -> crate::error::Result<bool>,
) -> crate::error::Result<StatusCode> {
    state
        .run(move |db, _| {
            if !delete(db, &id)? {
                return Err(AppError::NotFound);
            }
            db.audit(&crate::db::NewAudit {
                actor: Some(&caller.0.id),
                action,
                target: Some(&id),
                detail: serde_json::json!({}),
            })?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

/// Query parameters whose rejection is answered in the store's error format.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|r| AppError::client(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))
    }
}

/// Turns a policy input error into a 422 naming the field and the allowed values.
pub(crate) fn invalid_settings(e: &callrec_policy::InputError) -> AppError {
    match e.field_path() {
        Some(field) => AppError::invalid_field("invalid_settings", field, e.to_string()),
        None => AppError::invalid("invalid_settings", e.to_string()),
    }
}
