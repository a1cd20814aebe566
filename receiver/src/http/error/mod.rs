//! One error type for every handler, turned into a response in one place:
//! JSON clients get `{ "error": { "code", "message", "field" } }`, browsers
//! get an HTML page. Server faults get a generic message; the log gets the
//! cause. What each typed refusal becomes is in `convert`.

mod convert;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::pages::Pages;
use crate::submission::FieldError;

pub use convert::{BadLink, Link};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    /// An HTML body to send instead of the JSON shape (browser requests).
    pub html: Option<String>,
    /// Seconds to send as `Retry-After` (a rate limit).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            html: None,
            retry_after: None,
        }
    }

    pub fn field(status: StatusCode, error: &FieldError) -> Self {
        ApiError {
            field: Some(error.field),
            ..ApiError::new(status, error.code, error.message.clone())
        }
    }

    /// A request that cannot be read as asked: a malformed parameter or
    /// body, named by `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A request whose field cannot be read at all, as opposed to one that
    /// breaks a rule (`Rejection::Fields`, 422).
    pub fn malformed(error: &FieldError) -> Self {
        ApiError::field(StatusCode::BAD_REQUEST, error)
    }

    /// A route whose feature is off in the config: 404, as if it were not
    /// there, with a message naming the setting that turns it on.
    pub fn off(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
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

    /// The error as the receiver's error page, for browsers.
    pub fn page(self, pages: &Pages) -> Self {
        let html = pages.error(self.status.as_u16(), &self.message);
        self.with_html(html)
    }

    /// Says what did not happen before why: "Nothing was saved: …".
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
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
        let mut response = match self.html {
            Some(html) => (self.status, Html(html)).into_response(),
            None => (
                self.status,
                axum::Json(json!({
                    "error": { "code": self.code, "message": self.message, "field": self.field }
                })),
            )
                .into_response(),
        };
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}
