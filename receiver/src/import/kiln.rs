//! Restoring kiln's own export (docs/export-format.md). Threads keep their
//! keys and comments their ids and avatar keys, so a restored database bakes
//! the same pages. It goes through the same pass and store method as every
//! other import: a second restore adds nothing.

use std::path::Path;

use anyhow::Result;
use kiln_bake::export::{CommentStatus, Export};

use super::{parse_utc, read_text, Parsed, SourceComment, SourceStatus, SourceThread, Text};

pub fn parse(path: &Path) -> Result<Parsed> {
    let export = Export::parse(&read_text(path)?)?;
    export.check()?;
    let mut parsed = Parsed::default();
    for t in export.threads {
        parsed.threads.push(SourceThread {
            id: t.id.clone(),
            key: Some(t.id.clone()),
            url: t.url,
            ..SourceThread::default()
        });
        for c in t.comments {
            let mut s = SourceComment::new(t.id.clone(), Text::Markdown(c.text));
            s.id = Some(c.id.to_string());
            s.keep_id = Some(c.id);
            s.parent = c.parent.map(|p| p.to_string());
            s.created = parse_utc(&c.created_at);
            s.author = c.author;
            s.website = c.website;
            s.avatar = c.avatar;
            s.status = match c.status {
                CommentStatus::Approved => SourceStatus::Approved,
                CommentStatus::Deleted => SourceStatus::Deleted,
            };
            parsed.comments.push(s);
        }
    }
    Ok(parsed)
}
