//! Staticman's data files: one YAML or JSON file per comment, a folder per
//! page (`_data/comments/<slug>/comment-<ms>.yml`). Only `_id` and `_parent`
//! are Staticman's own, and `_parent` names the page, not a parent comment.
//! Everything else is what the site's form sent: the text in `message`,
//! `comment` or `body`, the website in `url` or `website`, and a reply link
//! either as the parent's `_id` (`reply_to`) or as the 1-based position of
//! the parent among the page's top-level comments in file-name order
//! (`replying_to`, the made-mistakes theme). Dates come in four forms.
//! Every file is approved: Staticman's pending comments are unmerged
//! branches, not files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_norway::Value;

use super::{parse_utc, Parsed, SourceComment, SourceThread, Text};

pub fn parse(root: &Path) -> Result<Parsed> {
    if !root.is_dir() {
        bail!(
            "{} is not a directory; give Staticman's comments folder (e.g. _data/comments)",
            root.display()
        );
    }
    let mut folders: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    collect(root, &mut folders)?;
    let mut parsed = Parsed::default();
    for (dir, mut files) in folders {
        files.sort();
        let slug = dir
            .strip_prefix(root)
            .unwrap_or(&dir)
            .to_string_lossy()
            .replace('\\', "/");
        let mut thread = SourceThread {
            id: slug.clone(),
            ..SourceThread::default()
        };
        let mut comments = Vec::new();
        for file in &files {
            let doc = read(file)?;
            let get = |k: &str| scalar(doc.get(k));
            if thread.url.is_empty() {
                if let Some(page) =
                    get("_parent").filter(|p| p.starts_with('/') || p.starts_with("http"))
                {
                    thread.url = page;
                }
            }
            let body = get("message")
                .or(get("comment"))
                .or(get("body"))
                .unwrap_or_default();
            let mut c = SourceComment::new(slug.clone(), Text::Markdown(body));
            c.id = get("_id").or(get("id"));
            c.created = doc.get("date").and_then(time_of);
            c.author = get("name").unwrap_or_default();
            c.email = get("email");
            c.website = get("url").or(get("website"));
            c.parent = get("reply_to").filter(|p| !p.is_empty());
            let position = get("replying_to").filter(|p| !p.is_empty());
            comments.push((c, position, file.clone()));
        }
        // `replying_to` counts the page's top-level comments, in file order.
        let top: Vec<Option<String>> = comments
            .iter()
            .filter(|(c, pos, _)| c.parent.is_none() && pos.is_none())
            .map(|(c, _, _)| c.id.clone())
            .collect();
        for (mut c, position, file) in comments {
            if let Some(pos) = position {
                match pos.parse::<usize>().ok().and_then(|n| top.get(n.checked_sub(1)?)) {
                    Some(Some(id)) => c.parent = Some(id.clone()),
                    _ => bail!(
                        "{}: `replying_to: {pos}` names no top-level comment of this page (it has {})",
                        file.display(),
                        top.len()
                    ),
                }
            }
            if c.id.is_none() {
                // The file name is unique and stable: it stands in for an id.
                c.id = file
                    .file_name()
                    .map(|n| format!("{slug}/{}", n.to_string_lossy()));
            }
            parsed.comments.push(c);
        }
        if thread.url.is_empty() {
            thread.url = format!("/{slug}/");
        }
        parsed.threads.push(thread);
    }
    Ok(parsed)
}

/// Every data file under `dir`, by folder.
fn collect(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<PathBuf>>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml" | "json")
        ) {
            out.entry(dir.to_owned()).or_default().push(path);
        }
    }
    Ok(())
}

/// One data file as a mapping; YAML tags (`!!python/unicode`) are looked
/// through to their value.
fn read(file: &Path) -> Result<BTreeMap<String, Value>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value: Value = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?
    } else {
        serde_norway::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", file.display()))?
    };
    match untag(value) {
        Value::Mapping(m) => Ok(m
            .into_iter()
            .filter_map(|(k, v)| Some((scalar(Some(&untag(k)))?, untag(v))))
            .collect()),
        _ => bail!(
            "{} does not hold one comment as a mapping of fields",
            file.display()
        ),
    }
}

fn untag(v: Value) -> Value {
    match v {
        Value::Tagged(t) => untag(t.value),
        other => other,
    }
}

/// A scalar field as text; `None` for null, absent or a nested value.
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(Some(&t.value)),
        _ => None,
    }
}

/// A Staticman date: an ISO string (with or without a zone; none means
/// UTC), or Unix seconds or milliseconds.
fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            let n = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            Some(if n > 100_000_000_000 { n / 1000 } else { n })
        }
        Value::String(s) => parse_utc(s),
        Value::Tagged(t) => time_of(&t.value),
        _ => None,
    }
}
