//! `kiln demo`: the quick start for a newcomer, with no configuration. One
//! process on 127.0.0.1 serves the example Hugo site and the receiver with
//! its admin page; approvals are baked into the served pages in place.
//!
//! The site is `examples/hugo` as Hugo built it (`examples/demo-site/`, kept
//! equal to a real `hugo --baseURL /` build by the `demo` e2e test), embedded
//! in the binary, so the demo needs neither Hugo nor this repository at run
//! time. Everything it writes lives in one directory (`./kiln-demo/` by
//! default): the site, the SQLite database and bake's state.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kiln_receiver::config::Config;
use kiln_receiver::store::{self, Mode};

use crate::cli::DemoArgs;

/// The built example site, as (relative path, bytes).
const SITE: &[(&str, &[u8])] = &[
    (
        "about/index.html",
        include_bytes!("../examples/demo-site/about/index.html"),
    ),
    (
        "css/site.css",
        include_bytes!("../examples/demo-site/css/site.css"),
    ),
    (
        "index.html",
        include_bytes!("../examples/demo-site/index.html"),
    ),
    (
        "posts/hello-world/index.html",
        include_bytes!("../examples/demo-site/posts/hello-world/index.html"),
    ),
    (
        "posts/index.html",
        include_bytes!("../examples/demo-site/posts/index.html"),
    ),
    (
        "posts/second-post/index.html",
        include_bytes!("../examples/demo-site/posts/second-post/index.html"),
    ),
    (
        "posts/third/index.html",
        include_bytes!("../examples/demo-site/posts/third/index.html"),
    ),
];

pub fn run(args: DemoArgs) -> Result<()> {
    let dir = args.dir;
    let site_dir = dir.join("site");
    crate::init_logs("warn");
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // The ports first: a demo that cannot start leaves nothing behind.
        let site_listener = bind(args.site_port).await?;
        let receiver_listener = bind(args.port).await?;
        write_site(&site_dir)?;
        let site_url = format!("http://{}", site_listener.local_addr()?);
        let receiver_url = format!("http://{}", receiver_listener.local_addr()?);

        let mut config = Config::default();
        config.database.path = dir.join("kiln.sqlite3");
        config.server.listen = receiver_listener.local_addr()?.to_string();
        config.server.public_url = receiver_url.clone();
        config.sites.origins = vec![site_url.clone()];
        config.bake.site_url = site_url.clone();
        config.publish.in_place = vec![site_dir.clone()];
        config.validate()?;

        // A new admin password each start, shown once, stored as a hash; and
        // the comments already approved baked into the fresh site. Both use
        // the database, so not on an async thread.
        let password = {
            let (config, receiver_url) = (config.clone(), receiver_url.clone());
            tokio::task::spawn_blocking(move || -> Result<String> {
                let password = kiln_receiver::store::random_hex(10);
                let mut store = store::open(&config.database.path, Mode::ReadWrite)?;
                store.set_admin_password_hash(&kiln_receiver::password::hash(&password)?)?;
                drop(store);
                kiln_receiver::publish::bake_in_place_now(&config, &receiver_url);
                Ok(password)
            })
            .await
            .context("the demo's start-up task failed")??
        };

        println!("kiln demo: the example site with comments, the receiver and its admin page");
        println!();
        println!("  site:     {site_url}/posts/hello-world/");
        println!("  admin:    {receiver_url}/admin");
        println!("  password: {password}   (for this run only)");
        println!("  data:     {}", dir.display());
        println!();
        println!("Post a comment on the site, approve it in the admin page, reload the page.");
        println!("Ctrl-C stops the demo.");

        let root = site_dir.clone();
        let site = axum::Router::new().fallback(move |uri: Uri| {
            let root = root.clone();
            async move { serve_file(&root, &uri).await }
        });
        tokio::select! {
            served = kiln_receiver::http::launch(config, receiver_listener, std::future::pending()) => served,
            served = axum::serve(site_listener, site) => served.context("the site server failed"),
            _ = crate::shutdown_signal() => Ok(()),
        }
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

/// A fresh copy of the site on every start; the in-place bake at start puts
/// the comments already approved back in.
fn write_site(site_dir: &Path) -> Result<()> {
    for (path, bytes) in SITE {
        let file = site_dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}; choose other ports with --site-port and --port (0 picks a free one)"))
}

/// Serves a file under `root` as a static host would: `/posts/a/` is
/// `posts/a/index.html`. Paths that climb out of `root` are not found.
async fn serve_file(root: &Path, uri: &Uri) -> Response {
    let path = uri.path();
    let mut file = PathBuf::from(root);
    let mut clean = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let mut parts = Path::new(part).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(name)), None) => file.push(name),
            _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
        }
        clean.push('/');
        clean.push_str(part);
    }
    if path.ends_with('/') {
        file.push("index.html");
    } else if std::fs::metadata(&file).is_ok_and(|m| m.is_dir()) {
        // Rebuilt from the checked parts: `//host` cannot become a redirect
        // to another site.
        let to = format!("{clean}/");
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response();
    }
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        // Module scripts run only when served as JavaScript.
        Some("js") => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    };
    match std::fs::read(&file) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, kind),
                // Comments arrive by re-baking: never serve a stale page.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
