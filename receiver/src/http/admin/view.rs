//! The admin page's templates: built in (`templates/admin*.html`, on the
//! receiver pages' base `page.html` and `style.css`), each replaceable by a
//! file of the same name in `templates.dir`, like every kiln template. Tera
//! escapes every value; only comment HTML that ammonia sanitized (the same
//! HTML bake publishes) is marked safe.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use tera::Tera;

use crate::store::{Status, StoredComment};

const BUILTINS: &[(&str, &str)] = &kiln_bake::render::templates::builtins([
    "page.html",
    "style.css",
    "admin.css",
    "admin.js",
    "admin_login.html",
    "admin.html",
    "admin_edit.html",
    "admin_import.html",
]);

pub struct Views {
    tera: Tera,
}

impl Views {
    pub fn new(templates_dir: Option<&Path>) -> Result<Self> {
        let tera = kiln_bake::render::load_templates(BUILTINS, templates_dir)
            .context("loading the admin page's templates")?;
        Ok(Views { tera })
    }

    pub fn render(&self, name: &str, ctx: &impl Serialize) -> Result<String> {
        let ctx = tera::Context::from_serialize(ctx)?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!(kiln_bake::render::templates::tera_chain(&e)))
            .with_context(|| format!("rendering {name}"))
    }
}

/// One comment as the admin page lists it.
#[derive(Debug, Serialize)]
pub struct Row {
    pub id: i64,
    pub status: &'static str,
    /// The site its thread is on.
    pub site: String,
    pub thread: String,
    /// The thread id URL-encoded, for the per-thread view's link.
    pub thread_q: String,
    pub page_url: String,
    /// `page_url` as a link, only while its site is one of `sites.origins`.
    pub page_link: Option<kiln_bake::render::BackLink>,
    pub parent: Option<i64>,
    pub author: String,
    pub email: Option<String>,
    /// Only http(s) URLs, so the link is never `javascript:`.
    pub website: Option<String>,
    pub ip: Option<String>,
    pub age: String,
    pub posted: String,
    /// The text rendered and sanitized exactly as bake publishes it.
    pub html: String,
    /// The identicon the published comment will show (inline SVG).
    pub avatar: String,
}

impl Row {
    pub fn new(c: &StoredComment, now: i64, pages: &crate::pages::Pages) -> Row {
        Row {
            id: c.id,
            status: c.status.as_str(),
            site: c.site.clone(),
            thread: c.thread.clone(),
            thread_q: url::form_urlencoded::byte_serialize(c.thread.as_bytes()).collect(),
            page_url: c.page_url.clone(),
            page_link: pages.back_link(&c.page_url),
            parent: c.parent,
            author: c.author.clone(),
            email: c.email.clone(),
            website: c
                .website
                .clone()
                .filter(|w| crate::submission::is_web_url(w)),
            ip: c.remote_addr.clone(),
            age: age(now - c.created_at),
            posted: kiln_bake::export::unix_to_rfc3339(c.created_at),
            html: if c.status == Status::Deleted {
                String::new()
            } else {
                kiln_bake::markdown::to_html(&c.text)
            },
            avatar: if c.status == Status::Deleted {
                String::new()
            } else {
                pages.avatar(c)
            },
        }
    }
}

pub fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}
