//! The admin page's auth as extractors, so that a handler cannot forget it:
//! taking an `Admin` (GET pages) or an `AdminForm` (every state-changing
//! POST) is the only way to reach the session, and extraction refuses the
//! request before the handler runs. The checks themselves are `auth`'s.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{self, Session};
use crate::http::{now, ApiError, AppState};

/// A moderator with a live session, for the admin's GET pages. Without
/// one, the request is sent to the login page; a handler that shows the
/// login page itself takes `Option<Admin>`.
pub struct Admin(pub Session);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session(state, &parts.headers).await {
            Ok(Some(session)) => Ok(Admin(session)),
            Ok(None) => Err(super::redirect(&format!("{}/admin", state.admin.base))),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        Ok(session(state, &parts.headers).await?.map(Admin))
    }
}

/// A state-changing POST from the admin page: sent from this receiver's
/// own page, with a live session and that session's CSRF token in the
/// form. Anything else gets a 403 page and changes nothing.
pub struct AdminForm {
    pub session: Session,
    pub form: Form,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Form::parse(&body);
        match guard(state, &headers, form.get("csrf")).await {
            Ok(session) => Ok(AdminForm { session, form }),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Sent from our own page, with a live session and its CSRF token (the
/// upload form, being multipart, calls this itself).
pub(super) async fn guard(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Session, ApiError> {
    if !auth::same_origin(headers, &state.admin.origin) {
        return Err(cross_site(state));
    }
    let Some(session) = session(state, headers).await? else {
        return Err(forbidden(
            state,
            "You are not logged in, or your session has ended. Log in again at /admin.",
        ));
    };
    if !auth::csrf_matches(&session, csrf) {
        return Err(forbidden(state, "This form is out of date or was not sent from the admin page. Reload the admin page and try again."));
    }
    Ok(session)
}

/// The session the request's cookie names, if it is live.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(id) = auth::cookie_value(headers) else {
        return Ok(None);
    };
    let id_hash = auth::hash_id(&id);
    let lookup = id_hash.clone();
    let found = state
        .with_store(move |store| store.admin_session(&lookup, now()))
        .await?;
    Ok(found.map(|s| Session {
        id_hash,
        csrf: s.csrf,
        moderator: s.moderator,
    }))
}

pub(super) fn forbidden(state: &AppState, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).page(&state.pages)
}

/// A POST from another site's page, or from this receiver opened at an
/// address other than `server.public_url` (which the message points out,
/// since that is the usual cause when it is the moderator's own request).
pub(super) fn cross_site(state: &AppState) -> ApiError {
    forbidden(
        state,
        &format!(
            "This form must be sent from the admin page itself, at {}/admin. If that is not the \
             address you opened it at, set server.public_url to the receiver's address.",
            state.admin.base
        ),
    )
}

/// A urlencoded form body; repeated fields are kept.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
