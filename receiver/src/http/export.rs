//! `GET /api/export`: the published comments in the versioned export format,
//! for `kiln bake --from https://…` in CI. Guarded by a bearer token.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = &state.config.server.export_token;
    if expected.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "export_disabled",
            "The export API is off. Set server.export_token (or KILN_SERVER_EXPORT_TOKEN) to turn it on.",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(given, expected) {
        tracing::warn!("export refused: missing or wrong token");
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid token is required: send it as `Authorization: Bearer <token>`.",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer".parse().expect("static header"),
        );
        return Ok(response);
    }
    let avatars = state.avatars.clone();
    let export = state
        .with_store(move |store| store.export(&avatars))
        .await?;
    Ok(axum::Json(export).into_response())
}

/// Compares two secrets in time independent of where they differ, by
/// comparing fixed-length digests byte by byte without stopping early.
pub(super) fn same_secret(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_exactly() {
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abd", "abc"));
        assert!(!super::same_secret("", "abc"));
    }
}
