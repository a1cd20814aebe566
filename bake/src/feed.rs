//! Atom feeds (RFC 4287) of a site's comments, so readers can follow a
//! thread, or the whole site's discussion, in a feed reader: one feed per
//! thread shown on some page, and one of the latest comments across them.
//!
//! This module makes the bytes and the names; `feed_run` decides which
//! feeds a bake refreshes (from what it placed and what the state
//! remembers) and writes them atomically, only when their bytes change. Nothing here reads
//! a clock: a feed's `updated` is its newest entry's time, so two bakes of
//! the same comments write the same bytes.

use std::borrow::Cow;
use std::io;

use anyhow::{Context, Result};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::export::{CommentStatus, Thread};
use crate::markdown;
use crate::render::comment_anchor;

/// At most this many comments in a thread's feed, the newest.
pub const THREAD_LIMIT: usize = 100;
/// At most this many comments in the site's feed, the newest across threads.
pub const SITE_LIMIT: usize = 50;
/// The site feed's file name in the feeds directory. Thread feeds always
/// end in `-` and 16 hex digits, so none can take this name.
pub const SITE_FILE: &str = "latest.xml";

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// What an entry's time is when the source's cannot be read.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The file name of a thread's feed: a readable slug of the id followed by
/// 64 bits of its SHA-256, so the id is never used as a path (any byte of
/// it can only reach the slug as a lower-case letter, a digit or `-`) and
/// two ids whose slugs agree still get different names.
pub fn file_name(thread_id: &str) -> String {
    let mut slug = String::new();
    for c in thread_id.chars() {
        if slug.len() >= 48 {
            break;
        }
        match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => slug.push(c),
            _ if !slug.is_empty() && !slug.ends_with('-') => slug.push('-'),
            _ => {}
        }
    }
    let slug = slug.trim_end_matches('-');
    let digest = Sha256::digest(thread_id.as_bytes());
    let hash = crate::render::hex(&digest[..8]);
    match slug {
        "" => format!("thread-{hash}.xml"),
        slug => format!("{slug}-{hash}.xml"),
    }
}

/// The page a thread's feed links to: where the thread is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The page's path relative to the output directory; when a thread is
    /// shown on several pages, the first in path order is its feed's page.
    pub relative: String,
    /// The page's absolute URL.
    pub url: String,
    /// The page's `<title>`, possibly empty.
    pub title: String,
}

impl FeedPage {
    /// What feeds call the page: its title, or its URL when it has none.
    fn name(&self) -> &str {
        if self.title.is_empty() {
            &self.url
        } else {
            &self.title
        }
    }
}

/// One comment as a feed shows it. The site feed's entries are kept in the
/// bake state, so a re-bake that reads only the changed threads still
/// knows the latest comments of the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub thread: String,
    pub comment: i64,
    pub author: String,
    /// RFC 3339 in UTC, as written into the feed.
    pub at: String,
    /// Unix seconds of `at`, for ordering.
    pub unix: i64,
    /// The comment's sanitized HTML, the same the page shows.
    pub html: String,
    pub page_url: String,
    pub page_title: String,
}

impl Entry {
    /// Newest first: the larger key comes first.
    pub fn key(&self) -> (i64, i64) {
        (self.unix, self.comment)
    }

    /// The comment's permalink: its page and the anchor the thread gives it.
    fn permalink(&self) -> String {
        let page = self.page_url.split('#').next().unwrap_or_default();
        format!("{page}#{}", comment_anchor(self.comment))
    }
}

/// The published comments of `thread` as entries, newest first, at most
/// `limit`. Deleted placeholders are not comments anyone wrote: left out.
pub fn entries(thread: &Thread, page: &FeedPage, limit: usize) -> Vec<Entry> {
    let mut entries: Vec<Entry> = thread
        .comments
        .iter()
        .filter(|c| c.status == CommentStatus::Approved)
        .map(|c| {
            let (at, unix) = normalize_time(&c.created_at);
            Entry {
                thread: thread.id.clone(),
                comment: c.id,
                author: c.author.clone(),
                at,
                unix,
                html: c.html.clone().unwrap_or_else(|| markdown::to_html(&c.text)),
                page_url: page.url.clone(),
                page_title: page.name().to_owned(),
            }
        })
        .collect();
    newest_first(&mut entries, limit);
    entries
}

/// Sorts entries newest first and keeps at most `limit`.
pub fn newest_first(entries: &mut Vec<Entry>, limit: usize) {
    entries.sort_by_key(|e| std::cmp::Reverse(e.key()));
    entries.truncate(limit);
}

/// `created_at` as the feed writes it (RFC 3339, UTC) and as Unix seconds.
fn normalize_time(rfc3339: &str) -> (String, i64) {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .and_then(|t| Some((t.format(&Rfc3339).ok()?, t.unix_timestamp())))
        .unwrap_or_else(|| (EPOCH.to_owned(), 0))
}

/// What a feed says about itself.
struct Head<'a> {
    /// The feed's own absolute URL: its `id` and its `rel="self"` link.
    pub url: &'a str,
    pub title: &'a str,
    /// The page it is about (the thread's page, or the site).
    pub alternate: &'a str,
}

/// A thread's feed.
pub fn thread_feed(feed_url: &str, page: &FeedPage, entries: &[Entry]) -> Result<Vec<u8>> {
    let title = format!("Comments on {}", page.name());
    let head = Head {
        url: feed_url,
        title: &title,
        alternate: &page.url,
    };
    write(&head, entries)
}

/// The site's feed of the latest comments; each entry names its page.
pub fn site_feed(feed_url: &str, site_url: &str, entries: &[Entry]) -> Result<Vec<u8>> {
    let host = url::Url::parse(site_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| site_url.to_owned());
    let title = format!("Latest comments on {host}");
    let alternate = format!("{}/", site_url.trim_end_matches('/'));
    let head = Head {
        url: feed_url,
        title: &title,
        alternate: &alternate,
    };
    write(&head, entries)
}

/// The feed document. With no entry, `updated` is the Unix epoch: the
/// element is required, and a clock would change the bytes every bake.
fn write(head: &Head<'_>, entries: &[Entry]) -> Result<Vec<u8>> {
    let updated = entries
        .iter()
        .max_by_key(|e| e.key())
        .map_or(EPOCH, |e| e.at.as_str());
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut document = || -> io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        w.create_element("feed")
            .with_attribute(("xmlns", ATOM_NS))
            .write_inner_content(|w| {
                text(w, "id", head.url)?;
                text(w, "title", head.title)?;
                link(w, "self", "application/atom+xml", head.url)?;
                link(w, "alternate", "text/html", head.alternate)?;
                text(w, "updated", updated)?;
                w.create_element("generator")
                    .write_text_content(BytesText::new("kiln"))?;
                for entry in entries {
                    write_entry(w, entry)?;
                }
                Ok(())
            })?;
        Ok(())
    };
    document().context("writing an Atom feed")?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_entry(w: &mut Writer<Vec<u8>>, entry: &Entry) -> io::Result<()> {
    let permalink = entry.permalink();
    let author = if entry.author.trim().is_empty() {
        "Anonymous"
    } else {
        &entry.author
    };
    // The site's feed mixes pages, so every title says which.
    let title = format!("{author} on {}", entry.page_title);
    w.create_element("entry").write_inner_content(|w| {
        text(w, "id", &permalink)?;
        text(w, "title", &title)?;
        link(w, "alternate", "text/html", &permalink)?;
        text(w, "published", &entry.at)?;
        text(w, "updated", &entry.at)?;
        w.create_element("author")
            .write_inner_content(|w| text(w, "name", author))?;
        w.create_element("content")
            .with_attribute(("type", "html"))
            .write_text_content(BytesText::new(&xml_chars(&entry.html)))?;
        Ok(())
    })?;
    Ok(())
}

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_chars(value)))?;
    Ok(())
}

fn link(w: &mut Writer<Vec<u8>>, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", xml_chars(href).as_ref()))
        .write_empty()?;
    Ok(())
}

/// `s` without the characters XML 1.0 forbids even escaped (most C0
/// controls, U+FFFE and U+FFFF): a comment that holds one must not make
/// the whole feed unreadable.
fn xml_chars(s: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
    };
    if s.chars().all(allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| allowed(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_distinct_and_stable() {
        let names: Vec<String> = [
            "/posts/a/",
            "/posts-a/",
            "/../x",
            "../../etc/passwd",
            "",
            "日本語",
            &"y".repeat(500),
        ]
        .iter()
        .map(|id| file_name(id))
        .collect();
        for name in &names {
            assert!(
                name.ends_with(".xml") && name.len() <= 48 + 1 + 16 + 4,
                "{name}"
            );
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{name}"
            );
            assert!(
                !name.starts_with(['.', '-']) && !name.contains(".."),
                "{name}"
            );
            assert_ne!(name, SITE_FILE);
        }
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(names[0].starts_with("posts-a-"), "{}", names[0]);
        assert_eq!(file_name("/posts/a/"), names[0]);
    }

    #[test]
    fn text_loses_only_what_xml_cannot_hold() {
        assert_eq!(xml_chars("a\tb\u{1}c\u{ffff}d é"), "a\tbcd é");
        assert!(matches!(xml_chars("plain <b>"), Cow::Borrowed(_)));
    }
}
