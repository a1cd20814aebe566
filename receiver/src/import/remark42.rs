//! Remark42's backup: JSON Lines, usually gzipped. Line 1 is metadata
//! (`version`, users, posts); every other line is one comment, keyed to its
//! page by the full URL in `locator.url`. `text` is the HTML Remark42 already
//! sanitized and showed (`orig`, the unsanitized Markdown, is never used).
//! Remark42 has no pending state and keeps deleted comments blanked.

use std::io::BufRead;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{parse_utc, Parsed, SourceComment, SourceStatus, SourceThread, Text};

#[derive(Deserialize)]
struct Meta {
    version: Option<u32>,
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    #[serde(default)]
    pid: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    user: User,
    locator: Locator,
    time: String,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Locator {
    url: String,
}

pub fn parse(path: &Path) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut seen_threads = std::collections::HashSet::new();
    for (n, line) in super::open_source(path)?.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let at = || format!("{}, line {}", path.display(), n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if n == 0 {
            let meta: Meta = serde_json::from_str(&line)
                .with_context(|| format!("{}: not Remark42's metadata line", at()))?;
            match meta.version {
                Some(0 | 1) => continue,
                Some(v) => bail!("{}: backup version {v}; kiln reads versions 0 and 1", at()),
                None => bail!(
                    "{}: the metadata line has no `version`; is this a Remark42 backup?",
                    at()
                ),
            }
        }
        let c: Comment = serde_json::from_str(&line)
            .with_context(|| format!("{}: not a Remark42 comment", at()))?;
        if seen_threads.insert(c.locator.url.clone()) {
            parsed.threads.push(SourceThread {
                id: c.locator.url.clone(),
                url: c.locator.url.clone(),
                title: c.title.clone(),
                ..SourceThread::default()
            });
        }
        let mut s = SourceComment::new(c.locator.url, Text::Html(c.text));
        s.id = Some(c.id);
        s.parent = Some(c.pid).filter(|p| !p.is_empty());
        s.created = parse_utc(&c.time);
        s.author = c.user.name;
        s.status = if c.delete {
            SourceStatus::Deleted
        } else {
            SourceStatus::Approved
        };
        parsed.comments.push(s);
    }
    Ok(parsed)
}
