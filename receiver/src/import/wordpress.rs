//! WordPress's WXR export (versions 1.0 to 1.2, under `http://` or
//! `https://` namespaces: elements are matched by local name, so a namespace
//! spelling never reads as zero comments). One `<item>` per post or page,
//! its comments as `<wp:comment>` children. Times come from
//! `comment_date_gmt`; the text is WordPress's stored HTML, whose plain line
//! breaks become paragraphs and breaks as WordPress shows them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};

use super::xml::Visitor;
use super::{parse_utc, text, Parsed, Skipped, SourceComment, SourceStatus, SourceThread, Text};

pub fn parse(path: &Path) -> Result<Parsed> {
    let mut v = Wxr::default();
    super::xml::walk(path, super::open_source(path)?, &mut v)?;
    if !v.wordpress {
        bail!(
            "{} is not a WordPress export: its <rss> declares no wordpress.org/export/ namespace",
            path.display()
        );
    }
    Ok(v.parsed)
}

#[derive(Default)]
struct Wxr {
    wordpress: bool,
    parsed: Parsed,
    items: usize,
    /// The open `<item>`: its fields and its comments' fields.
    item: BTreeMap<String, String>,
    comments: Vec<BTreeMap<String, String>>,
    comment: Option<BTreeMap<String, String>>,
}

impl Visitor for Wxr {
    fn on_start(&mut self, path: &[String], name: &str, attrs: &[(String, String)]) {
        match (path.len(), name) {
            (0, "rss") => {
                self.wordpress = attrs
                    .iter()
                    .any(|(_, v)| v.contains("wordpress.org/export/"));
            }
            (2, "item") => {
                self.item.clear();
                self.comments.clear();
            }
            (3, "comment") if path[2] == "item" => self.comment = Some(BTreeMap::new()),
            _ => {}
        }
    }

    fn on_end(&mut self, path: &[String], name: &str, text: String) {
        if path.len() < 2 || path[1] != "channel" {
            return;
        }
        match path.len() {
            2 if name == "item" => self.finish_item(),
            3 if name == "comment" => {
                if let Some(c) = self.comment.take() {
                    self.comments.push(c);
                }
            }
            3 => {
                self.item.insert(name.to_owned(), text);
            }
            4 if path[3] == "comment" => {
                if let Some(c) = &mut self.comment {
                    c.insert(name.to_owned(), text);
                }
            }
            _ => {}
        }
    }
}

impl Wxr {
    fn finish_item(&mut self) {
        self.items += 1;
        let get = |k: &str| {
            self.item
                .get(k)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let post_id = match get("post_id") {
            id if id.is_empty() => format!("item{}", self.items),
            id => id,
        };
        let thread = SourceThread {
            id: post_id.clone(),
            url: get("link"),
            title: text::decode_entities(&get("title")),
            key: None,
            deleted: false,
        };
        for fields in self.comments.drain(..) {
            let field = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
            let id = format!("{post_id}:{}", field("comment_id").unwrap_or("?"));
            match field("comment_type") {
                None | Some("comment") => {}
                Some(kind) => {
                    self.parsed.skipped.push(Skipped::new(
                        format!("comment {id}"),
                        format!("a {kind}, not a comment someone wrote"),
                    ));
                    continue;
                }
            }
            let content = fields.get("comment_content").map_or("", String::as_str);
            let mut c =
                SourceComment::new(post_id.clone(), Text::Html(text::wordpress_html(content)));
            c.id = field("comment_id").map(|_| id.clone());
            c.parent = field("comment_parent")
                .filter(|p| *p != "0")
                .map(|p| format!("{post_id}:{p}"));
            c.created = field("comment_date_gmt")
                .filter(|d| !d.starts_with("0000"))
                .or(field("comment_date"))
                .and_then(parse_utc);
            c.author = text::decode_entities(field("comment_author").unwrap_or_default());
            c.email = field("comment_author_email").map(str::to_owned);
            c.website = field("comment_author_url").map(str::to_owned);
            c.remote_addr = field("comment_author_IP").map(str::to_owned);
            c.status = match field("comment_approved").unwrap_or("1") {
                "1" | "approve" | "approved" => SourceStatus::Approved,
                "0" | "hold" => SourceStatus::Pending,
                "spam" => SourceStatus::Spam,
                "trash" | "post-trashed" => SourceStatus::Deleted,
                other => SourceStatus::Unknown(other.to_owned()),
            };
            self.parsed.comments.push(c);
        }
        self.parsed.threads.push(thread);
    }
}
