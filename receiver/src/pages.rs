//! The receiver's own HTML pages (the form again with errors, the reply page,
//! error pages) and the HTML of a single comment for JSON clients. They are
//! rendered by bake's renderer with the same templates, so they look like
//! the baked threads and honour the site's template overrides.

use std::collections::BTreeMap;

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus};
use kiln_bake::render::{
    BackLink, FormContext, FormLimits, FormValues, RenderOptions, Renderer, FORM_TOKEN_PURPOSE,
};

use crate::config::{Config, Sites};
use crate::signing::Signer;
use crate::store::StoredComment;
use crate::submission::{FieldError, Submission};

pub struct Pages {
    renderer: Renderer,
    /// Signs the forms these pages show (`spam.form_token`): the key and
    /// how many days a token lasts.
    form_tokens: Option<(Signer, u32)>,
    /// Keys the avatars of comments shown before they are published, the
    /// way the export will key them once they are.
    avatars: AvatarKeys,
    /// The sites these pages may link back to (`sites.origins`).
    sites: Sites,
}

/// A link to `raw` if it is a page of one of `config`'s sites: the one
/// check every link and redirect the receiver makes to a page goes
/// through, whether the URL came from a request or from the database.
pub fn site_link(sites: &Sites, raw: &str) -> Option<BackLink> {
    BackLink::checked(raw, |url| sites.allows_origin(url))
}

impl Pages {
    /// `avatars` comes from the store (`Store::avatar_keys`).
    pub fn new(config: &Config, public_url: &str, avatars: AvatarKeys) -> Result<Self> {
        Ok(Pages {
            renderer: Renderer::new(render_options(config, public_url))?,
            form_tokens: None,
            avatars,
            sites: config.sites.clone(),
        })
    }

    /// Puts a fresh signed token, made at request time, in every form
    /// these pages show, so a refused no-JS post can be sent again as is.
    pub fn with_form_tokens(mut self, signer: Signer, days: u32) -> Self {
        self.form_tokens = Some((signer, days));
        self
    }

    /// A link to `raw`, if it is a page of one of the configured sites.
    pub fn back_link(&self, raw: &str) -> Option<BackLink> {
        site_link(&self.sites, raw)
    }

    /// The form again, with every value the reader typed and each error next
    /// to its field. It links back to the page only if the page is one of
    /// the configured sites': a refused `url` is often the reason it is
    /// shown at all.
    pub fn form_error(
        &self,
        submission: &Submission,
        notify: bool,
        errors: &[FieldError],
    ) -> Result<String> {
        let mut form = self.form(submission);
        form.values.notify = notify;
        for error in errors {
            form.errors
                .entry(error.field.to_owned())
                .or_insert_with(|| error.localized(submission.lang()));
        }
        let back = self.back_link(&submission.url);
        self.renderer.render_form_error(&form, back.as_ref())
    }

    /// The no-JS reply page: the comment being answered, then the form.
    pub fn reply(&self, submission: &Submission, parent: &StoredComment) -> Result<String> {
        let parent_html = self.comment(parent)?;
        let back = self.back_link(&submission.url);
        self.renderer
            .render_reply(&self.form(submission), Some(&parent_html), back.as_ref())
    }

    /// A generic error page; falls back to plain text if a user's template
    /// is broken, so an error never hides behind another.
    pub fn error(&self, status: u16, message: &str) -> String {
        self.error_keeping(status, message, None, kiln_bake::i18n::DEFAULT)
    }

    /// An error page that also shows `kept`, text the reader sent that
    /// could not be used, for copying; in `lang` (a reader's form's).
    pub fn error_keeping(
        &self,
        status: u16,
        message: &str,
        kept: Option<&str>,
        lang: &str,
    ) -> String {
        self.renderer
            .render_error_keeping(status, message, kept, lang)
            .unwrap_or_else(|_| {
                let escape = kiln_bake::render::escape_html;
                let kept = kept
                    .map(|k| format!("<textarea readonly>{}</textarea>", escape(k)))
                    .unwrap_or_default();
                format!(
                    "<!doctype html><title>Error {status}</title><p>{}</p>{kept}",
                    escape(message)
                )
            })
    }

    /// The refusal of an edit link (expired, or altered), with what the
    /// reader typed, if anything, kept for copying.
    pub fn refused_edit(&self, status: u16, message: &str, typed: Option<&str>) -> String {
        self.error_keeping(status, message, typed, kiln_bake::i18n::DEFAULT)
    }

    /// Where a no-JS post lands: thank you, the edit link and the page
    /// (`back`, from [`Pages::back_link`]), in `lang` (the form's).
    pub fn received(
        &self,
        back: Option<&BackLink>,
        published: bool,
        edit: Option<(&str, &str)>,
        lang: &str,
    ) -> Result<String> {
        self.renderer.render_received(back, published, edit, lang)
    }

    /// A commenter's edit page.
    pub fn edit(&self, page: &kiln_bake::render::EditPage) -> Result<String> {
        self.renderer.render_edit(page)
    }

    /// The receiver's public URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.renderer.options().receiver_url
    }

    /// A published comment of a thread as the baked page shows it, for the
    /// optional script's top-up.
    pub fn published_comment(
        &self,
        thread: &str,
        page_url: &str,
        comment: &Comment,
    ) -> Result<String> {
        self.render_comment(thread, page_url, comment)
    }

    /// The words `data-kiln-count` elements get, as bake bakes them
    /// (`count.html`), for the optional script's count top-up.
    pub fn count(&self, count: u64) -> Result<String> {
        let lang = self.renderer.lang_for(None);
        self.renderer.render_count(count, lang)
    }

    /// One comment as bake would render it once published, avatar
    /// included, whatever its state.
    pub fn comment(&self, stored: &StoredComment) -> Result<String> {
        let comment = self.as_published(stored);
        self.render_comment(&stored.thread, &stored.page_url, &comment)
    }

    /// `comment`, for a stored comment whose text is already `html`;
    /// `verified` when it was posted signed in, so it shows the mark bake
    /// gives it.
    pub fn rendered_comment(
        &self,
        stored: &StoredComment,
        html: String,
        verified: bool,
    ) -> Result<String> {
        let mut comment = self.as_published(stored);
        comment.html = Some(html);
        comment.verified = verified;
        self.render_comment(&stored.thread, &stored.page_url, &comment)
    }

    /// A comment's avatar as its published form will show it, for the
    /// admin page: the identicon (the admin page loads no pictures from
    /// elsewhere, so never Gravatar's).
    pub fn avatar(&self, stored: &StoredComment) -> String {
        let mut comment = self.as_published(stored);
        comment.gravatar = None;
        self.renderer.avatar(&comment).into_owned()
    }

    /// A stored comment as the export carries it once published, avatar
    /// keys included.
    fn as_published(&self, stored: &StoredComment) -> Comment {
        let mut comment = Comment {
            id: stored.id,
            parent: stored.parent,
            status: CommentStatus::Approved,
            author: stored.author.clone(),
            website: stored.website.clone(),
            text: stored.text.clone(),
            created_at: unix_to_rfc3339(stored.created_at),
            avatar: None,
            gravatar: None,
            likes: 0,
            verified: false,
            html: None,
        };
        self.avatars.apply(&mut comment, stored.email.as_deref());
        comment
    }

    fn form(&self, submission: &Submission) -> FormContext {
        let mut form = self.renderer.form_context(
            &submission.thread,
            &submission.url,
            submission.parent.trim().parse().ok(),
        );
        form.values = FormValues {
            name: submission.name.clone(),
            email: submission.email.clone(),
            website: submission.website.clone(),
            text: submission.text.clone(),
            notify: false,
        };
        form.errors = BTreeMap::new();
        form.token = self.form_token(submission.thread.trim());
        form.lang = submission.lang().to_owned();
        form
    }

    /// A form token for `thread` made now (`spam.form_token`), or empty.
    fn form_token(&self, thread: &str) -> String {
        let Some((signer, days)) = &self.form_tokens else {
            return String::new();
        };
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(*days) * 86_400;
        signer.sign(FORM_TOKEN_PURPOSE, thread, Some(expires))
    }

    /// One comment as a thread shows it, its like form (with reactions on)
    /// signed now as the forms these pages show are.
    fn render_comment(&self, thread: &str, page_url: &str, comment: &Comment) -> Result<String> {
        let token = self.form_token(thread);
        let lang = self.renderer.lang_for(None);
        self.renderer
            .render_comment_signed(thread, page_url, comment, &token, lang)
    }
}

/// The render options the configuration implies; bake uses the same.
pub fn render_options(config: &Config, receiver_url: &str) -> RenderOptions {
    RenderOptions {
        templates_dir: config.templates.dir.clone(),
        max_depth: config.bake.max_depth,
        script: config.bake.script,
        script_file: config.bake.script_file.clone(),
        live: config.bake.live,
        // Set by bake when it writes the script (`bake.script_file`).
        script_url: String::new(),
        avatars: config.bake.avatars,
        gravatar: config.privacy.gravatar,
        theme: config.bake.theme,
        // What the receiver itself knows; a bake from an export or a
        // receiver's URL takes the answer from there instead.
        offer_notify: config.mail.is_on(),
        reactions: config.reactions.enabled,
        signin: config.auth.oidc_on(),
        receiver_url: receiver_url.trim_end_matches('/').to_owned(),
        limits: FormLimits {
            name: config.limits.name,
            email: config.limits.email,
            website: config.limits.website,
            text: config.limits.text,
        },
        form_tokens: None,
        // Set by bake when it writes the stylesheet (`bake.stylesheet`).
        stylesheet_url: String::new(),
        lang: config.bake.lang.clone(),
    }
}
