//! One comment as `comment.html` sees it: the view every path builds (the
//! thread walk, a single comment for the receiver, the fast path), and the
//! avatar and date shown with it.

use std::borrow::Cow;

use anyhow::Result;
use serde::Serialize;
use tera::Context;

use super::escape::http_url;
use super::Renderer;
use crate::avatar;
use crate::export::{Comment, CommentStatus};
use crate::markdown;

/// `comment.html`'s context.
#[derive(Serialize)]
/// Flat, because tera allocates for every dotted lookup (`comment.author`),
/// and this template runs once per comment.
struct CommentContext<'a> {
    #[serde(flatten)]
    comment: CommentView<'a>,
    /// The replies, already rendered (HTML).
    replies: String,
    /// Whether there are any, for `{% if %}` (cheaper than testing `replies`).
    has_replies: bool,
    /// 1 for top-level comments.
    depth: usize,
}

#[derive(Serialize)]
pub(super) struct CommentView<'a> {
    /// The locale of the words around it (a locale of `i18n::LOCALES`).
    pub(super) lang: &'static str,
    pub(super) id: i64,
    /// `kiln-comment-{id}`, the element id and permalink fragment.
    pub(super) anchor: String,
    pub(super) parent: Option<i64>,
    pub(super) deleted: bool,
    pub(super) author: &'a str,
    /// The name was verified by sign-in (`export::Comment::verified`).
    pub(super) verified: bool,
    /// Only an http(s) URL, re-checked here whatever the store holds.
    pub(super) website: Option<String>,
    /// RFC 3339, for `datetime`.
    pub(super) created_at: &'a str,
    /// E.g. `23 Nov 2026` (UTC), in `lang`'s way.
    pub(super) date: String,
    /// The avatar (HTML: inline SVG, or Gravatar's `<img>`); empty when off.
    pub(super) avatar: Cow<'static, str>,
    /// The sanitized body.
    pub(super) html: Cow<'a, str>,
    pub(super) reply_url: String,
    /// Set when the comment is listed away from the comment it answers.
    #[serde(flatten)]
    pub(super) reply_to: Option<ReplyTo<'a>>,
    /// The like form, with reactions on; never for a deleted marker.
    #[serde(flatten)]
    pub(super) like: Option<Like<'a>>,
}

/// What a thread's like forms share: where they post, the page to come
/// back to and the thread's signed form token (the comment form's, which
/// the receiver checks against the liked comment's thread).
pub(super) struct LikeForm {
    pub(super) action: String,
    pub(super) url: String,
    pub(super) token: String,
}

/// One comment's like form, as `comment.html` sees it.
#[derive(Serialize)]
pub(super) struct Like<'a> {
    pub(super) like_action: &'a str,
    pub(super) like_url: &'a str,
    pub(super) like_token: &'a str,
    pub(super) likes: u64,
}

#[derive(Serialize)]
pub(super) struct ReplyTo<'a> {
    #[serde(rename = "reply_to_anchor")]
    pub(super) anchor: String,
    #[serde(rename = "reply_to_author")]
    pub(super) author: &'a str,
}

/// The element id, and permalink fragment, a thread gives comment `id`;
/// feeds link to the same.
pub fn anchor(id: i64) -> String {
    format!("kiln-comment-{id}")
}

/// `2026-11-23T12:00:00Z` → `23 Nov 2026` in English, `2026年11月23日` in
/// Japanese (`i18n::date`); anything unparsable is shown as is.
fn human_date(rfc3339: &str, lang: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| crate::i18n::date(lang, t.to_offset(time::UtcOffset::UTC).date()))
        .unwrap_or_else(|_| rfc3339.to_owned())
}

impl Renderer {
    /// One comment without replies, e.g. for a JSON client that just posted
    /// it (`comment.html`).
    pub fn render_comment(
        &self,
        thread: &str,
        page_url: &str,
        comment: &Comment,
        lang: &str,
    ) -> Result<String> {
        self.render_comment_signed(thread, page_url, comment, &self.form_token(thread), lang)
    }

    /// `render_comment` with `token` as the thread's form token in its like
    /// form, for a receiver that signs with a fresh expiry per request.
    pub fn render_comment_signed(
        &self,
        thread: &str,
        page_url: &str,
        comment: &Comment,
        token: &str,
        lang: &str,
    ) -> Result<String> {
        let like = self.like_form(page_url, token);
        let prefix = self.reply_url_prefix(thread, page_url);
        let lang = self.lang_for(Some(lang));
        let view = self.comment_view(&prefix, comment, None, like.as_ref(), lang);
        self.render_comment_view(view, String::new(), 1)
    }

    /// The thread's signed form token, or empty when forms are not signed.
    pub(super) fn form_token(&self, thread: &str) -> String {
        self.opts
            .form_tokens
            .as_ref()
            .map(|t| t.token(thread))
            .unwrap_or_default()
    }

    /// What a thread's like forms share, with reactions on.
    pub(super) fn like_form(&self, page_url: &str, token: &str) -> Option<LikeForm> {
        self.opts.reactions.then(|| LikeForm {
            action: format!("{}/react", self.opts.receiver_url),
            url: page_url.to_owned(),
            token: token.to_owned(),
        })
    }

    /// The start of every Reply link in a thread; the comment id ends it.
    pub(super) fn reply_url_prefix(&self, thread: &str, page_url: &str) -> String {
        format!(
            "{}/reply?{}&parent=",
            self.opts.receiver_url,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("thread", thread)
                .append_pair("url", page_url)
                .finish()
        )
    }

    pub(super) fn comment_view<'a>(
        &self,
        reply_url_prefix: &str,
        comment: &'a Comment,
        reply_to: Option<ReplyTo<'a>>,
        like: Option<&'a LikeForm>,
        lang: &'static str,
    ) -> CommentView<'a> {
        let deleted = comment.status == CommentStatus::Deleted;
        CommentView {
            lang,
            id: comment.id,
            anchor: anchor(comment.id),
            parent: comment.parent,
            deleted,
            author: if deleted { "" } else { &comment.author },
            verified: comment.verified && !deleted,
            website: if deleted {
                None
            } else {
                comment.website.as_deref().and_then(http_url)
            },
            created_at: &comment.created_at,
            date: human_date(&comment.created_at, lang),
            avatar: self.avatar(comment),
            html: match (&comment.html, deleted) {
                (_, true) => Cow::Borrowed(""),
                (Some(html), false) => Cow::Borrowed(html),
                (None, false) => Cow::Owned(markdown::to_html(&comment.text)),
            },
            reply_url: format!("{reply_url_prefix}{}", comment.id),
            reply_to,
            like: like.filter(|_| !deleted).map(|form| Like {
                like_action: &form.action,
                like_url: &form.url,
                like_token: &form.token,
                likes: comment.likes,
            }),
        }
    }

    /// The comment's avatar as HTML: Gravatar's picture when enabled and
    /// the comment has a hash, else its identicon, else the neutral one.
    /// Nothing for deleted markers, or when avatars are off.
    pub fn avatar(&self, comment: &Comment) -> Cow<'static, str> {
        if !self.opts.avatars || comment.status == CommentStatus::Deleted {
            return Cow::Borrowed("");
        }
        let gravatar = comment
            .gravatar
            .as_deref()
            .filter(|_| self.opts.gravatar)
            .and_then(avatar::gravatar_img);
        gravatar
            .or_else(|| comment.avatar.as_deref().and_then(avatar::identicon))
            .map_or(Cow::Borrowed(avatar::NEUTRAL), Cow::Owned)
    }

    pub(super) fn render_comment_view(
        &self,
        view: CommentView<'_>,
        replies: String,
        depth: usize,
    ) -> Result<String> {
        if let Some(fast) = self.fast(view.lang)? {
            return Ok(fast.comment(&view, &replies, depth));
        }
        let ctx = Context::from_serialize(CommentContext {
            comment: view,
            has_replies: !replies.is_empty(),
            replies,
            depth,
        })?;
        self.render_fragment("comment.html", &ctx)
    }
}
