//! The receiver's own pages: the form again after a refused post, the reply
//! page, "received", the commenter's edit page and error pages. They go
//! through the same `Renderer` as the baked threads, so a site that
//! overrides a template sees it on these pages too.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use tera::Context;

use super::escape::http_url;
use super::{FormContext, Renderer};

/// Human labels for form fields, for error summaries.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("email", "Email"),
    ("website", "Website"),
    ("text", "Comment"),
    ("thread", "Thread"),
    ("url", "Page address"),
    ("parent", "Reply"),
    ("token", "Form"),
];

fn labels() -> BTreeMap<&'static str, &'static str> {
    FIELD_LABELS.iter().copied().collect()
}

/// What the commenter's edit page shows (see `templates/edit.html`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditPage {
    /// Where the page's forms post.
    pub action: String,
    /// The comment as it is stored now, rendered like a baked one.
    pub comment_html: String,
    pub pending: bool,
    pub values: EditValues,
    /// Field name → message, for a refused save.
    pub errors: BTreeMap<String, String>,
    pub id_prefix: String,
    /// When the edit link stops working, for people ("14:05 UTC").
    pub edit_until: String,
    /// The outcome of the last save: "saved", "held", or empty.
    pub notice: String,
    /// The comment's page; linked only if it is an http(s) URL.
    pub page_url: String,
}

/// The fields a commenter may change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditValues {
    pub name: String,
    pub website: String,
    pub text: String,
}

impl Renderer {
    /// Any template, e.g. one of the receiver's pages.
    pub fn render_page(&self, name: &str, ctx: &Context) -> Result<String> {
        self.render_fragment(name, ctx)
    }

    /// The page a no-JS reader sees when a submission has errors
    /// (`form_error.html`): what is wrong, then the form with their values.
    pub fn render_form_error(&self, form: &FormContext) -> Result<String> {
        let mut ctx = Context::from_serialize(form)?;
        ctx.insert("form", &self.render_form(form)?);
        ctx.insert("back_url", &http_url(&form.url));
        ctx.insert("labels", &labels());
        self.render_fragment("form_error.html", &ctx)
    }

    /// The reply page behind each comment's Reply link (`reply.html`).
    /// `parent_html` is the answered comment as `render_comment` made it.
    pub fn render_reply(&self, form: &FormContext, parent_html: Option<&str>) -> Result<String> {
        let mut ctx = Context::from_serialize(form)?;
        ctx.insert("form", &self.render_form(form)?);
        ctx.insert("back_url", &http_url(&form.url));
        ctx.insert("parent_html", &parent_html);
        self.render_fragment("reply.html", &ctx)
    }

    /// "Received, awaiting moderation" (`received.html`), or "published"
    /// when it went straight on the page; `page_url` is only linked if it
    /// is an http(s) URL. `edit` is the private edit link and when it stops
    /// working ("14:05 UTC").
    pub fn render_received(
        &self,
        page_url: &str,
        published: bool,
        edit: Option<(&str, &str)>,
    ) -> Result<String> {
        let mut ctx = Context::new();
        ctx.insert("back_url", &http_url(page_url));
        ctx.insert("published", &published);
        if let Some((url, until)) = edit {
            ctx.insert("edit_url", url);
            ctx.insert("edit_until", until);
        }
        self.render_fragment("received.html", &ctx)
    }

    /// The commenter's edit page (`edit.html`).
    pub fn render_edit(&self, page: &EditPage) -> Result<String> {
        let mut ctx = Context::from_serialize(page)?;
        ctx.insert("back_url", &http_url(&page.page_url));
        ctx.insert("labels", &labels());
        ctx.insert("limits", &self.opts.limits);
        self.render_fragment("edit.html", &ctx)
    }

    /// A generic error page (`error.html`).
    pub fn render_error(&self, status: u16, message: &str) -> Result<String> {
        self.render_error_keeping(status, message, None)
    }

    /// An error page that also shows, for copying, text the reader sent
    /// that could not be used.
    pub fn render_error_keeping(
        &self,
        status: u16,
        message: &str,
        kept: Option<&str>,
    ) -> Result<String> {
        let mut ctx = Context::new();
        ctx.insert("status", &status);
        ctx.insert("message", message);
        ctx.insert("kept", &kept);
        self.render_fragment("error.html", &ctx)
    }
}
