//! The one error type handlers return: a status, a machine code and a message for the
//! client; internal details go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callrec_protocol::{ErrorBody, ErrorDetail};

/// Result alias for handlers and storage.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed or invalid: 400/413/422 with a code and message.
    #[error("{code}: {message}")]
    Client {
        /// HTTP status.
        status: StatusCode,
        /// Machine code.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// For upload offset mismatches: the offset the store holds.
        offset: Option<u64>,
        /// For validation errors: the field at fault.
        field: Option<String>,
    },
    /// Too many requests (429), or the store is too busy now (503): try again after
    /// `retry_after` seconds (sent as `Retry-After`).
    #[error("{code}: {message}")]
    RetryLater {
        /// HTTP status.
        status: StatusCode,
        /// Machine code.
        code: &'static str,
        /// What happened and when to try again.
        message: String,
        /// Seconds.
        retry_after: u64,
    },
    /// No valid token.
    #[error("unauthorized")]
    Unauthorized,
    /// The caller's role may not use this endpoint.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Not there, or not for this caller (existence is not revealed).
    #[error("not found")]
    NotFound,
    /// A failure of the store itself: logged, answered 500 without details.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    /// A 422 with `code` and `message`.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
            offset: None,
            field: None,
        }
    }

    /// A 422 about one field.
    pub fn invalid_field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
            offset: None,
            field: Some(field.to_owned()),
        }
    }

    /// An error with any client status.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
            offset: None,
            field: None,
        }
    }

    /// A 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        if crate::space::is_full(&e) {
            return crate::space::full_disk();
        }
        Self::Internal(format!("database: {e}"))
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            return crate::space::full_disk();
        }
        Self::Internal(format!("storage: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::RetryLater { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let (status, code, message, offset, field) = match self {
            Self::Client {
                status,
                code,
                message,
                offset,
                field,
            } => (status, code, message, offset, field),
            Self::RetryLater {
                status,
                code,
                message,
                ..
            } => (status, code, message, None, None),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in first: send `Authorization: Bearer <token>` from POST /api/v1/login"
                    .into(),
                None,
                None,
            ),
            Self::Forbidden(what) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("your role may not {what}"),
                None,
                None,
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".into(),
                None,
                None,
            ),
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; nothing was changed, try again".into(),
                    None,
                    None,
                )
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message,
                offset,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds.max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
