//! Moderation from the command line: list the queue, approve, reject and
//! delete by id, and export what is published. Each works on the configured
//! database and treats an unknown id as an error that changes nothing.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::store::{Refusal, Status, Store};

/// Opens the configured database, which must exist: moderating an empty,
/// freshly created file would only hide a wrong path.
fn open(config: &Config) -> Result<Store> {
    let path = &config.database.path;
    if !path.is_file() {
        bail!(
            "there is no database at {}; pass --db PATH or set database.path (kiln serve creates it)",
            path.display()
        );
    }
    Store::open(path)
}

pub fn queue(config: &Config) -> Result<()> {
    let store = open(config)?;
    let pending = store.by_status(Status::Pending)?;
    let mut out = std::io::stdout().lock();
    if pending.is_empty() {
        writeln!(out, "No comments are waiting for moderation.")?;
        return Ok(());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    writeln!(out, "{} pending comment(s), newest first:\n", pending.len())?;
    for c in &pending {
        let author = if c.author.is_empty() {
            "(no name)"
        } else {
            &c.author
        };
        let email = c
            .email
            .as_deref()
            .map(|e| format!(" <{e}>"))
            .unwrap_or_default();
        let reply = c
            .parent
            .map(|p| format!(", reply to #{p}"))
            .unwrap_or_default();
        writeln!(
            out,
            "#{id}  {thread}  {author}{email}  {age} ago{reply}",
            id = c.id,
            thread = c.thread,
            age = age(now - c.created_at),
        )?;
        writeln!(out, "    page: {}", c.page_url)?;
        for line in c.text.lines().take(6) {
            writeln!(out, "    | {}", one_line(line, 100))?;
        }
        if c.text.lines().count() > 6 {
            writeln!(out, "    | …")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Approve with `kiln approve ID…`, reject with `kiln reject ID…`."
    )?;
    Ok(())
}

pub fn approve(config: &Config, ids: &[i64]) -> Result<()> {
    let mut store = open(config)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    settle(store.approve(ids, now)?, "approved", ids)
}

pub fn reject(config: &Config, ids: &[i64]) -> Result<()> {
    let mut store = open(config)?;
    settle(store.reject(ids)?, "rejected", ids)
}

pub fn delete(config: &Config, ids: &[i64]) -> Result<()> {
    let mut store = open(config)?;
    settle(store.delete(ids)?, "deleted", ids)
}

fn settle(outcome: std::result::Result<(), Refusal>, verb: &str, ids: &[i64]) -> Result<()> {
    match outcome {
        Ok(()) => {
            let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
            println!("{verb} {}", list.join(", "));
            Ok(())
        }
        Err(refusal) => bail!("{refusal}; nothing was {verb}"),
    }
}

pub fn export(config: &Config, output: Option<&Path>) -> Result<()> {
    let store = Store::open_read_only(&config.database.path)?;
    let mut json = serde_json::to_string_pretty(&store.export()?)?;
    json.push('\n');
    match output {
        None => std::io::stdout().lock().write_all(json.as_bytes())?,
        Some(path) => kiln_bake::inject::write_atomic(path, json.as_bytes(), None)
            .map(|_| ())
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    Ok(())
}

fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}
