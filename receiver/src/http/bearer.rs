//! The export token (`server.export_token`) as an extractor. `/api/export`
//! and `/metrics` take a `Bearer<Route>`, so neither can forget the check,
//! and both refuse the same way: 404 while no token is set (each route
//! says how to turn it on), and 401 with `WWW-Authenticate: Bearer`, logged,
//! for a missing or wrong token. The comparison takes the same time
//! wherever the tokens differ.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

/// A route behind the export token.
pub trait Guarded {
    /// How a refusal names the route in the log.
    const NAME: &'static str;

    /// The answer while no token is set: the route is off.
    fn off() -> ApiError;
}

/// Proof that the request carried the export token, for route `R`.
pub struct Bearer<R>(PhantomData<R>);

impl<R: Guarded> FromRequestParts<AppState> for Bearer<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match check(&state.config.server.export_token, &parts.headers) {
            Ok(()) => Ok(Bearer(PhantomData)),
            Err(Refused::Off) => Err(R::off().into_response()),
            Err(Refused::Wrong) => {
                tracing::warn!("{} refused: missing or wrong token", R::NAME);
                Err(unauthorized())
            }
        }
    }
}

/// Why a request may not use a guarded route.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// No token is set, so the route is off.
    Off,
    /// The token is missing or wrong.
    Wrong,
}

fn check(expected: &str, headers: &HeaderMap) -> Result<(), Refused> {
    // Checked first: with no token set, an empty one must not match.
    if expected.is_empty() {
        return Err(Refused::Off);
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(given, expected) {
        return Err(Refused::Wrong);
    }
    Ok(())
}

fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid token is required: send it as `Authorization: Bearer <token>`.",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compares digests rather than the secrets, so the time taken says
/// nothing about where they differ or how long the expected one is.
fn same_secret(given: &str, expected: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given.as_slice().ct_eq(expected.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("", "abc"));
        assert!(!same_secret("abc ", "abc"));
    }

    fn checked(expected: &str, authorization: Option<&str>) -> Result<(), Refused> {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        }
        check(expected, &headers)
    }

    #[test]
    fn only_the_token_opens_the_route_and_none_while_it_is_off() {
        assert_eq!(checked("s3cret", Some("Bearer s3cret")), Ok(()));
        assert_eq!(checked("s3cret", Some("Bearer wrong")), Err(Refused::Wrong));
        assert_eq!(checked("s3cret", Some("s3cret")), Err(Refused::Wrong));
        assert_eq!(checked("s3cret", None), Err(Refused::Wrong));
        assert_eq!(checked("", None), Err(Refused::Off));
        assert_eq!(checked("", Some("Bearer ")), Err(Refused::Off));
    }

    #[test]
    fn a_refusal_asks_for_a_bearer_token() {
        let response = unauthorized();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
