//! A whole thread: its comments nested by a walk over the reply tree, then
//! the count and the form. Nesting is done here in Rust rather than with
//! recursion in tera: each comment is rendered once, with its replies
//! passed in as finished HTML.

use std::collections::HashMap;

use anyhow::Result;
use tera::Context;

use super::comment::{anchor, LikeForm, ReplyTo};
use super::Renderer;
use crate::export::{CommentStatus, Thread};
use crate::source::approved_count;

/// One placement of a thread in a page.
#[derive(Debug, Clone, Copy)]
pub struct ThreadArgs<'a> {
    pub id: &'a str,
    /// `None` when the thread has no published comments yet.
    pub thread: Option<&'a Thread>,
    /// The page's public URL, for the form's `url` field and reply links.
    pub page_url: &'a str,
    /// The page's `<title>`, for the form's `title` field; may be empty.
    pub page_title: &'a str,
    /// Unique within the page, so two threads on one page keep distinct ids.
    pub id_prefix: &'a str,
    /// The page's own language (`<html lang>`), if it says one; the thread
    /// speaks it when kiln has a catalogue for it (see
    /// [`Renderer::lang_for`]).
    pub lang: Option<&'a str>,
}

impl Renderer {
    /// The count text for `data-kiln-count` (`count.html`), in `lang`
    /// (a locale of `i18n::LOCALES`).
    pub fn render_count(&self, count: u64, lang: &str) -> Result<String> {
        let mut ctx = Context::new();
        ctx.insert("count", &count);
        ctx.insert("lang", lang);
        self.render_fragment("count.html", &ctx)
    }

    /// What `thread.html` gets whatever the thread: the language, its
    /// direction and the script's words in it, and the options it shows.
    pub(super) fn thread_context(&self, lang: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert("lang", lang);
        ctx.insert("rtl", &crate::i18n::is_rtl(lang));
        let script_url = self.script_url();
        if !script_url.is_empty() {
            ctx.insert("messages", &crate::i18n::script_messages(lang));
        }
        ctx.insert("script_url", &script_url);
        ctx.insert("live_url", self.live_url());
        ctx.insert("stylesheet_url", &self.opts.stylesheet_url);
        ctx.insert("theme", self.opts.theme.name());
        ctx
    }

    /// A whole thread: heading, notice, nested comments and the form
    /// (`thread.html`). This becomes the placeholder's inner HTML.
    pub fn render_thread(&self, args: &ThreadArgs<'_>) -> Result<String> {
        let lang = self.lang_for(args.lang);
        let comments = match args.thread {
            Some(thread) => self.render_tree(thread, args.page_url, lang)?,
            None => String::new(),
        };
        let count = args.thread.map_or(0, approved_count);
        // The newest comment baked: the optional script asks for newer ones.
        let cursor = args
            .thread
            .and_then(|t| t.comments.iter().map(|c| c.id).max())
            .unwrap_or(0);
        // The skeleton always has the `itemid` an empty page URL leaves out.
        if let Some(fast) = self.fast(lang)?.filter(|_| !args.page_url.is_empty()) {
            let token = self.form_token(args.id);
            return Ok(fast.thread(args, &token, &comments, count, cursor));
        }
        let mut form = self.form_context(args.id, args.page_url, None);
        form.id_prefix = args.id_prefix.to_owned();
        form.title = args.page_title.to_owned();
        form.lang = lang.to_owned();
        let form = self.render_form(&form)?;
        let mut ctx = self.thread_context(lang);
        ctx.insert("count_text", &self.render_count(count, lang)?);
        ctx.insert("thread_id", args.id);
        ctx.insert("page_url", args.page_url);
        ctx.insert("count", &count);
        // Tera escapes a variable to test it in `{% if %}`: a flag is cheaper.
        ctx.insert("has_comments", &!comments.is_empty());
        ctx.insert("comments", &comments);
        ctx.insert("form", &form);
        ctx.insert("id_prefix", args.id_prefix);
        ctx.insert("cursor", &cursor);
        self.render_fragment("thread.html", &ctx)
    }

    fn render_tree(&self, thread: &Thread, page_url: &str, lang: &'static str) -> Result<String> {
        let tree = Tree::new(thread);
        let walk = TreeWalk {
            renderer: self,
            thread,
            tree: &tree,
            reply_url_prefix: self.reply_url_prefix(&thread.id, page_url),
            like: self.like_form(page_url, &self.form_token(&thread.id)),
            max_depth: self.opts.max_depth.max(1),
            lang,
            deleted_author: crate::i18n::text(lang, "deleted-author"),
        };
        walk.render(&tree.roots, 1, None)
    }
}

/// Parent/child links of a thread, by position in `thread.comments`.
struct Tree {
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
    parent: Vec<Option<usize>>,
}

impl Tree {
    fn new(thread: &Thread) -> Self {
        let mut position: HashMap<i64, usize> = HashMap::with_capacity(thread.comments.len());
        let mut roots = Vec::new();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); thread.comments.len()];
        let mut parents = Vec::with_capacity(thread.comments.len());
        for (i, comment) in thread.comments.iter().enumerate() {
            // Only a parent seen earlier counts, which also rules out cycles;
            // anything else is shown at the top rather than dropped.
            let parent = comment.parent.and_then(|p| position.get(&p).copied());
            match parent {
                Some(parent) => children[parent].push(i),
                None => roots.push(i),
            }
            parents.push(parent);
            position.insert(comment.id, i);
        }
        Tree {
            roots,
            children,
            parent: parents,
        }
    }

    fn descendants(&self, of: usize, into: &mut Vec<usize>) {
        for &child in &self.children[of] {
            into.push(child);
            self.descendants(child, into);
        }
    }
}

struct TreeWalk<'a> {
    renderer: &'a Renderer,
    thread: &'a Thread,
    tree: &'a Tree,
    /// Every Reply link but the comment id, built once per thread.
    reply_url_prefix: String,
    /// The like forms' shared values, with reactions on.
    like: Option<LikeForm>,
    max_depth: usize,
    /// The thread's locale, and how it names a deleted comment answered.
    lang: &'static str,
    deleted_author: String,
}

impl TreeWalk<'_> {
    /// Renders `nodes` at `depth`. At the deepest level a node's whole
    /// subtree is listed flat in date order, each entry saying whom it answers.
    fn render(&self, nodes: &[usize], depth: usize, owner: Option<usize>) -> Result<String> {
        let mut html = String::new();
        if depth >= self.max_depth {
            let mut flat = Vec::with_capacity(nodes.len());
            for &node in nodes {
                flat.push(node);
                self.tree.descendants(node, &mut flat);
            }
            let comments = &self.thread.comments;
            flat.sort_by(|&a, &b| {
                (&comments[a].created_at, comments[a].id)
                    .cmp(&(&comments[b].created_at, comments[b].id))
            });
            for node in flat {
                html.push_str(&self.render_one(node, String::new(), depth, owner)?);
            }
        } else {
            for &node in nodes {
                let replies = self.render(&self.tree.children[node], depth + 1, Some(node))?;
                html.push_str(&self.render_one(node, replies, depth, owner)?);
            }
        }
        Ok(html)
    }

    fn render_one(
        &self,
        node: usize,
        replies: String,
        depth: usize,
        owner: Option<usize>,
    ) -> Result<String> {
        let comments = &self.thread.comments;
        let comment = &comments[node];
        // Say whom a comment answers when its position no longer shows it.
        let reply_to = self.tree.parent[node].and_then(|parent| {
            if owner == Some(parent) {
                return None;
            }
            let parent = &comments[parent];
            Some(ReplyTo {
                anchor: anchor(parent.id),
                author: if parent.status == CommentStatus::Deleted {
                    &self.deleted_author
                } else {
                    &parent.author
                },
            })
        });
        let view = self.renderer.comment_view(
            &self.reply_url_prefix,
            comment,
            reply_to,
            self.like.as_ref(),
            self.lang,
        );
        self.renderer.render_comment_view(view, replies, depth)
    }
}
