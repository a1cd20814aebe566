//! Commento's export (v1) and Comentario's (v1, and v3 with pages), JSON,
//! gzipped or not. Comments hold Markdown. Commento keys a page by domain
//! and path (`url` is a path despite its name), Comentario v1 by `host` and
//! `path`, v3 by a page record's `path`. The anonymous commenter has no
//! entry in `commenters` (`anonymous`, 64 zeros, or the zero UUID); an
//! anonymous-provider commenter has the literal `undefined` for its email
//! and link, which are dropped.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{
    parse_utc, read_text, Format, Parsed, SourceComment, SourceStatus, SourceThread, Text,
};

/// Which of the two systems wrote the export that starts with `head`.
pub fn which(head: &str) -> Format {
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("\"version\":3")
        || compact.contains("\"host\":")
        || compact.contains("\"pages\":")
    {
        Format::Comentario
    } else {
        Format::Commento
    }
}

#[derive(Deserialize)]
struct Header {
    version: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1 {
    #[serde(default)]
    comments: Vec<V1Comment>,
    #[serde(default)]
    commenters: Vec<V1Commenter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Comment {
    comment_hex: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    commenter_hex: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    parent_hex: String,
    #[serde(default)]
    state: String,
    creation_date: String,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Commenter {
    commenter_hex: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    provider: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3 {
    #[serde(default)]
    pages: Vec<V3Page>,
    #[serde(default)]
    comments: Vec<V3Comment>,
    #[serde(default)]
    commenters: Vec<V3Commenter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Page {
    id: String,
    path: String,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Comment {
    id: String,
    #[serde(default)]
    parent_id: Option<String>,
    page_id: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    is_approved: bool,
    #[serde(default)]
    is_pending: bool,
    #[serde(default)]
    is_deleted: bool,
    created_time: String,
    #[serde(default)]
    user_created: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Commenter {
    id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    website_url: String,
}

/// Commento's and Comentario's ids for "nobody in particular".
fn is_anonymous(id: &str) -> bool {
    id.is_empty() || id == "anonymous" || id.bytes().all(|b| b == b'0' || b == b'-')
}

pub fn parse(path: &Path) -> Result<Parsed> {
    let json = read_text(path)?;
    let header: Header = serde_json::from_str(&json).context("not a JSON object")?;
    match header.version {
        Some(1) => v1(&json),
        Some(3) => v3(&json),
        Some(v) => {
            bail!("`version` is {v}; kiln reads Commento and Comentario exports of version 1 and 3")
        }
        None => bail!("there is no `version` field; is this a Commento or Comentario export?"),
    }
}

/// Markdown that Comentario also reads as a deleted comment.
fn blanked(markdown: &str) -> bool {
    markdown.is_empty() || markdown == "[deleted]"
}

fn v1(json: &str) -> Result<Parsed> {
    let doc: V1 = serde_json::from_str(json).context("not a version 1 export")?;
    let people: BTreeMap<&str, &V1Commenter> = doc
        .commenters
        .iter()
        .map(|c| (c.commenter_hex.as_str(), c))
        .collect();
    let mut parsed = Parsed::default();
    let mut threads = HashSet::new();
    for c in &doc.comments {
        let host = c.host.as_deref().or(c.domain.as_deref()).unwrap_or("");
        let mut page = c
            .path
            .as_deref()
            .or(c.url.as_deref())
            .unwrap_or("")
            .to_owned();
        if !page.starts_with('/') {
            page.insert(0, '/');
        }
        let thread = format!("{host}{page}");
        if threads.insert(thread.clone()) {
            parsed.threads.push(SourceThread {
                id: thread.clone(),
                url: if host.is_empty() {
                    page.clone()
                } else {
                    format!("https://{host}{page}")
                },
                ..SourceThread::default()
            });
        }
        let mut s = SourceComment::new(thread, Text::Markdown(c.markdown.clone()));
        s.id = Some(c.comment_hex.clone());
        s.parent = Some(c.parent_hex.clone()).filter(|p| !p.is_empty() && p != "root");
        s.created = parse_utc(&c.creation_date);
        if let Some(who) = people
            .get(c.commenter_hex.as_str())
            .filter(|_| !is_anonymous(&c.commenter_hex))
        {
            if who.provider != "anon" {
                s.author = who.name.clone();
                s.email = Some(who.email.clone());
                s.website = Some(who.link.clone());
            }
        }
        // Comentario (which writes `host` and `path`) also reads empty
        // Markdown as deleted; Commento writes "[deleted]" when it deletes.
        let comentario = c.host.is_some() || c.path.is_some();
        let gone = c.markdown == "[deleted]" || (comentario && c.markdown.is_empty());
        s.status = if c.deleted || gone {
            SourceStatus::Deleted
        } else {
            match c.state.as_str() {
                "approved" | "" => SourceStatus::Approved,
                "unapproved" | "flagged" => SourceStatus::Pending,
                other => SourceStatus::Unknown(other.to_owned()),
            }
        };
        parsed.comments.push(s);
    }
    Ok(parsed)
}

fn v3(json: &str) -> Result<Parsed> {
    let doc: V3 = serde_json::from_str(json).context("not a version 3 export")?;
    let people: BTreeMap<&str, &V3Commenter> =
        doc.commenters.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut parsed = Parsed::default();
    for p in &doc.pages {
        parsed.threads.push(SourceThread {
            id: p.id.clone(),
            url: if p.path.starts_with('/') {
                p.path.clone()
            } else {
                format!("/{}", p.path)
            },
            title: p.title.clone(),
            ..SourceThread::default()
        });
    }
    for c in &doc.comments {
        let mut s = SourceComment::new(c.page_id.clone(), Text::Markdown(c.markdown.clone()));
        s.id = Some(c.id.clone());
        s.parent = c.parent_id.clone().filter(|p| !p.is_empty());
        s.created = parse_utc(&c.created_time);
        let user = c.user_created.as_deref().unwrap_or("");
        match people.get(user).filter(|_| !is_anonymous(user)) {
            Some(who) => {
                s.author = who.name.clone();
                s.email = Some(who.email.clone());
                s.website = Some(who.website_url.clone());
            }
            None => s.author = c.author_name.clone().unwrap_or_default(),
        }
        // Three flags, not one state: deleted wins, then pending.
        s.status = if c.is_deleted || blanked(&c.markdown) {
            SourceStatus::Deleted
        } else if c.is_pending {
            SourceStatus::Pending
        } else if c.is_approved {
            SourceStatus::Approved
        } else {
            SourceStatus::Unknown("neither approved nor pending".to_owned())
        };
        parsed.comments.push(s);
    }
    Ok(parsed)
}
