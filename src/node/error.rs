//! The API's refusals: `{"error": {"kind", "message"}}` with the `errors` module's kind names, or the
//! `{"problems": [...]}` of a deploy that does not check (`spec/node.md`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use corral_core::ErrorKind;
use serde::Serialize;

/// One problem of a deployed app (or its archive): the file relative to the app's root (or the archive
/// entry), its 1-based line when known, and what is wrong.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// `lua/main.lua`, `_index.yaml`, `policies/base.cedar`, or an archive entry as the archive names it.
    pub file: String,
    /// The line, when the problem has one.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// A refused request.
#[derive(Debug)]
pub enum ApiError {
    /// `{"error": {"kind", "message"}}` with the kind's status.
    Kind(ErrorKind, String),
    /// `401`: no or unknown token.
    Unauthenticated,
    /// `413`: the body passes `max_archive_size`.
    TooLarge(u64),
    /// `422`: the archive or the app has problems; nothing changed.
    Problems(Vec<Problem>),
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError::Kind(kind, message.into())
    }
}

impl From<corral_core::Error> for ApiError {
    fn from(e: corral_core::Error) -> ApiError {
        ApiError::Kind(e.kind(), e.to_string())
    }
}

/// The HTTP status of an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists => StatusCode::CONFLICT,
        ErrorKind::LimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Unavailable | ErrorKind::Canceled => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn body(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"kind": kind, "message": message}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Kind(kind, message) => (status_of(kind), Json(body(kind.as_str(), &message))).into_response(),
            ApiError::Unauthenticated => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(body("UNAUTHENTICATED", "a valid `Authorization: Bearer TOKEN` header is required")),
                )
                    .into_response();
                response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
                response
            }
            ApiError::TooLarge(bound) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(body("LIMIT_EXCEEDED", &format!("the body passes the bound of {bound} bytes (max_archive_size)"))),
            )
                .into_response(),
            ApiError::Problems(problems) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({"problems": problems}))).into_response()
            }
        }
    }
}
