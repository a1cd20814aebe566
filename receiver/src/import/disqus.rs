//! Disqus's XML export (`<disqus>`: categories, then threads, then posts, all
//! flat; posts name their thread and parent by `dsq:id`). Messages are HTML.
//! Disqus has no pending state, but it has spam, and deleted posts and
//! threads, which Isso's importer publishes; here spam stays spam and a
//! deleted thread's posts are left out, with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::xml::{attr, Visitor};
use super::{parse_utc, text, Comments, Parsed, SourceComment, SourceStatus, SourceThread, Text};

pub fn parse(path: &Path) -> Result<Parsed> {
    let mut v = Disqus::default();
    super::xml::walk(path, super::open_source(path)?, &mut v)?;
    if !v.rooted {
        anyhow::bail!(
            "{} is not a Disqus export: it has no <disqus> root element",
            path.display()
        );
    }
    Ok(Parsed {
        threads: v.threads,
        comments: v.comments,
        skipped: Vec::new(),
    })
}

/// One `<post>` as a comment, made as soon as the post ends so that only
/// what kiln keeps stays in memory.
fn comment_of(p: Post) -> SourceComment {
    let status = match (flag(&p.fields, "isSpam"), flag(&p.fields, "isDeleted")) {
        (Ok(Some(true)), _) => SourceStatus::Spam,
        (_, Ok(Some(true))) => SourceStatus::Deleted,
        (Ok(_), Ok(_)) => SourceStatus::Approved,
        _ => SourceStatus::Unknown(format!(
            "isSpam={} isDeleted={}",
            p.fields.get("isSpam").map_or("", |s| s.trim()),
            p.fields.get("isDeleted").map_or("", |s| s.trim())
        )),
    };
    let field = |k: &str| p.fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut c = SourceComment::new(
        p.thread.clone().unwrap_or_default(),
        Text::Html(p.fields.get("message").cloned().unwrap_or_default()),
    );
    c.id = p.id.clone();
    c.parent = p.parent.clone();
    c.created = field("createdAt").and_then(parse_utc);
    c.author = text::decode_entities(
        field("author/name")
            .or(field("author/username"))
            .unwrap_or_default(),
    );
    c.email = field("author/email").map(str::to_owned);
    c.status = status;
    c.remote_addr = field("ipAddress").map(str::to_owned);
    c
}

/// `true`/`false` as Disqus writes them: `Ok(None)` when absent, `Err`
/// for any other value (`123` is in a real file).
fn flag(fields: &BTreeMap<String, String>, key: &str) -> std::result::Result<Option<bool>, ()> {
    match fields.get(key).map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(()),
    }
}

#[derive(Default)]
struct Post {
    id: Option<String>,
    thread: Option<String>,
    parent: Option<String>,
    /// Child element texts by path below `<post>` (`message`, `author/name`).
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Disqus {
    rooted: bool,
    threads: Vec<SourceThread>,
    comments: Comments,
    thread: Option<(SourceThread, BTreeMap<String, String>)>,
    post: Option<Post>,
}

impl Visitor for Disqus {
    fn on_start(&mut self, path: &[String], name: &str, attrs: &[(String, String)]) {
        match (path.len(), name) {
            (0, "disqus") => self.rooted = true,
            (1, "thread") => {
                let t = SourceThread {
                    id: attr(attrs, "id").unwrap_or_default().to_owned(),
                    ..SourceThread::default()
                };
                self.thread = Some((t, BTreeMap::new()));
            }
            (1, "post") => {
                self.post = Some(Post {
                    id: attr(attrs, "id").map(str::to_owned),
                    ..Post::default()
                })
            }
            (2, "thread") if path[1] == "post" => {
                if let Some(p) = &mut self.post {
                    p.thread = attr(attrs, "id").map(str::to_owned);
                }
            }
            (2, "parent") if path[1] == "post" => {
                if let Some(p) = &mut self.post {
                    p.parent = attr(attrs, "id").map(str::to_owned);
                }
            }
            _ => {}
        }
    }

    fn on_end(&mut self, path: &[String], name: &str, text: String) {
        match path.len() {
            1 if name == "thread" => {
                if let Some((mut t, f)) = self.thread.take() {
                    let get = |k: &str| f.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
                    let identifier = get("id");
                    t.url = get("link");
                    if t.url.is_empty()
                        && (identifier.starts_with('/') || identifier.starts_with("http"))
                    {
                        t.url = identifier;
                    }
                    t.title = text::decode_entities(&get("title"));
                    t.deleted = get("isDeleted") == "true";
                    self.threads.push(t);
                }
            }
            1 if name == "post" => {
                if let Some(p) = self.post.take() {
                    self.comments.push(comment_of(p));
                }
            }
            n if n >= 2 => {
                let key = path[2..]
                    .iter()
                    .map(String::as_str)
                    .chain([name])
                    .collect::<Vec<_>>()
                    .join("/");
                match path[1].as_str() {
                    "thread" => {
                        if let Some((_, f)) = &mut self.thread {
                            f.insert(key, text);
                        }
                    }
                    "post" => {
                        if let Some(p) = &mut self.post {
                            p.fields.insert(key, text);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
