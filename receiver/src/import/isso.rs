//! Isso's SQLite database (read through the store, which alone speaks SQL).
//! Isso stores Markdown, keeps threads by the path the page embedded
//! (decoded, no host), escapes author, email and website when they come
//! through its API (so they are unescaped here, once), and marks a deleted
//! comment that has replies with mode 4. Isso itself flattens replies to one
//! level, so the nesting kiln gets is the nesting Isso kept.

use std::path::Path;

use anyhow::Result;

use super::{text, Parsed, SourceComment, SourceStatus, SourceThread, Text};
use crate::store::isso;

pub fn parse(path: &Path) -> Result<Parsed> {
    let dump = isso::read(path)?;
    let threads = dump
        .threads
        .iter()
        .map(|t| SourceThread {
            id: t.id.to_string(),
            url: t.uri.clone(),
            title: t.title.clone().unwrap_or_default(),
            key: None,
            deleted: false,
        })
        .collect();
    let mut parsed = Parsed {
        threads,
        ..Parsed::default()
    };
    for r in dump.comments {
        let mut c = SourceComment::new(
            r.tid.to_string(),
            Text::Markdown(r.text.unwrap_or_default()),
        );
        c.id = Some(r.id.to_string());
        c.parent = r.parent.map(|p| p.to_string());
        c.created = r.created.is_finite().then_some(r.created.floor() as i64);
        let unescaped = |v: Option<String>| v.map(|s| text::decode_entities(&s));
        c.author = unescaped(r.author).unwrap_or_default();
        c.email = unescaped(r.email);
        c.website = unescaped(r.website);
        c.remote_addr = r.remote_addr;
        c.status = match r.mode {
            1 => SourceStatus::Approved,
            2 => SourceStatus::Pending,
            4 => SourceStatus::Deleted,
            m => SourceStatus::Unknown(format!("mode {m}")),
        };
        parsed.comments.push(c);
    }
    Ok(parsed)
}
