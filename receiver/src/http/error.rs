//! One error type for every handler, turned into a response in one place:
//! JSON clients get `{ "error": { "code", "message", "field" } }`, browsers
//! get an HTML page. Server faults get a generic message; the log gets the cause.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::submission::FieldError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    /// An HTML body to send instead of the JSON shape (browser requests).
    pub html: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            html: None,
        }
    }

    pub fn field(status: StatusCode, error: &FieldError) -> Self {
        ApiError {
            field: Some(error.field),
            ..ApiError::new(status, error.code, error.message.clone())
        }
    }

    pub fn not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address.",
        )
    }

    pub fn with_html(mut self, html: String) -> Self {
        self.html = Some(html);
        self
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!(error = format!("{err:#}"), "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again in a moment.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.html {
            Some(html) => (self.status, Html(html)).into_response(),
            None => (
                self.status,
                axum::Json(json!({
                    "error": { "code": self.code, "message": self.message, "field": self.field }
                })),
            )
                .into_response(),
        }
    }
}
