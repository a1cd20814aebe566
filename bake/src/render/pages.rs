//! The receiver's own pages: the form again after a refused post, the reply
//! page, "received", the commenter's edit page and error pages. They go
//! through the same `Renderer` as the baked threads, so a site that
//! overrides a template sees it on these pages too.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use tera::Context;

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

/// A link from one of the receiver's pages back to a page of a site. The
/// page URL of these pages comes from the request (a form's `url`, a reply
/// link's query), so linking it as sent would let anyone put a link to any
/// site on the receiver's own domain. The only way to make one is
/// [`BackLink::checked`], which needs the caller's rule for which origins
/// are theirs; a page that takes a `BackLink` cannot forget to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackLink(url::Url);

/// Templates get the link as a string.
impl Serialize for BackLink {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl BackLink {
    /// `raw` as a link, if it is an absolute http(s) URL with a host, no
    /// user name or password, and an origin `allowed` accepts. The link is
    /// the URL as parsed, not as sent: a browser reads `http:\\evil.example`
    /// or `http://a\@b/` the same way the parser does, so the origin that
    /// was checked is the one a click goes to.
    pub fn checked(raw: &str, allowed: impl Fn(&url::Url) -> bool) -> Option<BackLink> {
        let url = url::Url::parse(raw.trim()).ok()?;
        let usable = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
            && allowed(&url);
        usable.then_some(BackLink(url))
    }

    /// The same link with `#fragment` instead of any fragment it had.
    pub fn with_fragment(&self, fragment: &str) -> BackLink {
        let mut url = self.0.clone();
        url.set_fragment(Some(fragment));
        BackLink(url)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
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
    /// The comment's page, if it is on one of the receiver's sites.
    pub back_url: Option<BackLink>,
}

/// The fields a commenter may change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditValues {
    pub name: String,
    pub website: String,
    pub text: String,
}

impl Renderer {
    /// `page.html`'s language and direction, for a page in `lang` (any tag:
    /// an unknown one is `bake.lang`'s, or English).
    fn page_context(&self, ctx: &mut Context, lang: &str) {
        let lang = self.lang_for(Some(lang));
        ctx.insert("lang", lang);
        ctx.insert("rtl", &crate::i18n::is_rtl(lang));
    }

    /// The form on a page of its own, under the page's `<h1>`: its title
    /// is an `<h2>` there (under a thread's `<h2>` it is an `<h3>`), so
    /// the headings go down one level at a time.
    fn render_page_form(&self, form: &FormContext) -> Result<String> {
        let mut ctx = Context::from_serialize(form)?;
        ctx.insert("heading_level", &2);
        self.render_fragment("form.html", &ctx)
    }

    /// Any template, e.g. one of the receiver's pages.
    pub fn render_page(&self, name: &str, ctx: &Context) -> Result<String> {
        self.render_fragment(name, ctx)
    }

    /// The page a no-JS reader sees when a submission has errors
    /// (`form_error.html`): what is wrong, then the form with their values.
    /// `back` is the page the form came from, if it may be linked.
    pub fn render_form_error(&self, form: &FormContext, back: Option<&BackLink>) -> Result<String> {
        let mut ctx = Context::from_serialize(form)?;
        self.page_context(&mut ctx, &form.lang);
        ctx.insert("form", &self.render_page_form(form)?);
        ctx.insert("back_url", &back);
        ctx.insert("labels", &labels());
        self.render_fragment("form_error.html", &ctx)
    }

    /// The reply page behind each comment's Reply link (`reply.html`).
    /// `parent_html` is the answered comment as `render_comment` made it.
    pub fn render_reply(
        &self,
        form: &FormContext,
        parent_html: Option<&str>,
        back: Option<&BackLink>,
    ) -> Result<String> {
        let mut ctx = Context::from_serialize(form)?;
        self.page_context(&mut ctx, &form.lang);
        ctx.insert("form", &self.render_page_form(form)?);
        ctx.insert("back_url", &back);
        ctx.insert("parent_html", &parent_html);
        self.render_fragment("reply.html", &ctx)
    }

    /// "Received, awaiting moderation" (`received.html`), or "published"
    /// when it went straight on the page; `back` is the page, if it may be
    /// linked. `edit` is the private edit link and when it stops working
    /// ("14:05 UTC"). `lang`: the language of the form that posted.
    pub fn render_received(
        &self,
        back: Option<&BackLink>,
        published: bool,
        edit: Option<(&str, &str)>,
        lang: &str,
    ) -> Result<String> {
        let mut ctx = Context::new();
        self.page_context(&mut ctx, lang);
        ctx.insert("back_url", &back);
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
        // The edit page stays in the site's language: its link carries none.
        self.page_context(&mut ctx, &self.opts.lang);
        ctx.insert("labels", &labels());
        ctx.insert("limits", &self.opts.limits);
        self.render_fragment("edit.html", &ctx)
    }

    /// A generic error page (`error.html`).
    pub fn render_error(&self, status: u16, message: &str) -> Result<String> {
        self.render_error_keeping(status, message, None, &self.opts.lang)
    }

    /// An error page that also shows, for copying, text the reader sent
    /// that could not be used, in `lang` (the reader's form's).
    pub fn render_error_keeping(
        &self,
        status: u16,
        message: &str,
        kept: Option<&str>,
        lang: &str,
    ) -> Result<String> {
        let mut ctx = Context::new();
        self.page_context(&mut ctx, lang);
        ctx.insert("status", &status);
        ctx.insert("message", message);
        ctx.insert("kept", &kept);
        self.render_fragment("error.html", &ctx)
    }
}
