//! Turns threads into HTML fragments with the tera templates in `templates/`.
//!
//! The receiver renders its own pages (the no-JS form after an error, the
//! "received" page, the reply page) through the same `Renderer`, so a site
//! that overrides a template sees it everywhere.
//!
//! Comment nesting is done here in Rust rather than with recursion in tera:
//! each comment is rendered once with its replies passed in as finished HTML.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Context, Tera};

use crate::avatar;
use crate::export::{Comment, CommentStatus, Thread};
use crate::markdown;
use crate::skeleton::{hole, Skeleton};
use crate::source::approved_count;

mod escape;
mod form;
mod options;
mod pages;
mod templates;

use escape::escape;
pub use escape::{escape_html, http_url};
pub use form::{FormContext, FormLimits, FormValues};
pub use options::{FormTokens, RenderOptions, FORM_TOKEN_PURPOSE};
pub use pages::{EditPage, EditValues};
pub use templates::load_templates;
use templates::{build_tera, read_template_dir, tera_chain, BUILTINS, FRAGMENT_TEMPLATES};

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
}

/// Renders threads, comments, counts and the receiver's pages.
#[derive(Debug)]
pub struct Renderer {
    /// Every template, the site's included, when there is a template
    /// directory; otherwise only the built-in fragments a bake renders.
    tera: Tera,
    /// Without a template directory, the built-in receiver pages are parsed
    /// on first use: a bake never needs them, and parsing costs more than
    /// a re-bake after one approval does otherwise.
    pages: Option<OnceLock<Tera>>,
    opts: RenderOptions,
    fingerprint: String,
    /// The built-in thread, comment and form templates pre-rendered, when
    /// the site overrides none of them (see `skeleton`).
    fast: Option<Fast>,
}

impl Renderer {
    pub fn new(opts: RenderOptions) -> Result<Self> {
        let mut sources: BTreeMap<String, String> = BUILTINS
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        let mut overridden = BTreeSet::new();
        if let Some(dir) = &opts.templates_dir {
            for (name, text) in read_template_dir(dir)? {
                overridden.insert(name.clone());
                sources.insert(name, text);
            }
        }
        let (tera, pages) = match &opts.templates_dir {
            Some(dir) => {
                let all = sources.iter().map(|(n, t)| (n.as_str(), t.as_str()));
                let tera = build_tera(all)
                    .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
                    .with_context(|| {
                        format!("loading templates (with overrides from {})", dir.display())
                    })?;
                (tera, None)
            }
            None => {
                let fragments = BUILTINS
                    .iter()
                    .filter(|(name, _)| FRAGMENT_TEMPLATES.contains(name))
                    .copied();
                let tera = build_tera(fragments)
                    .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
                    .context("loading the built-in templates")?;
                (tera, Some(OnceLock::new()))
            }
        };
        let fingerprint = fingerprint(&sources, &opts);
        let mut renderer = Renderer {
            tera,
            pages,
            opts,
            fingerprint,
            fast: None,
        };
        if !FRAGMENT_TEMPLATES
            .iter()
            .any(|name| overridden.contains(*name))
        {
            renderer.fast = Some(Fast::new(&renderer)?);
        }
        Ok(renderer)
    }

    pub fn options(&self) -> &RenderOptions {
        &self.opts
    }

    /// A hash of everything that shapes the output: kiln's version, the
    /// templates' text and the render options.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Markdown to sanitized HTML (see `markdown`).
    pub fn markdown(text: &str) -> String {
        markdown::to_html(text)
    }

    /// `{receiver_url}/kiln.js`, or empty when the script is off.
    pub fn script_url(&self) -> String {
        if self.opts.script {
            format!("{}/kiln.js", self.opts.receiver_url)
        } else {
            String::new()
        }
    }

    /// The threads' stylesheet (`style.css`, the site's if it overrides it),
    /// as bake writes it for [`RenderOptions::stylesheet_url`].
    pub fn render_stylesheet(&self) -> Result<String> {
        let mut css = self.render_fragment("style.css", &Context::new())?;
        css.push('\n');
        Ok(css)
    }

    /// The count text for `data-kiln-count` (`count.html`).
    pub fn render_count(&self, count: u64) -> Result<String> {
        let mut ctx = Context::new();
        ctx.insert("count", &count);
        self.render_fragment("count.html", &ctx)
    }

    /// One comment without replies, e.g. for a JSON client that just posted
    /// it (`comment.html`).
    pub fn render_comment(
        &self,
        thread: &str,
        page_url: &str,
        comment: &Comment,
    ) -> Result<String> {
        let view = self.comment_view(&self.reply_url_prefix(thread, page_url), comment, None);
        self.render_comment_view(view, String::new(), 1)
    }

    /// A whole thread: heading, notice, nested comments and the form
    /// (`thread.html`). This becomes the placeholder's inner HTML.
    pub fn render_thread(&self, args: &ThreadArgs<'_>) -> Result<String> {
        let comments = match args.thread {
            Some(thread) => self.render_tree(thread, args.page_url)?,
            None => String::new(),
        };
        let count = args.thread.map_or(0, approved_count);
        // The newest comment baked: the optional script asks for newer ones.
        let cursor = args
            .thread
            .and_then(|t| t.comments.iter().map(|c| c.id).max())
            .unwrap_or(0);
        // The skeleton always has the `itemid` an empty page URL leaves out.
        if let Some(fast) = self.fast.as_ref().filter(|_| !args.page_url.is_empty()) {
            let (id, page_url) = (escape(args.id), escape(args.page_url));
            let id_prefix = escape(args.id_prefix);
            let mut form = String::new();
            let title = escape(args.page_title);
            let token = self
                .opts
                .form_tokens
                .as_ref()
                .map(|t| escape(&t.token(args.id)).into_owned())
                .unwrap_or_default();
            fast.form
                .fill(&mut form, &[&id, &page_url, &id_prefix, &title, &token]);
            let shape = &fast.thread[usize::from(!comments.is_empty())][count.min(2) as usize];
            let mut html = String::new();
            let count = count.to_string();
            let cursor = cursor.to_string();
            shape.fill(
                &mut html,
                &[
                    &id, &page_url, &count, &comments, &form, &id_prefix, &cursor,
                ],
            );
            return Ok(html);
        }
        let mut form = self.form_context(args.id, args.page_url, None);
        form.id_prefix = args.id_prefix.to_owned();
        form.title = args.page_title.to_owned();
        let form = self.render_form(&form)?;
        let mut ctx = Context::new();
        ctx.insert("thread_id", args.id);
        ctx.insert("page_url", args.page_url);
        ctx.insert("count", &count);
        // Tera escapes a variable to test it in `{% if %}`: a flag is cheaper.
        ctx.insert("has_comments", &!comments.is_empty());
        ctx.insert("comments", &comments);
        ctx.insert("form", &form);
        ctx.insert("id_prefix", args.id_prefix);
        ctx.insert("cursor", &cursor);
        ctx.insert("script_url", &self.script_url());
        ctx.insert("stylesheet_url", &self.opts.stylesheet_url);
        self.render_fragment("thread.html", &ctx)
    }

    /// A fragment or page with the whitespace around it (doc comments, the
    /// final newline of the file) dropped, so placeholders stay tidy and
    /// pages start with their doctype.
    fn render_fragment(&self, name: &str, ctx: &Context) -> Result<String> {
        let mut html = self.render(name, ctx)?;
        html.truncate(html.trim_end().len());
        let start = html.len() - html.trim_start().len();
        html.drain(..start);
        Ok(html)
    }

    fn render(&self, name: &str, ctx: &Context) -> Result<String> {
        let tera = match &self.pages {
            Some(pages) if !FRAGMENT_TEMPLATES.contains(&name) => pages.get_or_init(|| {
                // Tested, like every built-in: `every_builtin_template_renders`.
                build_tera(BUILTINS.iter().copied()).expect("the built-in templates parse")
            }),
            _ => &self.tera,
        };
        tera.render(name, ctx)
            .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
            .with_context(|| format!("rendering template {name}"))
    }

    fn render_tree(&self, thread: &Thread, page_url: &str) -> Result<String> {
        let tree = Tree::new(thread);
        let walk = TreeWalk {
            renderer: self,
            thread,
            tree: &tree,
            reply_url_prefix: self.reply_url_prefix(&thread.id, page_url),
            max_depth: self.opts.max_depth.max(1),
        };
        walk.render(&tree.roots, 1, None)
    }

    /// The start of every Reply link in a thread; the comment id ends it.
    fn reply_url_prefix(&self, thread: &str, page_url: &str) -> String {
        format!(
            "{}/reply?{}&parent=",
            self.opts.receiver_url,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("thread", thread)
                .append_pair("url", page_url)
                .finish()
        )
    }

    fn comment_view<'a>(
        &self,
        reply_url_prefix: &str,
        comment: &'a Comment,
        reply_to: Option<ReplyTo<'a>>,
    ) -> CommentView<'a> {
        let deleted = comment.status == CommentStatus::Deleted;
        CommentView {
            id: comment.id,
            anchor: anchor(comment.id),
            parent: comment.parent,
            deleted,
            author: if deleted { "" } else { &comment.author },
            website: if deleted {
                None
            } else {
                comment.website.as_deref().and_then(http_url)
            },
            created_at: &comment.created_at,
            date: human_date(&comment.created_at),
            avatar: self.avatar(comment),
            html: match (&comment.html, deleted) {
                (_, true) => Cow::Borrowed(""),
                (Some(html), false) => Cow::Borrowed(html),
                (None, false) => Cow::Owned(markdown::to_html(&comment.text)),
            },
            reply_url: format!("{reply_url_prefix}{}", comment.id),
            reply_to,
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

    fn render_comment_view(
        &self,
        view: CommentView<'_>,
        replies: String,
        depth: usize,
    ) -> Result<String> {
        if let Some(fast) = &self.fast {
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
    max_depth: usize,
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
                    "a deleted comment"
                } else {
                    &parent.author
                },
            })
        });
        let view = self
            .renderer
            .comment_view(&self.reply_url_prefix, comment, reply_to);
        self.renderer.render_comment_view(view, replies, depth)
    }
}

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
struct CommentView<'a> {
    id: i64,
    /// `kiln-comment-{id}`, the element id and permalink fragment.
    anchor: String,
    parent: Option<i64>,
    deleted: bool,
    author: &'a str,
    /// Only an http(s) URL, re-checked here whatever the store holds.
    website: Option<String>,
    /// RFC 3339, for `datetime`.
    created_at: &'a str,
    /// E.g. `23 Nov 2026` (UTC).
    date: String,
    /// The avatar (HTML: inline SVG, or Gravatar's `<img>`); empty when off.
    avatar: Cow<'static, str>,
    /// The sanitized body.
    html: Cow<'a, str>,
    reply_url: String,
    /// Set when the comment is listed away from the comment it answers.
    #[serde(flatten)]
    reply_to: Option<ReplyTo<'a>>,
}

#[derive(Serialize)]
struct ReplyTo<'a> {
    #[serde(rename = "reply_to_anchor")]
    anchor: String,
    #[serde(rename = "reply_to_author")]
    author: &'a str,
}

/// The built-in templates as skeletons: each shape a template can take is
/// rendered once, with holes where the values go, in the order listed.
#[derive(Debug)]
struct Fast {
    /// `form.html` as bake places it (no parent, values or errors).
    /// Holes: thread, url, id_prefix, title, token.
    form: Skeleton,
    /// `thread.html` by [has comments][count 0, 1, more]. Holes: thread_id,
    /// page_url, count, comments, form, id_prefix, cursor.
    thread: [[Skeleton; 3]; 2],
    /// `comment.html` by shape: bit 0 deleted, bit 1 has a website, bit 2
    /// says whom it answers, bit 3 has replies. Holes: id, anchor, parent,
    /// author, website, created_at, date, html, reply_url, reply_to_anchor,
    /// reply_to_author, replies, depth, avatar.
    comment: Vec<Skeleton>,
}

impl Fast {
    fn new(renderer: &Renderer) -> Result<Self> {
        let mut form = renderer.form_context(&hole(0), &hole(1), None);
        form.id_prefix = hole(2);
        form.title = hole(3);
        form.token = hole(4);
        let form = Skeleton::parse(&renderer.render_form(&form)?, 5)?;

        let thread_shape = |has_comments: bool, count: usize| -> Result<Skeleton> {
            let mut ctx = Context::new();
            ctx.insert("thread_id", &hole(0));
            ctx.insert("page_url", &hole(1));
            match count {
                0 | 1 => ctx.insert("count", &count),
                _ => ctx.insert("count", &hole(2)),
            }
            ctx.insert("has_comments", &has_comments);
            ctx.insert(
                "comments",
                &if has_comments { hole(3) } else { String::new() },
            );
            ctx.insert("form", &hole(4));
            ctx.insert("id_prefix", &hole(5));
            ctx.insert("cursor", &hole(6));
            ctx.insert("script_url", &renderer.script_url());
            ctx.insert("stylesheet_url", &renderer.opts.stylesheet_url);
            Skeleton::parse(&renderer.render_fragment("thread.html", &ctx)?, 7)
        };
        let mut thread = Vec::with_capacity(2);
        for has_comments in [false, true] {
            thread.push([
                thread_shape(has_comments, 0)?,
                thread_shape(has_comments, 1)?,
                thread_shape(has_comments, 2)?,
            ]);
        }
        let thread = thread.try_into().expect("two shapes");

        let mut comment = Vec::with_capacity(16);
        for shape in 0..16 {
            let (deleted, website, reply_to, replies) = (
                shape & 1 != 0,
                shape & 2 != 0,
                shape & 4 != 0,
                shape & 8 != 0,
            );
            let mut ctx = Context::new();
            for (i, name) in ["id", "anchor", "parent", "author"].iter().enumerate() {
                ctx.insert(*name, &hole(i));
            }
            ctx.insert("deleted", &deleted);
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
            comment.push(Skeleton::parse(
                &renderer.render_fragment("comment.html", &ctx)?,
                14,
            )?);
        }
        Ok(Fast {
            form,
            thread,
            comment,
        })
    }

    /// `comment.html` for one comment, as tera would render it.
    fn comment(&self, view: &CommentView<'_>, replies: &str, depth: usize) -> String {
        let shape = usize::from(view.deleted)
            | usize::from(view.website.is_some()) << 1
            | usize::from(view.reply_to.is_some()) << 2
            | usize::from(!replies.is_empty()) << 3;
        let id = view.id.to_string();
        let parent = view.parent.map(|p| p.to_string()).unwrap_or_default();
        let (reply_to_anchor, reply_to_author) = match &view.reply_to {
            Some(r) => (escape(&r.anchor), escape(r.author)),
            None => (Cow::Borrowed(""), Cow::Borrowed("")),
        };
        let depth = depth.to_string();
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
            ],
        );
        html
    }
}

fn anchor(id: i64) -> String {
    format!("kiln-comment-{id}")
}

/// `2026-11-23T12:00:00Z` → `23 Nov 2026`; anything unparsable is shown as is.
fn human_date(rfc3339: &str) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year]");
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&format).ok())
        .unwrap_or_else(|| rfc3339.to_owned())
}

fn fingerprint(sources: &BTreeMap<String, String>, opts: &RenderOptions) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed so that no two different inputs hash alike.
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(env!("CARGO_PKG_VERSION").as_bytes());
    for (name, text) in sources {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    field(opts.max_depth.to_string().as_bytes());
    field(opts.receiver_url.as_bytes());
    field(&[u8::from(opts.script)]);
    field(opts.stylesheet_url.as_bytes());
    field(&[u8::from(opts.avatars), u8::from(opts.gravatar)]);
    let l = opts.limits;
    field(format!("{} {} {} {}", l.name, l.email, l.website, l.text).as_bytes());
    // Signed forms change when their expiry or key does; the key itself is
    // represented by a MAC of nothing, never by its bytes.
    if let Some(t) = &opts.form_tokens {
        field(t.expires_at.to_string().as_bytes());
        field(t.signer.sign("fingerprint", "", None).as_bytes());
    }
    hex(&hash.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::unix_to_rfc3339;

    fn comment(id: i64, parent: Option<i64>, author: &str, website: Option<&str>) -> Comment {
        Comment {
            id,
            parent,
            status: CommentStatus::Approved,
            author: author.into(),
            website: website.map(Into::into),
            text: format!("Comment {id} by {author}: *emphasis* & <b>bold</b> \"quoted\" 'single'"),
            created_at: unix_to_rfc3339(1_795_000_000 + id * 3_600),
            // Every third comment has no key (neither address nor name),
            // every fourth a Gravatar hash as well.
            avatar: (id % 3 != 0)
                .then(|| format!("{:016x}", (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))),
            gravatar: (id % 4 == 0).then(|| format!("{id:064x}")),
            html: None,
        }
    }

    /// Every shape the fast path knows, with values that need escaping.
    fn threads() -> Vec<Thread> {
        let hostile = "<script>alert('x')</script> & \"Ann\"";
        let mut deleted = comment(3, Some(1), "gone", None);
        deleted.status = CommentStatus::Deleted;
        let mut deep = vec![
            comment(1, None, hostile, Some("https://ann.example/?a=1&b=\"2\"")),
            comment(2, Some(1), "Bo", None),
            deleted,
            comment(4, Some(3), "Cy", Some("http://cy.example")),
            comment(5, None, "Dee ünïcode", Some("javascript:alert(1)")),
        ];
        // Deeper than max_depth, so the deepest replies are listed flat and
        // say whom they answer.
        for id in 6..14 {
            deep.push(comment(id, Some(id - 1), &format!("Level {id}"), None));
        }
        let mut unparsable = comment(20, None, "Eve", None);
        unparsable.created_at = "yesterday <b>".into();
        unparsable.html = Some("<p>stored &amp; sanitized</p>".into());
        vec![
            Thread {
                id: "/posts/a/".into(),
                url: String::new(),
                comments: deep,
            },
            Thread {
                id: "x\"<y>&'z".into(),
                url: String::new(),
                comments: vec![comment(30, None, "One", None)],
            },
            Thread {
                id: "/posts/b.html".into(),
                url: String::new(),
                comments: vec![unparsable],
            },
            Thread {
                id: "/only-deleted/".into(),
                url: String::new(),
                comments: vec![{
                    let mut c = comment(40, None, "Zed", None);
                    c.status = CommentStatus::Deleted;
                    c
                }],
            },
        ]
    }

    #[test]
    fn signed_forms_carry_their_threads_token_on_both_paths() {
        let tokens = FormTokens {
            signer: crate::signing::Signer::new(b"a key of thirty-two bytes or more!"),
            expires_at: 2_000_000_000,
        };
        let opts = RenderOptions {
            receiver_url: "https://comments.example".into(),
            form_tokens: Some(tokens.clone()),
            ..RenderOptions::default()
        };
        let fast = Renderer::new(opts.clone()).unwrap();
        assert!(fast.fast.is_some());
        let mut slow = Renderer::new(opts.clone()).unwrap();
        slow.fast = None;
        for id in ["/a/", "/b/?x=1&y=\"2\""] {
            let args = ThreadArgs {
                id,
                thread: None,
                page_url: "https://site.example/a/",
                page_title: "",
                id_prefix: "kiln",
            };
            let html = fast.render_thread(&args).unwrap();
            assert_eq!(html, slow.render_thread(&args).unwrap());
            let token = tokens.token(id);
            assert!(
                html.contains(&format!("name=\"token\" value=\"{token}\"")),
                "{html}"
            );
            assert_eq!(
                tokens
                    .signer
                    .verify(FORM_TOKEN_PURPOSE, &token, 1_999_999_999)
                    .unwrap(),
                id
            );
        }
        let plain = Renderer::new(RenderOptions::default()).unwrap();
        assert_ne!(plain.fingerprint(), fast.fingerprint());
    }

    #[test]
    fn the_fast_path_renders_exactly_what_tera_renders() {
        let opts = RenderOptions {
            receiver_url: "https://comments.example/base".into(),
            ..RenderOptions::default()
        };
        // Avatars as identicons (the default), Gravatar's, and none.
        for opts in [
            opts.clone(),
            RenderOptions {
                gravatar: true,
                ..opts.clone()
            },
            RenderOptions {
                avatars: false,
                ..opts
            },
        ] {
            fast_path_matches_tera(opts);
        }
    }

    fn fast_path_matches_tera(opts: RenderOptions) {
        let fast = Renderer::new(opts.clone()).unwrap();
        assert!(
            fast.fast.is_some(),
            "the built-in templates take the fast path"
        );
        let mut slow = Renderer::new(opts.clone()).unwrap();
        slow.fast = None;

        let threads = threads();
        let mut cases: Vec<(Option<&Thread>, &str)> = threads
            .iter()
            .map(|t| (Some(t), "https://site.example/p?q=1&r=\"2\""))
            .collect();
        cases.push((None, "https://site.example/empty/"));
        cases.push((None, ""));
        cases.push((Some(&threads[0]), ""));
        for (i, (thread, page_url)) in cases.into_iter().enumerate() {
            let args = ThreadArgs {
                id: thread.map_or("/never-commented/", |t| t.id.as_str()),
                thread,
                page_url,
                page_title: if i % 2 == 0 { "Ann & Bo's <post>" } else { "" },
                id_prefix: &format!("kiln-{i}"),
            };
            let (a, b) = (
                fast.render_thread(&args).unwrap(),
                slow.render_thread(&args).unwrap(),
            );
            assert_eq!(a, b, "case {i}");
            assert!(!a.contains('\u{F8FF}'), "no marker is left behind");
        }
        let one = &threads[0].comments[0];
        assert_eq!(
            fast.render_comment("/posts/a/", "https://site.example/a/", one)
                .unwrap(),
            slow.render_comment("/posts/a/", "https://site.example/a/", one)
                .unwrap()
        );

        // The avatars went where they belong, and only there.
        let html = fast
            .render_thread(&ThreadArgs {
                id: "/posts/a/",
                thread: Some(&threads[0]),
                page_url: "https://site.example/a/",
                page_title: "",
                id_prefix: "kiln",
            })
            .unwrap();
        let svgs = html.matches("<svg class=\"kiln-avatar\"").count();
        let imgs = html.matches("<img class=\"kiln-avatar\"").count();
        let shown = threads[0]
            .comments
            .iter()
            .filter(|c| c.status == CommentStatus::Approved)
            .count();
        let gravatars = threads[0]
            .comments
            .iter()
            .filter(|c| c.status == CommentStatus::Approved && c.gravatar.is_some())
            .count();
        match (opts.avatars, opts.gravatar) {
            (false, _) => assert_eq!(svgs + imgs, 0),
            (true, false) => assert_eq!((svgs, imgs), (shown, 0)),
            (true, true) => assert_eq!((svgs, imgs), (shown - gravatars, gravatars)),
        }
        assert!(!html.contains("style="), "no inline styles");
        let neutral = html.matches(avatar::NEUTRAL).count();
        assert_eq!(
            neutral > 0,
            opts.avatars,
            "comments without a key get the neutral avatar"
        );
    }

    #[test]
    fn every_builtin_template_renders() {
        let renderer = Renderer::new(RenderOptions::default()).unwrap();
        assert!(renderer.pages.is_some(), "pages wait until they are needed");
        let form = renderer.form_context("/t/", "https://site.example/t/", Some(3));
        assert!(renderer
            .render_error(404, "Not here")
            .unwrap()
            .contains("Not here"));
        assert!(renderer
            .render_received("https://site.example/t/", false, None)
            .unwrap()
            .contains("https://site.example/t/"));
        let received = renderer
            .render_received(
                "https://site.example/t/",
                true,
                Some(("https://r/edit/T", "14:05 UTC")),
            )
            .unwrap();
        assert!(received.contains("is published"), "{received}");
        assert!(received.contains("href=\"https://r/edit/T\""), "{received}");
        assert!(received.contains("until 14:05 UTC"), "{received}");
        let edit = renderer
            .render_edit(&EditPage {
                action: "https://r/edit/T".into(),
                comment_html: "<p>now</p>".into(),
                pending: true,
                values: EditValues {
                    text: "<b>typed</b>".into(),
                    ..EditValues::default()
                },
                errors: [("text".to_owned(), "Too long.".to_owned())].into(),
                id_prefix: "kiln-edit".into(),
                edit_until: "14:05 UTC".into(),
                notice: String::new(),
                page_url: "javascript:alert(1)".into(),
            })
            .unwrap();
        assert!(
            edit.contains("&lt;b&gt;typed&lt;&#x2F;b&gt;")
                || edit.contains("&lt;b&gt;typed&lt;/b&gt;"),
            "{edit}"
        );
        assert!(edit.contains("Comment: Too long."), "{edit}");
        assert!(!edit.contains("javascript:"), "{edit}");
        assert!(renderer
            .render_reply(&form, Some("<p>parent</p>"))
            .unwrap()
            .contains("<p>parent</p>"));
        assert!(renderer
            .render_form_error(&form)
            .unwrap()
            .contains("name=\"parent\" value=\"3\""));
        for (name, _) in BUILTINS {
            assert!(
                renderer
                    .pages
                    .as_ref()
                    .unwrap()
                    .get()
                    .unwrap()
                    .get_template(name)
                    .is_ok(),
                "{name} is loaded"
            );
        }
    }

    #[test]
    fn an_overridden_template_always_goes_through_tera() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("comment.html"),
            "<article id=\"{{ anchor }}\">{% if author == \"Bo\" %}Bo!{% else %}{{ author | upper }}{% endif %}{{ replies | safe }}</article>",
        )
        .unwrap();
        let renderer = Renderer::new(RenderOptions {
            templates_dir: Some(dir.path().to_owned()),
            ..RenderOptions::default()
        })
        .unwrap();
        assert!(renderer.fast.is_none());
        let html = renderer
            .render_thread(&ThreadArgs {
                id: "/posts/a/",
                thread: Some(&threads()[0]),
                page_url: "https://site.example/a/",
                page_title: "A",
                id_prefix: "kiln-1",
            })
            .unwrap();
        assert!(html.contains("Bo!") && html.contains("LEVEL 6"), "{html}");
    }
}
