//! `GET /metrics`: refusals per rule and accepted submissions, in the
//! Prometheus text format, so an operator can see which defence is firing.
//! Counts live in the receiver's memory (no write per refusal), which is why
//! they are served here rather than by a `kiln stats` command reading the
//! database. Guarded by the export API's bearer token: the counts tell a
//! spammer which of its attempts were caught.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::bearer::{Bearer, Guarded};
use super::{ApiError, AppState};

pub struct Metrics;

impl Guarded for Metrics {
    const NAME: &'static str = "metrics";

    fn off() -> ApiError {
        ApiError::off(
            "metrics_disabled",
            "Metrics are off. Set server.export_token (or KILN_SERVER_EXPORT_TOKEN) and send it as a bearer token.",
        )
    }
}

pub async fn metrics(State(state): State<AppState>, _: Bearer<Metrics>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.counters.render(),
    )
        .into_response()
}
