//! Storing imported comments (issue 14): a batch from another system, or a
//! kiln export being restored, goes in as one transaction with the statuses,
//! times and parent links it came with. Each comment is remembered by its
//! source id in `imported`, so the same import run twice adds nothing and a
//! later import can answer a comment an earlier one brought.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use kiln_bake::markdown;
use rusqlite::{params, OptionalExtension, Transaction};

use super::{parse_status, touch_thread, SqliteStore};
use crate::store::{ImportBatch, ImportComment, ImportFields, ImportOutcome, ImportThread, Status};

/// Where a source id stands before the comment is stored.
enum Known {
    /// Stored by an earlier import; `None` if kiln has since deleted it.
    Earlier(Option<i64>),
    New,
}

impl SqliteStore {
    /// See `Store::import_batch`.
    pub fn import_batch(&mut self, batch: &ImportBatch, commit: bool) -> Result<ImportOutcome> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // The write lock first: a second import at the same moment waits
        // for it (up to the busy timeout) before reading what is stored,
        // instead of failing halfway when it starts to write.
        let tx = self.write_tx().map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) => anyhow::Error::new(e).context(
                "the database is busy with another write (another import?); \
                 nothing was imported: run the import again when that is done",
            ),
            _ => e.into(),
        })?;
        let mut outcome = ImportOutcome::default();
        // Source id → kiln id and thread row, for everything this batch
        // stored or found stored, so replies can find their parents.
        let mut placed: HashMap<&str, (i64, i64)> = HashMap::new();
        for thread in &batch.threads {
            let (thread_id, created) = thread_row(&tx, &batch.site, thread, now)?;
            outcome.new_threads += u64::from(created);
            let mut published = 0;
            for c in &thread.comments {
                match known(&tx, &batch.source, c)? {
                    Known::Earlier(id) => {
                        if let Some(id) = id {
                            let t: i64 = tx
                                .prepare_cached("SELECT thread_id FROM comments WHERE id = ?1")?
                                .query_row([id], |r| r.get(0))?;
                            placed.insert(&c.source_id, (id, t));
                        }
                        outcome.already.push(c.source_id.clone());
                        continue;
                    }
                    Known::New => {}
                }
                let parent = match &c.parent {
                    None => None,
                    Some(p) => match parent_of(&tx, &batch.source, &placed, p)? {
                        Some((id, t)) if t == thread_id => Some(id),
                        Some(_) => {
                            outcome.unplaced.push((
                                c.source_id.clone(),
                                format!("its parent {p} is in another thread"),
                            ));
                            continue;
                        }
                        None => {
                            outcome.unplaced.push((
                                c.source_id.clone(),
                                format!("its parent {p} is neither in this import nor stored by an earlier one (or was deleted since)"),
                            ));
                            continue;
                        }
                    },
                };
                let id = batch
                    .fields(c)
                    .and_then(|fields| insert(&tx, thread_id, &thread.url, parent, c, &fields))
                    .with_context(|| format!("cannot store comment {}", c.source_id))?;
                tx.prepare_cached(
                    "INSERT INTO imported (source, source_id, comment_id, imported_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![batch.source, c.source_id, id, now])?;
                placed.insert(&c.source_id, (id, thread_id));
                outcome.added.push((c.source_id.clone(), id));
                if c.status.is_published() {
                    published += 1;
                }
            }
            if published > 0 {
                touch_thread(&tx, thread_id, published)?;
            }
        }
        if commit {
            tx.commit()?;
        }
        Ok(outcome)
    }
}

/// The thread's row, created when the key is new (then `true`). A title
/// fills in one the thread does not have yet.
fn thread_row(
    tx: &Transaction,
    site: &str,
    thread: &ImportThread,
    now: i64,
) -> Result<(i64, bool)> {
    let existing: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, title FROM threads WHERE site = ?1 AND key = ?2",
            [site, &thread.key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, title)) = existing {
        if title.is_empty() && !thread.title.is_empty() {
            tx.execute(
                "UPDATE threads SET title = ?2 WHERE id = ?1",
                params![id, thread.title],
            )?;
        }
        return Ok((id, false));
    }
    let created = thread
        .comments
        .iter()
        .map(|c| c.created_at)
        .min()
        .unwrap_or(now);
    tx.execute(
        "INSERT INTO threads (site, key, url, created_at, title) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![site, thread.key, thread.url, created, thread.title],
    )?;
    Ok((tx.last_insert_rowid(), true))
}

/// Whether an earlier import stored this source id. A restored comment whose
/// id already holds the same comment (restoring into the database the export
/// came from) counts as stored before.
fn known(tx: &Transaction, source: &str, c: &ImportComment) -> Result<Known> {
    let earlier: Option<Option<i64>> = tx
        .prepare_cached("SELECT comment_id FROM imported WHERE source = ?1 AND source_id = ?2")?
        .query_row(params![source, c.source_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = earlier {
        return Ok(Known::Earlier(id));
    }
    let Some(id) = c.id else {
        return Ok(Known::New);
    };
    let holder: Option<(i64, String)> = tx
        .prepare_cached("SELECT created_at, status FROM comments WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match holder {
        None => Ok(Known::New),
        Some((created, status))
            if created == c.created_at && parse_status(&status)? == c.status =>
        {
            Ok(Known::Earlier(Some(id)))
        }
        Some(_) => bail!(
            "comment id {id} is already taken by another comment in this database; \
             restore a kiln export into an empty database"
        ),
    }
}

/// The kiln id and thread row of a parent, by its source id: stored by this
/// batch, or by an earlier import of the same source.
fn parent_of(
    tx: &Transaction,
    source: &str,
    placed: &HashMap<&str, (i64, i64)>,
    parent: &str,
) -> Result<Option<(i64, i64)>> {
    if let Some(&found) = placed.get(parent) {
        return Ok(Some(found));
    }
    Ok(tx
        .prepare_cached(
            "SELECT c.id, c.thread_id FROM imported i JOIN comments c ON c.id = i.comment_id
             WHERE i.source = ?1 AND i.source_id = ?2",
        )?
        .query_row(params![source, parent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn insert(
    tx: &Transaction,
    thread_id: i64,
    url: &str,
    parent: Option<i64>,
    c: &ImportComment,
    f: &ImportFields,
) -> Result<i64> {
    let deleted = c.status == Status::Deleted;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO comments (id, thread_id, parent_id, status, author, email, website, text,
                               page_url, remote_addr, created_at, approved_at, html,
                               html_version, avatar)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    stmt.execute(params![
        c.id,
        thread_id,
        parent,
        c.status.as_str(),
        f.author,
        f.email,
        f.website,
        f.text,
        url,
        f.remote_addr,
        c.created_at,
        c.status.is_published().then_some(c.created_at),
        (!deleted).then(|| markdown::to_html(&f.text)),
        (!deleted).then_some(markdown::VERSION),
        f.avatar,
    ])?;
    Ok(tx.last_insert_rowid())
}
