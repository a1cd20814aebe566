//! The receiver's HTTP face: one `router` listing every route, the shared
//! state handlers get, and `launch`, which serves on a listener the caller
//! bound (tests bind port 0) until the shutdown future resolves.

mod admin;
mod comments;
mod error;
mod export;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::pages::Pages;
use crate::store::Store;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Mutex<Store>,
    pub pages: Pages,
    /// The admin page's templates, login limiter and cookie settings.
    pub admin: admin::AdminState,
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
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = state
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut store)
        })
        .await
        .context("store task failed")?
    }
}

/// Every route the receiver serves.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/comments", post(comments::submit))
        .route("/reply", get(comments::reply_page))
        .route("/api/export", get(export::export))
        .route("/healthz", get(healthz))
        .route("/admin", get(admin::index))
        .route("/admin/login", post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/act", post(admin::act))
        .route(
            "/admin/comments/{id}",
            get(admin::edit_page).post(admin::edit),
        )
        .fallback(not_found)
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                // The path only: query strings and headers may carry data we
                // must not log.
                |req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
        .with_state(state)
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
    let store = Store::open(&config.database.path)?;
    let public_url = config.public_url(Some(bound));
    let pages = Pages::new(&config, &public_url)?;
    let admin = admin::AdminState::new(&config, &public_url)?;
    tracing::info!(
        database = %config.database.path.display(),
        origins = ?config.sites.origins,
        moderation = config.moderation.enabled,
        export_api = !config.server.export_token.is_empty(),
        "listening on http://{bound}"
    );
    let state = AppState(Arc::new(Inner {
        config,
        store: Mutex::new(store),
        pages,
        admin,
    }));
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server failed")
}
