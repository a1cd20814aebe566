//! The receiver's HTTP face: one `router` listing every route, the shared
//! state handlers get, and `launch`, which serves on a listener the caller
//! bound (tests bind port 0) until the shutdown future resolves, then
//! drains and stops without dropping a request.

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
mod reactions;
mod signin;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The limits on likes (`[reactions]`), counted apart from posts.
    pub like_limiter: crate::abuse::RateLimiter,
    pub counters: crate::abuse::Counters,
    /// OpenID Connect sign-in, when `[auth]` names a provider
    /// (`crate::auth`), and how its commenter cookie is set.
    pub signin: Option<Arc<crate::auth::SignIn>>,
    pub signin_cookie: crate::auth::session::Cookie,
    /// Set once the receiver has been told to stop (see `drain`).
    pub draining: AtomicBool,
    /// Becomes `true` when the listener closes: background work (the mail
    /// outbox) stops taking new work then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
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

    /// `with_store` for a call that only reads: on SQLite it runs beside
    /// the writer instead of waiting for it (see `SharedStore::read`).
    pub async fn read_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.store.read(f).await
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

    /// In the writer's next batch (group commit on SQLite).
    fn post(
        &self,
        posting: crate::store::Posting,
    ) -> impl Future<Output = crate::store::Posted> + Send {
        self.store.post(posting)
    }
}

/// Every route the receiver serves.
pub fn router(state: AppState) -> Router {
    // What pages on the site's origins call, with CORS for those origins.
    let public = Router::new()
        .route("/comments", post(comments::submit))
        .route("/react", post(reactions::react))
        .route("/kiln.js", get(live::script))
        .route("/api/preview", post(live::preview))
        .route("/api/comments", get(live::since))
        .route("/api/counts", get(live::counts))
        .route("/api/likes", get(reactions::likes))
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
        .route("/auth/login", get(signin::login))
        .route("/auth/callback", get(signin::callback))
        .route("/auth/logout", get(signin::logout_page).post(signin::logout))
        .route("/admin", get(admin::index))
        .route("/admin/admin.js", get(admin::script))
        .route("/admin/login", post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/act", post(admin::act))
        .route("/admin/person", post(admin::person))
        .route(
            "/admin/import",
            // Room for the file and the form's few other fields; a bigger
            // upload is refused with a message naming the limit.
            post(admin::import_upload).layer(axum::extract::DefaultBodyLimit::max(
                admin::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/admin/import/confirm", post(admin::import_confirm))
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
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            close_when_draining,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                // The path only: query strings and headers may carry data we
                // must not log.
                |req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
                },
            )
            .on_failure(log_failure),
        )
        .with_state(state)
}

/// Logs a failed request as tower-http would, at ERROR, except the 503 that
/// `/healthz` answers while draining: load balancers ask for it every few
/// hundred milliseconds, and the drain itself is logged once when it starts.
fn log_failure(
    class: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass;
    if matches!(class, ServerErrorsFailureClass::StatusCode(code) if code == axum::http::StatusCode::SERVICE_UNAVAILABLE)
    {
        return;
    }
    tracing::error!(
        classification = %class,
        latency = %format!("{} ms", latency.as_millis()),
        "response failed"
    );
}

/// Seconds since the epoch, for tokens, ages and stamps.
/// The site a read API is asked about: its `?site=NAME`; else the site of
/// the page asking (the `Origin` a browser sends with the optional script's
/// requests, so a page of any site tops up its own threads); else
/// "default". A name that is no site of this receiver is refused.
pub(crate) fn asked_site(
    config: &Config,
    asked: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Result<String, ApiError> {
    let from_page = || {
        let origin = headers.get(axum::http::header::ORIGIN)?.to_str().ok()?;
        config.sites.site_of(&url::Url::parse(origin).ok()?)
    };
    let name = asked
        .or_else(from_page)
        .unwrap_or(crate::config::DEFAULT_SITE);
    if !config.sites.knows(name) {
        return Err(ApiError::bad_request(
            "unknown_site",
            format!(
                "There is no site {name:?} here; give ?site= one of {:?}.",
                config.sites.names()
            ),
        ));
    }
    Ok(name.to_owned())
}

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
    // The callback's query holds the code, but only the path is logged.
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

/// 200 "ok" when the database answers; 503 "draining" once the receiver
/// has been told to stop (see `drain`), so load balancers send no more.
async fn healthz(
    state: axum::extract::State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    if state.draining.load(Ordering::Relaxed) {
        return Ok((axum::http::StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response());
    }
    state
        .read_store(|store| store.count(crate::store::Status::Pending))
        .await?;
    Ok("ok\n".into_response())
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Opens the database, builds the pages, and serves until `shutdown`
/// resolves; then drains (see `drain`) and returns once every request in
/// flight is answered.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let bound = listener.local_addr().context("listener has no address")?;
    let public_url = config.public_url(Some(bound));
    // Everything start-up asks of the database, on a thread that may block
    // (PostgreSQL's client panics on an async worker thread).
    let (store, avatars, signer) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let mut store = open_store(&config.database, config.mail.is_on())?;
            let avatars = store.avatar_keys(config.privacy.gravatar)?;
            let signer = crate::mail::signer(&config, store.as_mut())?;
            warn_unknown_moderators(&config, &store.moderator_accounts()?);
            Ok((store, avatars, signer))
        })
        .await
        .context("start-up task failed")??
    };
    let db = &config.database;
    let store = store::shared(
        store::Location::new(&db.path, &db.url, &db.password),
        store,
        config.mail.is_on(),
        db.max_connections as usize,
        db.readers(),
    )?;
    let pages = Pages::new(&config, &public_url, avatars.clone())?;
    let shared = store::coordination(store::Location::new(&db.path, &db.url, &db.password))?;
    let admin = admin::AdminState::new(&config, &public_url, shared.clone())?;
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
        database = %config.database.describe(),
        origins = ?config.sites.origins,
        moderation = config.moderation.enabled,
        export_api = !config.server.export_token.is_empty(),
        mail = mail.as_ref().map(|m| m.mailer.server()),
        "listening on http://{bound}"
    );
    // The publisher reads the database and may bake in place on a thread
    // of its own; this waits for its first bake without blocking.
    let publish = crate::publish::start(&config, &public_url, shared.clone()).await?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = AppState(Arc::new(Inner {
        store,
        pages,
        admin,
        signer,
        avatars,
        mail: mail.clone(),
        publish,
        proxies: crate::abuse::Proxies::new(&config),
        limiter: crate::abuse::RateLimiter::new(&config, shared.clone()),
        like_limiter: crate::abuse::RateLimiter::for_likes(&config, shared),
        counters: crate::abuse::Counters::default(),
        signin: crate::auth::SignIn::new(&config, &public_url)?.map(Arc::new),
        signin_cookie: crate::auth::session::Cookie::new(&public_url, config.auth.session_hours),
        draining: AtomicBool::new(false),
        stopping,
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
        router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(drain(state, shutdown, stop))
    .await
    .context("server failed");
    // The listener has closed and every request in flight is answered; the
    // outbox stops claiming and finishes the message it is sending.
    if let Some(outbox) = outbox {
        outbox.stop().await;
    }
    served?;
    tracing::info!("stopped: every request in flight has been answered");
    Ok(())
}

/// Opens one connection to the configured database, ready for the
/// receiver: migrated, with mail events as `[mail]` says.
/// Warns about each name a site's `moderators` lists that can sign in no
/// way: no account has it, and no OpenID provider or proxy could name it.
/// A warning, not a refusal: the account may be made after the start
/// (`kiln admin set-password --moderator`), and until then the name grants
/// nothing.
fn warn_unknown_moderators(config: &crate::config::Config, accounts: &[String]) {
    for name in config.sites.unknown_moderators(accounts, &config.auth) {
        tracing::warn!(
            moderator = name,
            "a site's `moderators` lists {name:?}, which is no moderator account here; set its password with `kiln admin set-password --moderator {name}`"
        );
    }
}

fn open_store(database: &crate::config::Database, mail_on: bool) -> Result<Box<dyn Store>> {
    let location = store::Location::new(&database.path, &database.url, &database.password);
    let mut store = store::open_at(location, store::Mode::ReadWrite)?;
    store.set_mail_events(mail_on);
    Ok(store)
}

/// What follows `shutdown` (SIGTERM, Ctrl-C): `server.drain_ms` of serving
/// on with `/healthz` answering 503 and every response closing its
/// connection, so a load balancer stops sending here; then the listener
/// closes (this future resolving tells axum to stop accepting and to
/// finish the requests in flight), and the outbox stops.
async fn drain(
    state: AppState,
    shutdown: impl Future<Output = ()>,
    stop: tokio::sync::watch::Sender<bool>,
) {
    shutdown.await;
    state.draining.store(true, Ordering::Relaxed);
    let drain_ms = state.config.server.drain_ms;
    if drain_ms > 0 {
        tracing::info!(
            drain_ms,
            "draining: /healthz answers 503, requests are still served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(drain_ms)).await;
    }
    tracing::info!("no longer accepting connections; finishing the requests in flight");
    stop.send_replace(true);
}

/// Every response says `Connection: close` while the receiver drains, so
/// clients open their next connection elsewhere.
async fn close_when_draining(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    if state.draining.load(Ordering::Relaxed) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{launch, loggable_path, Config};
    use crate::store::{open_at, Location, Mode};

    /// The receiver on PostgreSQL, whose synchronous client panics when
    /// called on an async worker thread: start-up (the store, the avatar
    /// salt, the signing key) and the admin login (the password hash, a new
    /// session) answer, so none of those calls ran on one. Only store
    /// methods PostgreSQL has so far are reached.
    #[test]
    fn on_postgres_no_store_call_runs_on_an_async_thread() {
        let Some(db) = crate::store::scratch::scratch_db() else {
            return;
        };
        let mut config = Config::default();
        config.database.url = db.url.clone();
        config.database.max_connections = 2;
        config.validate().unwrap();
        open_at(
            Location::new(&config.database.path, &db.url, ""),
            Mode::ReadWrite,
        )
        .unwrap()
        .set_admin_password_hash(&crate::password::hash("correct horse").unwrap())
        .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(launch(config, listener, async {
                let _ = stopped.await;
            }));
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let page = client.get(format!("{url}/admin")).send().await.unwrap();
            assert_eq!(page.status(), 200);
            assert!(page.text().await.unwrap().contains("password"));
            let login = client
                .post(format!("{url}/admin/login"))
                .header("origin", &url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("password=correct+horse")
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), 303, "logged in");
            assert!(login.headers().contains_key("set-cookie"));
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        });
    }

    #[test]
    fn tokens_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/edit/6162.99.ff"), "/edit/…");
        assert_eq!(loggable_path("/mail/moderate/31.2.ab"), "/mail/moderate/…");
        assert_eq!(loggable_path("/comments"), "/comments");
        assert_eq!(loggable_path("/admin/comments/7"), "/admin/comments/7");
    }
}
