//! `GET /metrics`: refusals per rule and accepted submissions, in the
//! Prometheus text format, so an operator can see which defence is firing.
//! Counts live in the receiver's memory (no write per refusal), which is why
//! they are served here rather than by a `kiln stats` command reading the
//! database. Guarded by the export API's bearer token: the counts tell a
//! spammer which of its attempts were caught.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::export::same_secret;
use super::{ApiError, AppState};

pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = &state.config.server.export_token;
    if expected.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_disabled",
            "Metrics are off. Set server.export_token (or KILN_SERVER_EXPORT_TOKEN) and send it as a bearer token.",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(given, expected) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid token is required: send it as `Authorization: Bearer <token>`.",
        ));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.counters.render(),
    )
        .into_response())
}
