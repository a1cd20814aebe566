//! The receiver's HTTP face: one `router` listing every route, the shared
//! state handlers get, and `launch`, which serves on a listener the caller
//! bound (tests bind port 0) until the shutdown future resolves.

mod admin;
mod bearer;
mod body;
mod comments;
mod edit;
mod error;
mod export;
mod live;
mod mail_links;
mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::http::HeaderValue;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::mail::outbox::MailService;
use crate::pages::Pages;
use crate::signing::Signer;
use crate::store::{self, SharedStore, Store};

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: SharedStore,
    pub pages: Pages,
    /// The admin page's templates, login limiter and cookie settings.
    pub admin: admin::AdminState,
    /// Signs and checks the tokens in links (see `crate::signing`).
    pub signer: Signer,
    /// Keys avatars in the export and the thread top-ups (see `kiln_bake::avatar`).
    pub avatars: kiln_bake::avatar::AvatarKeys,
    /// Email, when `[mail]` is on.
    pub mail: Option<Arc<MailService>>,
    /// The publishing strategies' last runs, for the admin page.
    pub publish: Arc<crate::publish::Status>,
    /// Trusted proxies, rate limits and refusal counts (`crate::abuse`).
    pub proxies: crate::abuse::Proxies,
    pub limiter: crate::abuse::RateLimiter,
    pub counters: crate::abuse::Counters,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Runs a store operation off the async threads; SQLite calls block.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.store.with_store(f).await
    }
}

/// The admission pipeline reaches the store the way handlers do.
impl crate::admission::WithStore for AppState {
    fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send {
        AppState::with_store(self, f)
    }
}

/// Every route the receiver serves.
pub fn router(state: AppState) -> Router {
    // What pages on the site's origins call, with CORS for those origins.
    let public = Router::new()
        .route("/comments", post(comments::submit))
        .route("/kiln.js", get(live::script))
        .route("/api/preview", post(live::preview))
        .route("/api/comments", get(live::since))
        .route("/api/counts", get(live::counts))
        .route("/edit/{token}", get(edit::page).post(edit::act))
        .route("/api/token", get(comments::fresh_token))
        .layer(live::cors(&state.config));
    Router::new()
        .merge(public)
        .route("/reply", get(comments::reply_page))
        .route("/posted/{token}", get(edit::posted))
        .route("/api/export", get(export::export))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/admin", get(admin::index))
        .route("/admin/admin.js", get(admin::script))
        .route("/admin/login", post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/act", post(admin::act))
        .route("/admin/person", post(admin::person))
        .route(
            "/admin/comments/{id}",
            get(admin::edit_page).post(admin::edit),
        )
        .route(
            "/mail/moderate/{token}",
            get(mail_links::moderate_page).post(mail_links::moderate),
        )
        .route(
            "/mail/confirm/{token}",
            get(mail_links::confirm_page).post(mail_links::confirm),
        )
        .route(
            "/mail/unsubscribe/{token}",
            get(mail_links::unsubscribe_page).post(mail_links::unsubscribe),
        )
        .fallback(not_found)
        .layer(axum::middleware::map_response_with_state(
            page_policy(&state.config),
            secure_pages,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                // The path only: query strings and headers may carry data we
                // must not log.
                |req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
                },
            ),
        )
        .with_state(state)
}

/// Seconds since the epoch, for tokens, ages and stamps.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A page reached through a token in its URL (an email link, an edit
/// link): never cached, and never sent on as a Referer to the pages it
/// links to.
fn private_page(status: axum::http::StatusCode, html: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [
            (axum::http::header::CACHE_CONTROL, "no-store"),
            (axum::http::header::REFERRER_POLICY, "no-referrer"),
        ],
        axum::response::Html(html),
    )
        .into_response()
}

/// The Content-Security-Policy of the receiver's own HTML pages (the
/// thank-you, edit, reply and error pages, the pages behind mail links):
/// their style is inline and they run no script; their forms post here;
/// nobody may frame them (the edit page has a delete button). Avatars are
/// inline SVG; Gravatar's pictures load only where `privacy.gravatar` says.
fn page_policy(config: &crate::config::Config) -> HeaderValue {
    let images = if config.privacy.gravatar {
        "img-src https://gravatar.com; "
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'unsafe-inline'; {images}form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    ))
    .expect("a policy is a valid header value")
}

/// Adds the page policy to every HTML answer that has none of its own (the
/// admin page sets a stricter one), and tells browsers not to frame or
/// sniff it.
async fn secure_pages(
    axum::extract::State(policy): axum::extract::State<HeaderValue>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    if html && !headers.contains_key(axum::http::header::CONTENT_SECURITY_POLICY) {
        headers.insert(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        headers.insert(
            axum::http::header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        );
        headers.insert(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    response
}

/// Routes whose last segment is a token that grants something (an edit,
/// a moderation action, a subscription change).
const TOKEN_ROUTES: &[&str] = &[
    "/edit/",
    "/posted/",
    "/mail/moderate/",
    "/mail/confirm/",
    "/mail/unsubscribe/",
];

/// A request path as it may be logged: a token in it is replaced by `…`,
/// because anyone who reads the log could otherwise use it.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match TOKEN_ROUTES.iter().find(|p| path.starts_with(**p)) {
        Some(prefix) => format!("{prefix}…").into(),
        None => path.into(),
    }
}

async fn healthz(state: axum::extract::State<AppState>) -> Result<&'static str, ApiError> {
    state
        .with_store(|store| store.count(crate::store::Status::Pending))
        .await?;
    Ok("ok\n")
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Opens the database, builds the pages, and serves until `shutdown`.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let bound = listener.local_addr().context("listener has no address")?;
    let mut store = store::open(&config.database.path, store::Mode::ReadWrite)?;
    store.set_mail_events(config.mail.is_on());
    let public_url = config.public_url(Some(bound));
    let avatars = store.avatar_keys(config.privacy.gravatar)?;
    let pages = Pages::new(&config, &public_url, avatars.clone())?;
    let db = &config.database;
    let shared = store::coordination(store::Location::new(&db.path, &db.url, &db.password))?;
    let admin = admin::AdminState::new(&config, &public_url, shared.clone())?;
    let signer = crate::mail::signer(&config, store.as_mut())?;
    let pages = if config.spam.form_token {
        pages.with_form_tokens(signer.clone(), config.spam.form_token_days)
    } else {
        pages
    };
    let mail = if config.mail.is_on() {
        let links = crate::mail::Links::new(&config, &public_url, signer.clone());
        Some(Arc::new(MailService::new(&config, links)?))
    } else {
        None
    };
    tracing::info!(
        database = %config.database.path.display(),
        origins = ?config.sites.origins,
        moderation = config.moderation.enabled,
        export_api = !config.server.export_token.is_empty(),
        mail = mail.as_ref().map(|m| m.mailer.server()),
        "listening on http://{bound}"
    );
    let publish = crate::publish::start(&config, &public_url, shared.clone()).await?;
    let state = AppState(Arc::new(Inner {
        store: SharedStore::new(store),
        pages,
        admin,
        signer,
        avatars,
        mail: mail.clone(),
        publish,
        proxies: crate::abuse::Proxies::new(&config),
        limiter: crate::abuse::RateLimiter::new(&config, shared),
        counters: crate::abuse::Counters::default(),
        config,
    }));
    let outbox = match mail {
        Some(mail) => {
            let database = &state.config.database;
            let location = store::Location::new(&database.path, &database.url, &database.password);
            Some(crate::mail::outbox::start(
                state.store.clone(),
                mail,
                location,
            )?)
        }
        None => None,
    };
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server failed");
    if let Some(outbox) = outbox {
        outbox.stop().await;
    }
    served
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/edit/6162.99.ff"), "/edit/…");
        assert_eq!(loggable_path("/mail/moderate/31.2.ab"), "/mail/moderate/…");
        assert_eq!(loggable_path("/comments"), "/comments");
        assert_eq!(loggable_path("/admin/comments/7"), "/admin/comments/7");
    }
}
