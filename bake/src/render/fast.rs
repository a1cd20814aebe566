//! The fast path: when a site overrides none of the templates a bake
//! renders, each shape of them is rendered by tera once, with holes, and
//! every thread and comment after that is a fill of those skeletons (see
//! `skeleton`). The output is byte for byte what tera would render. The
//! words are baked into the skeletons, so there is one `Fast` per language.

use std::borrow::Cow;

use anyhow::Result;
use tera::Context;

use super::comment::CommentView;
use super::escape::escape;
use super::{Renderer, ThreadArgs};
use crate::skeleton::{hole, Skeleton};

/// The built-in templates as skeletons: each shape a template can take is
/// rendered once, with holes where the values go, in the order listed.
#[derive(Debug)]
pub(super) struct Fast {
    /// The locale whose words the skeletons hold.
    lang: &'static str,
    /// `form.html` as bake places it (no parent, values or errors).
    /// Holes: thread, url, id_prefix, title, token.
    form: Skeleton,
    /// `thread.html` by [has comments]. Holes: thread_id, page_url, count,
    /// comments, form, id_prefix, cursor, count_text.
    thread: [Skeleton; 2],
    /// `comment.html` by shape: bit 0 deleted, bit 1 has a website, bit 2
    /// says whom it answers, bit 3 has replies, bit 4 verified. Holes: id, anchor, parent,
    /// author, website, created_at, date, html, reply_url, reply_to_anchor,
    /// reply_to_author, replies, depth, avatar, and with reactions on
    /// like_action, like_url, like_token, likes.
    comment: Vec<Skeleton>,
}

impl Fast {
    pub(super) fn new(renderer: &Renderer, lang: &'static str) -> Result<Self> {
        let mut form = renderer.form_context(&hole(0), &hole(1), None);
        form.lang = lang.to_owned();
        form.id_prefix = hole(2);
        form.title = hole(3);
        form.token = hole(4);
        let form = Skeleton::parse(&renderer.render_form(&form)?, 5)?;

        let thread_shape = |has_comments: bool| -> Result<Skeleton> {
            let mut ctx = renderer.thread_context(lang);
            ctx.insert("thread_id", &hole(0));
            ctx.insert("page_url", &hole(1));
            ctx.insert("count", &hole(2));
            ctx.insert("count_text", &hole(7));
            ctx.insert("has_comments", &has_comments);
            ctx.insert(
                "comments",
                &if has_comments { hole(3) } else { String::new() },
            );
            ctx.insert("form", &hole(4));
            ctx.insert("id_prefix", &hole(5));
            ctx.insert("cursor", &hole(6));
            Skeleton::parse(&renderer.render_fragment("thread.html", &ctx)?, 8)
        };
        let thread = [thread_shape(false)?, thread_shape(true)?];

        let mut comment = Vec::with_capacity(32);
        for shape in 0..32 {
            let (deleted, website, reply_to, replies) = (
                shape & 1 != 0,
                shape & 2 != 0,
                shape & 4 != 0,
                shape & 8 != 0,
            );
            let verified = shape & 16 != 0;
            let mut ctx = Context::new();
            ctx.insert("lang", lang);
            for (i, name) in ["id", "anchor", "parent", "author"].iter().enumerate() {
                ctx.insert(*name, &hole(i));
            }
            ctx.insert("deleted", &deleted);
            ctx.insert("verified", &verified);
            ctx.insert("website", &website.then(|| hole(4)));
            for (i, name) in ["created_at", "date", "html", "reply_url"]
                .iter()
                .enumerate()
            {
                ctx.insert(*name, &hole(5 + i));
            }
            if reply_to {
                ctx.insert("reply_to_anchor", &hole(9));
                ctx.insert("reply_to_author", &hole(10));
            }
            ctx.insert("replies", &if replies { hole(11) } else { String::new() });
            ctx.insert("has_replies", &replies);
            ctx.insert("depth", &hole(12));
            ctx.insert("avatar", &hole(13));
            if renderer.opts.reactions {
                for (i, name) in ["like_action", "like_url", "like_token", "likes"]
                    .iter()
                    .enumerate()
                {
                    ctx.insert(*name, &hole(14 + i));
                }
            }
            comment.push(Skeleton::parse(
                &renderer.render_fragment("comment.html", &ctx)?,
                18,
            )?);
        }
        Ok(Fast {
            lang,
            form,
            thread,
            comment,
        })
    }

    /// `thread.html` with its form, as tera would render it for a page
    /// with a URL (the skeletons always carry the `itemid` it implies).
    /// `token` is the thread's signed form token, or empty.
    pub(super) fn thread(
        &self,
        args: &ThreadArgs<'_>,
        token: &str,
        comments: &str,
        count: u64,
        cursor: i64,
    ) -> String {
        let (id, page_url) = (escape(args.id), escape(args.page_url));
        let id_prefix = escape(args.id_prefix);
        let mut form = String::new();
        let title = escape(args.page_title);
        let token = escape(token);
        self.form
            .fill(&mut form, &[&id, &page_url, &id_prefix, &title, &token]);
        let shape = &self.thread[usize::from(!comments.is_empty())];
        let mut html = String::new();
        let count_text = escape(&crate::i18n::count(self.lang, "count", count)).into_owned();
        let count = count.to_string();
        let cursor = cursor.to_string();
        shape.fill(
            &mut html,
            &[
                &id,
                &page_url,
                &count,
                comments,
                &form,
                &id_prefix,
                &cursor,
                &count_text,
            ],
        );
        html
    }

    /// `comment.html` for one comment, as tera would render it.
    pub(super) fn comment(&self, view: &CommentView<'_>, replies: &str, depth: usize) -> String {
        let shape = usize::from(view.deleted)
            | usize::from(view.website.is_some()) << 1
            | usize::from(view.reply_to.is_some()) << 2
            | usize::from(!replies.is_empty()) << 3
            | usize::from(view.verified) << 4;
        let id = view.id.to_string();
        let parent = view.parent.map(|p| p.to_string()).unwrap_or_default();
        let (reply_to_anchor, reply_to_author) = match &view.reply_to {
            Some(r) => (escape(&r.anchor), escape(r.author)),
            None => (Cow::Borrowed(""), Cow::Borrowed("")),
        };
        let depth = depth.to_string();
        let (like_action, like_url, like_token, likes) = match &view.like {
            Some(l) => (
                escape(l.like_action),
                escape(l.like_url),
                escape(l.like_token),
                l.likes.to_string(),
            ),
            None => Default::default(),
        };
        let mut html = String::new();
        self.comment[shape].fill(
            &mut html,
            &[
                &id,
                &escape(&view.anchor),
                &parent,
                &escape(view.author),
                &escape(view.website.as_deref().unwrap_or_default()),
                &escape(view.created_at),
                &escape(&view.date),
                &view.html,
                &escape(&view.reply_url),
                &reply_to_anchor,
                &reply_to_author,
                replies,
                &depth,
                &view.avatar,
                &like_action,
                &like_url,
                &like_token,
                &likes,
            ],
        );
        html
    }
}
