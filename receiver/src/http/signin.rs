//! Sign-in's routes (`crate::auth` does the OpenID Connect work):
//! `GET /auth/login?return=PAGE` (or `?for=admin`) sends the reader to the
//! provider, `GET /auth/callback` comes back from it and signs them in (a
//! commenter's cookie, or a moderator's admin session), `POST /auth/logout`
//! signs a commenter out. All of it is top-level navigation, so it works
//! without JavaScript. Also the two things a comment submission asks of
//! sign-in: who is signed in, and whether anonymous comments are refused.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{now, private_page, ApiError, AppState};
use crate::admission::Rejection;
use crate::auth::{Identity, Refused, Return};
use crate::config::Comments;
use crate::submission::{FieldError, Submission};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    /// The page to come back to (checked against `sites.origins`).
    #[serde(rename = "return")]
    to: String,
    /// `admin`: a moderator signing in to `/admin`.
    #[serde(rename = "for")]
    purpose: String,
}

/// `GET /auth/login`.
pub async fn login(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let signin = enabled(&state)?;
    let to = if query.purpose == "admin" {
        Return::Admin
    } else {
        // The same check as every other link back to a site's page: no
        // open redirect through the callback.
        let link = crate::pages::site_link(&state.config.sites, &query.to).ok_or_else(|| {
            page_error(
                &state,
                StatusCode::BAD_REQUEST,
                "bad_return",
                "The page to return to after signing in is not a page of this site. Go back to the page and use its Sign in link.",
            )
        })?;
        Return::Page(link.as_str().to_owned())
    };
    match signin.start(to).await {
        Ok(Ok(url)) => Ok(see_other(&url)),
        Ok(Err(refused)) => Err(refusal(&state, refused)),
        Err(e) => {
            tracing::error!(error = %e, "sign-in could not start");
            Err(page_error(
                &state,
                StatusCode::BAD_GATEWAY,
                "provider_unavailable",
                "The sign-in provider cannot be reached right now. Try again later.",
            ))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    state: String,
    code: Option<String>,
    error: Option<String>,
}

/// `GET /auth/callback`: the provider sends the reader back here.
pub async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let signin = enabled(&state)?;
    let (who, to) = signin
        .finish(&query.state, query.code.as_deref(), query.error.as_deref())
        .await
        .map_err(|refused| {
            tracing::info!(reason = %refused, "sign-in refused");
            refusal(&state, refused)
        })?;
    match to {
        Return::Page(page) => {
            tracing::info!(
                trusted = crate::auth::is_trusted(&state.config.auth, &who),
                "commenter signed in"
            );
            let mut response = see_other(&page);
            set_cookie(
                &mut response,
                &state.signin_cookie.set(&state.signer, &who, now()),
            );
            Ok(response)
        }
        // Listed on a site's `moderators`, they may sign in to that site.
        Return::Admin
            if signin.is_moderator(&who)
                || state.config.sites.moderated_by(&who.subject).is_some() =>
        {
            tracing::info!(subject = %who.subject, "admin signed in with the OpenID provider");
            // The admin cookie is SameSite=Strict, so a redirect chain that
            // began at the provider would not carry it to /admin: a page
            // of ours that moves on by itself starts a same-site navigation.
            let admin = escape(&format!("{}/admin", state.admin.base()));
            let html = small_page(
                "Signed in",
                &format!("<meta http-equiv=\"refresh\" content=\"0;url={admin}\">"),
                &format!("You are signed in. <a href=\"{admin}\">Continue to the admin page</a>."),
            );
            let response = private_page(StatusCode::OK, html);
            super::admin::start_session(&state, response, Some(who.subject.clone())).await
        }
        Return::Admin => {
            tracing::warn!(subject = %who.subject, "sign-in refused: not a moderator");
            Err(page_error(
                &state,
                StatusCode::FORBIDDEN,
                "not_a_moderator",
                "You signed in, but your account is not one of this site's moderators.",
            ))
        }
    }
}

/// `GET /auth/logout?return=PAGE`: a button that signs out (a POST, so
/// that a link elsewhere cannot sign anyone out).
pub async fn logout_page(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let back = crate::pages::site_link(&state.config.sites, &query.to)
        .map(|link| link.as_str().to_owned())
        .unwrap_or_default();
    let body = format!(
        "<form method=\"post\" action=\"{}/auth/logout\">\
         <input type=\"hidden\" name=\"return\" value=\"{}\">\
         <button type=\"submit\" id=\"kiln-sign-out\">Sign out</button></form>",
        escape(state.admin.base()),
        escape(&back)
    );
    private_page(StatusCode::OK, small_page("Sign out", "", &body))
}

/// `POST /auth/logout`: ends a commenter's session, then goes back to the
/// page in the form's `return` field if it is one of the site's: by a page
/// that moves on by itself, since the pages' `form-action 'self'` forbids
/// a form's redirect to another origin.
pub async fn logout(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let to = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "return")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let html = match crate::pages::site_link(&state.config.sites, &to) {
        Some(link) => {
            let back = escape(link.as_str());
            small_page(
                "Signed out",
                &format!("<meta http-equiv=\"refresh\" content=\"0;url={back}\">"),
                &format!("You are signed out. <a href=\"{back}\">Back to the page</a>."),
            )
        }
        None => small_page("Signed out", "", "You are signed out."),
    };
    let mut response = private_page(StatusCode::OK, html);
    set_cookie(&mut response, &state.signin_cookie.clear());
    response
}

/// The signed-in commenter a request's cookie names, if sign-in is on.
pub fn identity(state: &AppState, headers: &HeaderMap) -> Option<Identity> {
    state.signin.as_ref()?;
    crate::auth::session::identity(&state.signer, headers, now())
}

/// Puts the verified name in place of the form's, and says whether the
/// comment skips moderation (`auth.trusted`).
pub fn apply(state: &AppState, who: Option<&Identity>, submission: &mut Submission) -> bool {
    let Some(who) = who else {
        return false;
    };
    submission.name = who.name.clone();
    crate::auth::is_trusted(&state.config.auth, who)
}

/// The refusal of an anonymous comment where `auth.comments = "signed-in"`,
/// naming the sign-in link (the error page keeps the text).
pub fn required(state: &AppState, submission: &Submission) -> Option<Rejection> {
    if state.config.auth.comments != Comments::SignedIn {
        return None;
    }
    let mut link = format!("{}/auth/login", state.admin.base());
    if let Some(page) = crate::pages::site_link(&state.config.sites, &submission.url) {
        link.push_str("?return=");
        link.push_str(
            &url::form_urlencoded::byte_serialize(page.as_str().as_bytes()).collect::<String>(),
        );
    }
    Some(Rejection::Fields(vec![FieldError::new(
        "name",
        "sign_in_required",
        format!("Only signed-in readers may comment here. Copy your comment, sign in at {link}, then post it again."),
    )]))
}

fn enabled(state: &AppState) -> Result<&crate::auth::SignIn, ApiError> {
    state.signin.as_deref().ok_or_else(|| {
        page_error(
            state,
            StatusCode::NOT_FOUND,
            "not_found",
            "Sign-in is not set up on this comment service.",
        )
    })
}

fn refusal(state: &AppState, refused: Refused) -> ApiError {
    let status = match refused {
        Refused::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = refused.to_string();
    let mut chars = message.chars();
    let message = match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => message,
    };
    page_error(state, status, "sign_in_refused", &message)
}

fn page_error(state: &AppState, status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::new(status, code, message).page(&state.pages)
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
    )
        .into_response()
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A page of one sentence (`body`, HTML), for the two answers that are
/// neither an error nor a redirect.
fn small_page(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{head}\
         <title>{title}</title></head><body><p>{body}</p></body></html>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
