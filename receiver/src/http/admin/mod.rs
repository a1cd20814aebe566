//! The admin page, `/admin`: log in with the admin password, a named
//! moderator's password or the OpenID provider, then work through the queue
//! (newest first, across all threads), search, look at one thread, unpublish
//! or delete what is published, and edit a comment's fields. It is plain
//! HTML forms, so it works without JavaScript and on a phone.
//!
//! A moderator whom sites' `moderators` lists sees and acts on only those
//! sites' comments: every handler here checks the session's sites
//! (`Session::sites`) on the server, and a comment of another site is
//! answered as if it did not exist.
//!
//! Every state change is a POST that must come from this receiver's own
//! pages (`Origin`/`Sec-Fetch-Site`), with a live session cookie and that
//! session's CSRF token; anything else gets 403 and changes nothing. Each
//! POST handler takes an `AdminForm` and each GET page an `Admin`
//! (`extract`), so none can skip the check. The actions themselves are
//! `crate::moderation`'s, shared with the CLI and the e-mail links; the
//! comment import (`import`) is `crate::import`'s, shared with `kiln import`.

mod auth;
mod extract;
mod import;
mod view;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{now, ApiError, AppState};
use crate::admission::Rejection;
use crate::config::Config;
use crate::moderation::{self, Action, EditFields, EditRefused};
use crate::store::{Search, Status};

use auth::{CookiePolicy, LoginLimiter, Session};
use extract::{cross_site, Admin, AdminForm, Form};
use view::{Row, Views};

/// Most comments listed at once; a search narrows further.
const PAGE_LIMIT: usize = 200;
/// Longest search text accepted.
const MAX_QUERY: usize = 200;

/// What the admin page keeps for the life of the receiver.
pub struct AdminState {
    views: Views,
    limiter: LoginLimiter,
    cookie: CookiePolicy,
    /// The receiver's public URL (no trailing slash); every link and
    /// redirect is built on it, never on anything a request says.
    base: String,
    /// Its origin, which the `Origin` of a POST must equal.
    origin: String,
    /// Uploaded imports waiting for their confirmation.
    uploads: import::Uploads,
}

impl AdminState {
    pub fn new(
        config: &Config,
        public_url: &str,
        shared: std::sync::Arc<dyn crate::store::Coordination>,
    ) -> anyhow::Result<Self> {
        let base = public_url.trim_end_matches('/').to_owned();
        let origin = url::Url::parse(&base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| base.clone());
        Ok(AdminState {
            views: Views::new(config.templates.dir.as_deref())?,
            limiter: LoginLimiter::new(config, shared),
            cookie: CookiePolicy::new(config, &base),
            base,
            origin,
            uploads: import::Uploads::new()?,
        })
    }

    /// The receiver's public URL, without a trailing slash.
    pub(in crate::http) fn base(&self) -> &str {
        &self.base
    }
}

/// `GET /admin`: the login page, or the queue for a logged-in moderator.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    q: String,
    thread: String,
    /// Only this site's comments; empty: every site's.
    site: String,
    done: String,
    n: String,
}

pub async fn index(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    admin: Option<Admin>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if admin.is_none() {
        // A moderator a trusted reverse proxy has signed in (`auth.proxy_header`).
        if let Some(who) = crate::auth::proxy_identity(&state.config.auth, peer.ip(), &headers) {
            tracing::info!(moderator = %who, "admin signed in by the proxy header");
            let response = redirect(&format!("{}/admin", state.admin.base));
            return start_session(&state, response, Some(who.to_string())).await;
        }
    }
    let has_password = state
        .with_store(|store| {
            Ok(store.admin_password_hash()?.is_some() || !store.moderator_accounts()?.is_empty())
        })
        .await?;
    if !has_password && admin.is_none() {
        return login_page(&state, StatusCode::OK, None, false);
    }
    let Some(Admin(session)) = admin else {
        return login_page(&state, StatusCode::OK, None, true);
    };
    state.admin.uploads.expire();
    let status = match query.status.as_str() {
        "" => Some(Status::Pending),
        "all" => None,
        name => Some(Status::from_name(name).ok_or_else(|| {
            bad_request(
                &state,
                "The status must be pending, approved, spam, deleted or all.",
            )
        })?),
    };
    let words = query.q.trim().to_owned();
    if words.chars().count() > MAX_QUERY {
        return Err(bad_request(
            &state,
            &format!("The search is longer than {MAX_QUERY} characters."),
        ));
    }
    let thread = query.thread.trim().to_owned();
    let site = query.site.trim().to_owned();
    if !site.is_empty() && !state.config.sites.knows(&site) {
        return Err(bad_request(
            &state,
            &format!("There is no site {site:?} here."),
        ));
    }
    let scope = session.sites(&state.config);
    if !site.is_empty() && !session.sees(&state.config, &site) {
        return Err(extract::forbidden(
            &state,
            &format!(
                "You moderate only {}, not {site:?}.",
                scope.unwrap_or_default().join(", ")
            ),
        ));
    }
    // One search per site the list may show: the one asked for, else each
    // of a limited moderator's sites, else all together.
    let searched: Vec<Option<String>> = match (&scope, site.is_empty()) {
        (Some(sites), true) => sites.iter().cloned().map(Some).collect(),
        _ => vec![(!site.is_empty()).then(|| site.clone())],
    };
    let searches: Vec<Search> = searched
        .into_iter()
        .map(|site| Search {
            status,
            site,
            thread: (!thread.is_empty()).then(|| thread.clone()),
            words: (!words.is_empty()).then(|| words.clone()),
            limit: PAGE_LIMIT,
        })
        .collect();
    let mail_on = state.mail.is_some();
    let counted = scope.clone();
    let (rows, counts, mail) = state
        .read_store(move |store| {
            let mail = if mail_on {
                Some(store.mail_trouble()?)
            } else {
                None
            };
            let mut rows = Vec::new();
            for search in &searches {
                rows.extend(store.search(search)?);
            }
            // Newest first across the sites, as one search orders them.
            rows.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
            rows.truncate(PAGE_LIMIT);
            let counts = match &counted {
                Some(sites) => store.counts_on(sites)?,
                None => store.counts()?,
            };
            Ok((rows, counts, mail))
        })
        .await?;
    let now = now();
    let rows: Vec<Row> = rows
        .iter()
        .map(|c| Row::new(c, now, &state.pages))
        .collect();
    let status_name = status.map_or("all", Status::as_str);
    let done = done_message(&query.done, &query.n);
    let counts: Vec<_> = counts
        .iter()
        .map(|(s, n)| json!({ "status": s.as_str(), "count": n }))
        .collect();
    let html = state.admin.views.render(
        "admin.html",
        &json!({
            "base": state.admin.base,
            "csrf": session.csrf,
            "status": status_name,
            "q": words,
            "thread": thread,
            "site": site,
            "sites": scope.unwrap_or_else(|| {
                state.config.sites.names().into_iter().map(str::to_owned).collect()
            }),
            "moderator": session.moderator,
            "every_site": session.sites(&state.config).is_none(),
            "imports": session.sees(&state.config, crate::store::DEFAULT_SITE),
            "counts": counts,
            "rows": rows,
            "limit": PAGE_LIMIT,
            "done": done,
            "publish": publish_runs(&state).await?,
            "mail": mail.filter(|m| m.retrying + m.given_up > 0),
            "import_formats": import::formats(),
            "import_max_mib": import::MAX_UPLOAD_BYTES / (1024 * 1024),
        }),
    )?;
    Ok(page(StatusCode::OK, html))
}

/// The build hooks' and publish command's last runs (`crate::publish`).
async fn publish_runs(state: &AppState) -> anyhow::Result<Vec<serde_json::Value>> {
    let publish = state.publish.clone();
    let runs = tokio::task::spawn_blocking(move || publish.runs())
        .await
        .map_err(|e| anyhow::anyhow!("publish runs task failed: {e}"))??;
    Ok(runs
        .into_iter()
        .map(|run| {
            json!({
                "kind": run.kind,
                "name": run.name,
                "outcome": run.outcome,
                "ok": run.ok,
                "attempts": run.attempts,
                "at_rfc3339": kiln_bake::export::unix_to_rfc3339(run.at),
            })
        })
        .collect())
}

pub use import::{confirm as import_confirm, upload as import_upload, MAX_UPLOAD_BYTES};

/// `GET /admin/admin.js`: the optional keyboard shortcuts (`templates/admin.js`).
pub async fn script(State(state): State<AppState>) -> Result<Response, ApiError> {
    let js = state.admin.views.render("admin.js", &json!({}))?;
    let mut response = js.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `POST /admin/login`.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !auth::same_origin(&headers, &state.admin.origin) {
        return Err(cross_site(&state));
    }
    let form = Form::parse(&body);
    // Empty: the admin password; else a named moderator's (`kiln admin
    // set-password --moderator NAME`).
    let moderator = form.get("moderator").trim().to_owned();
    let named = moderator.clone();
    let (hash, any) = state
        .with_store(move |store| {
            let hash = if named.is_empty() {
                store.admin_password_hash()?
            } else {
                store.moderator_password_hash(&named)?
            };
            let any =
                store.admin_password_hash()?.is_some() || !store.moderator_accounts()?.is_empty();
            Ok((hash, any))
        })
        .await?;
    if !any {
        return login_page(&state, StatusCode::FORBIDDEN, None, false);
    }
    let ip = peer.ip().to_canonical();
    // Counted as a failure before the password is checked, so attempts
    // sent together cannot all pass the limit during argon2's time.
    let attempt = match state.admin.limiter.attempt(ip).await? {
        Ok(attempt) => attempt,
        Err(wait) => return too_many_failures(&state, ip, wait),
    };
    let password = form.get("password").to_owned();
    // An unknown name is checked against nothing and fails like a wrong
    // password, with the same message.
    let ok = match hash {
        Some(hash) => {
            tokio::task::spawn_blocking(move || crate::password::verify(&hash, &password))
                .await
                .map_err(|e| anyhow::anyhow!("password check failed: {e}"))??
        }
        None => false,
    };
    if !ok {
        tracing::warn!(client = %crate::address::anonymize(ip), "admin login failed");
        let message = if moderator.is_empty() {
            "That password is not right."
        } else {
            "That moderator name or password is not right."
        };
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(message), true);
    }
    state.admin.limiter.succeeded(attempt).await?;
    let moderator = (!moderator.is_empty()).then_some(moderator);
    tracing::info!(client = %crate::address::anonymize(ip), moderator = moderator.as_deref().unwrap_or("(admin)"), "admin logged in");
    let response = redirect(&format!("{}/admin", state.admin.base));
    start_session(&state, response, moderator).await
}

/// Starts an admin session for a moderator who has proved who they are
/// (the password, the OpenID provider, the trusted proxy's header) and
/// sets its cookie on `response`: one kind of session for all three, so
/// logout, expiry and CSRF work the same. `moderator` is who it is (a
/// named moderator, an OpenID subject, the proxy's name for them), `None`
/// for the admin password: the sites' `moderators` lists may limit them.
pub(in crate::http) async fn start_session(
    state: &AppState,
    mut response: Response,
    moderator: Option<String>,
) -> Result<Response, ApiError> {
    let (id, id_hash) = auth::new_session_id();
    let csrf = crate::store::random_hex(32);
    let now = now();
    let expires = now + state.admin.cookie.max_age as i64;
    state
        .with_store(move |store| {
            store.create_admin_session(&id_hash, &csrf, moderator.as_deref(), now, expires)
        })
        .await?;
    set_cookie(&mut response, &state.admin.cookie.set(&id));
    Ok(response)
}

/// The login page again, with 429 and `Retry-After`: the failed-login
/// limit is reached for this address, or for all.
fn too_many_failures(
    state: &AppState,
    ip: std::net::IpAddr,
    wait: u64,
) -> Result<Response, ApiError> {
    tracing::warn!(client = %crate::address::anonymize(ip), "admin login refused: too many failures");
    let minutes = wait.div_ceil(60);
    let message = format!(
        "Too many failed logins. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    );
    let mut response = login_page(state, StatusCode::TOO_MANY_REQUESTS, Some(&message), true)?;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    Ok(response)
}

/// `POST /admin/logout`.
pub async fn logout(
    State(state): State<AppState>,
    AdminForm { session, .. }: AdminForm,
) -> Result<Response, ApiError> {
    state
        .with_store(move |store| store.end_admin_session(&session.id_hash))
        .await?;
    let mut response = redirect(&format!("{}/admin", state.admin.base));
    set_cookie(&mut response, &state.admin.cookie.clear());
    Ok(response)
}

/// `POST /admin/act`: one button of one row (`one=ACTION:ID`), or a bulk
/// button (`bulk=ACTION`) with the ticked boxes (`id=ID`, repeated).
pub async fn act(
    State(state): State<AppState>,
    AdminForm { session, form }: AdminForm,
) -> Result<Response, ApiError> {
    let (action, ids) = if let Some((action, id)) = form.get("one").split_once(':') {
        let id = id
            .parse::<i64>()
            .map_err(|_| bad_request(&state, "The comment id is not a number."))?;
        (action.to_owned(), vec![id])
    } else {
        let ids = form
            .all("id")
            .map(|v| v.parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad_request(&state, "A selected comment id is not a number."))?;
        (form.get("bulk").to_owned(), ids)
    };
    let action = Action::parse(&action)
        .ok_or_else(|| bad_request(&state, "There is no such moderation action."))?;
    let back = |done: &str, n: usize| {
        list_url(
            &state.admin.base,
            form.get("status"),
            form.get("q"),
            form.get("thread"),
            form.get("site"),
            done,
            n,
        )
    };
    if ids.is_empty() {
        return Ok(redirect(&back("none", 0)));
    }
    check_sites(&state, &session, &ids).await?;
    let count = ids.len();
    let logged: Vec<i64> = ids.clone();
    let outcome = state
        .with_store(move |store| moderation::apply(store, action, &ids, now()))
        .await?;
    match outcome {
        Ok(()) => {
            tracing::info!(action = action.as_str(), comments = ?logged, "moderated on the admin page");
            Ok(redirect(&back(action.as_str(), count)))
        }
        Err(refusal) => Err(ApiError::from(refusal)
            .context(&format!("Nothing was {}", action.done()))
            .page(&state.pages)),
    }
}

/// `POST /admin/person`: one commenter's data by email address, like
/// `kiln export --email` (`do=export`, a JSON download) and `kiln forget`
/// (`do=forget`), through the same store functions.
pub async fn person(
    State(state): State<AppState>,
    AdminForm { session, form }: AdminForm,
) -> Result<Response, ApiError> {
    if session.sites(&state.config).is_some() {
        return Err(extract::forbidden(
            &state,
            "A commenter's data spans every site, so only a moderator of every site can export or forget it.",
        ));
    }
    let email = form.get("email").trim().to_owned();
    if !email.contains('@') || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad_request(
            &state,
            "Email: give the commenter's address exactly as they typed it (case does not matter).",
        ));
    }
    match form.get("do") {
        "export" => {
            let data = state
                .with_store(move |store| store.personal_data(&email))
                .await?;
            let json = serde_json::to_string_pretty(&data)
                .map_err(|e| ApiError::from(anyhow::Error::from(e)))?;
            let mut response = (
                [
                    (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"kiln-personal-data.json\"",
                    ),
                ],
                json,
            )
                .into_response();
            secure_headers(response.headers_mut());
            Ok(response)
        }
        "forget" => {
            let done = state.with_store(move |store| store.forget(&email)).await?;
            // Counts only: the address stays out of the log.
            tracing::info!(
                removed = done.removed,
                kept_as_deleted = done.kept_as_deleted,
                "an address was forgotten on the admin page"
            );
            let n = done.removed + done.kept_as_deleted;
            Ok(redirect(&list_url(
                &state.admin.base,
                "",
                "",
                "",
                "",
                "forget",
                n as usize,
            )))
        }
        _ => Err(bad_request(&state, "Choose export or forget.")),
    }
}

/// `GET /admin/comments/{id}`: the edit form.
pub async fn edit_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Admin(session): Admin,
) -> Result<Response, ApiError> {
    let comment = state.read_store(move |store| store.get(id)).await?;
    let Some(comment) = comment.filter(|c| session.sees(&state.config, &c.site)) else {
        return Err(not_found(&state, id));
    };
    let fields = EditFields {
        name: comment.author.clone(),
        email: comment.email.clone().unwrap_or_default(),
        website: comment.website.clone().unwrap_or_default(),
        text: comment.text.clone(),
    };
    let row = Row::new(&comment, now(), &state.pages);
    edit_form(&state, StatusCode::OK, &session, &row, &fields, &[])
}

/// `POST /admin/comments/{id}`: saves an edit, re-checked like a submission.
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { session, form }: AdminForm,
) -> Result<Response, ApiError> {
    let fields = EditFields {
        name: form.get("name").to_owned(),
        email: form.get("email").to_owned(),
        website: form.get("website").to_owned(),
        text: form.get("text").to_owned(),
    };
    check_sites(&state, &session, &[id]).await?;
    let config = state.config.clone();
    let submitted = fields.clone();
    let outcome = state
        .with_store(move |store| {
            let outcome = moderation::edit(store, &config, id, &submitted)?;
            let current = store.get(id)?;
            Ok((outcome, current))
        })
        .await?;
    match outcome {
        (Ok(saved), _) => {
            tracing::info!(comment = id, "edited on the admin page");
            Ok(redirect(&list_url(
                &state.admin.base,
                saved.status.as_str(),
                "",
                "",
                "",
                "edit",
                1,
            )))
        }
        (Err(EditRefused::Fields(errors)), Some(current)) => {
            let row = Row::new(&current, now(), &state.pages);
            // Refused like a submission's fields, so with the same status.
            let status = ApiError::from(Rejection::Fields(errors.clone())).status;
            edit_form(&state, status, &session, &row, &fields, &errors)
        }
        (Err(EditRefused::Fields(_)), None) => Err(not_found(&state, id)),
        (Err(EditRefused::Comment(refusal)), _) => Err(ApiError::from(refusal)
            .context("Nothing was saved")
            .page(&state.pages)),
    }
}

/// Refuses, as not found, the first of `ids` on a site the session may not
/// see, before anything is done; ids of no comment are left to the action,
/// which refuses them as it does for everyone.
async fn check_sites(state: &AppState, session: &Session, ids: &[i64]) -> Result<(), ApiError> {
    let Some(sites) = session.sites(&state.config) else {
        return Ok(());
    };
    let asked = ids.to_vec();
    let found = state
        .read_store(move |store| {
            asked
                .iter()
                .map(|id| Ok(store.get(*id)?.map(|c| (c.id, c.site))))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await?;
    match found
        .into_iter()
        .flatten()
        .find(|(_, site)| !sites.contains(site))
    {
        Some((id, _)) => Err(not_found(state, id)),
        None => Ok(()),
    }
}

fn edit_form(
    state: &AppState,
    status: StatusCode,
    session: &Session,
    row: &Row,
    fields: &EditFields,
    errors: &[crate::submission::FieldError],
) -> Result<Response, ApiError> {
    let errors: std::collections::BTreeMap<&str, &str> = errors
        .iter()
        .map(|e| {
            (
                if e.field == "name" { "name" } else { e.field },
                e.message.as_str(),
            )
        })
        .collect();
    let limits = &state.config.limits;
    let html = state.admin.views.render(
        "admin_edit.html",
        &json!({
            "base": state.admin.base,
            "csrf": session.csrf,
            "comment": row,
            "values": {
                "name": fields.name,
                "email": fields.email,
                "website": fields.website,
                "text": fields.text,
            },
            "errors": errors,
            "limits": {
                "name": limits.name,
                "email": limits.email,
                "website": limits.website,
                "text": limits.text,
            },
        }),
    )?;
    Ok(page(status, html))
}

/// The login form, or (without a password) how to set one.
fn login_page(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
    has_password: bool,
) -> Result<Response, ApiError> {
    let html = state.admin.views.render(
        "admin_login.html",
        &json!({
            "base": state.admin.base,
            "message": message,
            "has_password": has_password,
            "oidc": state.config.auth.oidc_on(),
        }),
    )?;
    Ok(page(status, html))
}

/// `{base}/admin?...`: the list view to return to after an action.
fn list_url(
    base: &str,
    status: &str,
    q: &str,
    thread: &str,
    site: &str,
    done: &str,
    n: usize,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("status", status),
        ("q", q),
        ("thread", thread),
        ("site", site),
    ] {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    query.append_pair("done", done);
    query.append_pair("n", &n.to_string());
    format!("{base}/admin?{}", query.finish())
}

/// The notice after an action, from a fixed list: a crafted link can only
/// make the page say one of these.
fn done_message(done: &str, n: &str) -> Option<String> {
    let n: usize = n.parse().ok()?;
    let comments = if n == 1 { "comment" } else { "comments" };
    match done {
        "none" => Some("Nothing was selected, so nothing changed.".to_owned()),
        "edit" => Some("The comment was saved.".to_owned()),
        "forget" => Some(format!(
            "The address was forgotten: {n} {comments} removed or emptied, with its subscription and queued mail."
        )),
        action => Action::parse(action).map(|a| format!("{n} {comments} {}.", a.done())),
    }
}

/// An admin page: never cached, never framed, no scripts but our own file.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, axum::response::Html(html)).into_response();
    secure_headers(response.headers_mut());
    response
}

/// `same-origin` rather than `no-referrer` for the referrer: with
/// `no-referrer`, browsers send `Origin: null` on the admin's own forms.
fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

fn redirect(location: &str) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response();
    secure_headers(response.headers_mut());
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn bad_request(state: &AppState, message: &str) -> ApiError {
    ApiError::bad_request("bad_request", message).page(&state.pages)
}

fn not_found(state: &AppState, id: i64) -> ApiError {
    let message = format!("There is no comment with id {id}.");
    ApiError {
        message,
        ..ApiError::not_found()
    }
    .page(&state.pages)
}
