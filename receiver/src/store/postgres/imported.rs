//! Storing imported comments on PostgreSQL (issue 14), by the rules of
//! `sqlite/imported.rs`: one transaction, statuses, times and parent links
//! as they came, each comment remembered by its source id in `imported` so
//! the same batch again adds nothing, no mail queued, the threads marked
//! changed. What differs is the locking (see `mod.rs` for the order):
//! imports take an advisory lock, so two run one after the other; then the
//! stored comments the batch depends on are locked first, then its threads
//! in id order, and `Touched` then takes the change sequence; explicit ids
//! (a restore) move the id sequence past them.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use kiln_bake::markdown;

use super::migrate::LOCK_CLASS;
use super::{status, PgStore, Touched, Tx};
use crate::store::{ImportBatch, ImportComment, ImportFields, ImportOutcome, ImportThread, Status};

/// The advisory lock (second key) every import holds until it commits.
pub const IMPORT_LOCK: i32 = 4;

/// A comment's id and its thread's row.
type Placed = (i64, i64);

/// Where a source id stands before the comment is stored.
enum Known {
    /// Stored by an earlier import; `None` if kiln has since deleted it.
    Earlier(Option<Placed>),
    New,
}

impl PgStore {
    /// See `Store::import_batch`.
    pub fn import_batch(&mut self, batch: &ImportBatch, commit: bool) -> Result<ImportOutcome> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let keep: fn(&ImportOutcome) -> bool = if commit { |_| true } else { |_| false };
        self.transaction(keep, |tx| {
            // One import at a time: a second one (the same file run twice
            // at once, say) waits here until the first commits, and then
            // finds its comments already imported instead of failing on
            // the `imported` key halfway.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, $2)",
                &[&LOCK_CLASS, &IMPORT_LOCK],
            )?;
            // Comments first: what each source id and kept id stands for,
            // and the earlier imports' parents, all locked FOR SHARE.
            let in_batch: HashSet<&str> = batch
                .threads
                .iter()
                .flat_map(|t| &t.comments)
                .map(|c| c.source_id.as_str())
                .collect();
            let mut known = Vec::new();
            let mut stored_parents: HashMap<&str, Option<Placed>> = HashMap::new();
            for c in batch.threads.iter().flat_map(|t| &t.comments) {
                known.push(known_as(tx, &batch.source, c)?);
                if let Some(p) = c.parent.as_deref() {
                    if !in_batch.contains(p) && !stored_parents.contains_key(p) {
                        stored_parents.insert(p, stored_parent(tx, &batch.source, p)?);
                    }
                }
            }
            // Then the threads.
            let threads = thread_rows(tx, &batch.site, &batch.threads, now)?;
            let mut known = known.into_iter();
            let mut outcome = ImportOutcome::default();
            let mut placed: HashMap<&str, Placed> = HashMap::new();
            let mut touched = Touched::default();
            let mut kept_ids = false;
            for (thread, &(thread_id, created)) in batch.threads.iter().zip(&threads) {
                outcome.new_threads += u64::from(created);
                let mut published = 0;
                for c in &thread.comments {
                    match known.next().expect("one per comment") {
                        Known::Earlier(found) => {
                            if let Some(found) = found {
                                placed.insert(&c.source_id, found);
                            }
                            outcome.already.push(c.source_id.clone());
                            continue;
                        }
                        Known::New => {}
                    }
                    let parent = match c.parent.as_deref() {
                        None => None,
                        Some(p) => {
                            let found = placed
                                .get(p)
                                .copied()
                                .or_else(|| stored_parents.get(p).copied().flatten());
                            match found {
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
                            }
                        }
                    };
                    let id = batch
                        .fields(c)
                        .and_then(|fields| insert(tx, thread_id, &thread.url, parent, c, &fields))
                        .with_context(|| format!("cannot store comment {}", c.source_id))?;
                    tx.execute(
                        "INSERT INTO imported (source, source_id, comment_id, imported_at)
                         VALUES ($1, $2, $3, $4)",
                        &[&batch.source, &c.source_id, &id, &now],
                    )?;
                    kept_ids |= c.id.is_some();
                    placed.insert(&c.source_id, (id, thread_id));
                    outcome.added.push((c.source_id.clone(), id));
                    if c.status.is_published() {
                        published += 1;
                    }
                }
                if published > 0 {
                    touched.thread(thread_id, published);
                }
            }
            touched.touch(tx)?;
            if kept_ids && commit {
                // nextval first, so the sequence never moves back below ids
                // it already handed out. (A sequence ignores rollbacks, so a
                // dry run leaves it alone.)
                tx.query_one(
                    "SELECT setval(pg_get_serial_sequence('comments', 'id'),
                                   greatest(nextval(pg_get_serial_sequence('comments', 'id')),
                                            (SELECT max(id) FROM comments)))",
                    &[],
                )?;
            }
            Ok(outcome)
        })
    }
}

/// Whether an earlier import stored this source id. A restored comment whose
/// id already holds the same comment (restoring into the database the export
/// came from) counts as stored before; one holding another comment fails
/// the whole import. The comment found stays locked against a delete.
fn known_as(tx: &mut Tx<'_>, source: &str, c: &ImportComment) -> Result<Known> {
    let earlier = tx.query_opt(
        "SELECT comment_id FROM imported WHERE source = $1 AND source_id = $2",
        &[&source, &c.source_id],
    )?;
    if let Some(row) = earlier {
        return Ok(Known::Earlier(match row.try_get::<_, Option<i64>>(0)? {
            None => None,
            Some(id) => locked(tx, id)?.map(|(thread, _, _)| (id, thread)),
        }));
    }
    let Some(id) = c.id else {
        return Ok(Known::New);
    };
    match locked(tx, id)? {
        None => Ok(Known::New),
        Some((thread, created, held)) if created == c.created_at && held == c.status => {
            Ok(Known::Earlier(Some((id, thread))))
        }
        Some(_) => bail!(
            "comment id {id} is already taken by another comment in this database; \
             restore a kiln export into an empty database"
        ),
    }
}

/// Comment `id`'s thread row, time and status, locked FOR SHARE until the
/// transaction ends; `None` when there is no such comment.
fn locked(tx: &mut Tx<'_>, id: i64) -> Result<Option<(i64, i64, Status)>> {
    tx.query_opt(
        "SELECT thread_id, created_at, status FROM comments WHERE id = $1 FOR SHARE",
        &[&id],
    )?
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, status(row.try_get(2)?)?)))
    .transpose()
}

/// The kiln id and thread row of a parent an earlier import of the same
/// source stored (locked, so it is not deleted under the reply).
fn stored_parent(tx: &mut Tx<'_>, source: &str, parent: &str) -> Result<Option<Placed>> {
    let id = tx
        .query_opt(
            "SELECT comment_id FROM imported WHERE source = $1 AND source_id = $2",
            &[&source, &parent],
        )?
        .map(|row| row.try_get::<_, Option<i64>>(0))
        .transpose()?
        .flatten();
    let Some(id) = id else { return Ok(None) };
    Ok(locked(tx, id)?.map(|(thread, _, _)| (id, thread)))
}

/// Each thread's row, in the batch's order, and whether this import created
/// it. The threads that exist are locked in id order (the order `Touched`
/// takes them in); a title fills in one a thread does not have yet.
fn thread_rows(
    tx: &mut Tx<'_>,
    site: &str,
    threads: &[ImportThread],
    now: i64,
) -> Result<Vec<(i64, bool)>> {
    let keys: Vec<&str> = threads.iter().map(|t| t.key.as_str()).collect();
    let mut existing: HashMap<String, (i64, String)> = HashMap::new();
    for row in tx.query(
        "SELECT id, key, title FROM threads WHERE site = $1 AND key = ANY($2)
         ORDER BY id FOR NO KEY UPDATE",
        &[&site, &keys],
    )? {
        existing.insert(row.try_get(1)?, (row.try_get(0)?, row.try_get(2)?));
    }
    let mut rows = Vec::with_capacity(threads.len());
    for thread in threads {
        if let Some((id, title)) = existing.get_mut(&thread.key) {
            if title.is_empty() && !thread.title.is_empty() {
                tx.execute(
                    "UPDATE threads SET title = $2 WHERE id = $1",
                    &[&*id, &thread.title],
                )?;
                title.clone_from(&thread.title);
            }
            rows.push((*id, false));
            continue;
        }
        let created = thread
            .comments
            .iter()
            .map(|c| c.created_at)
            .min()
            .unwrap_or(now);
        let inserted = tx.query_opt(
            "INSERT INTO threads (site, key, url, created_at, title) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (site, key) DO NOTHING RETURNING id",
            &[&site, &thread.key, &thread.url, &created, &thread.title],
        )?;
        let row = match inserted {
            Some(row) => (row.try_get(0)?, true),
            // Another transaction made it meanwhile.
            None => (
                tx.query_one(
                    "SELECT id FROM threads WHERE site = $1 AND key = $2",
                    &[&site, &thread.key],
                )?
                .try_get(0)?,
                false,
            ),
        };
        existing.insert(thread.key.clone(), (row.0, thread.title.clone()));
        rows.push(row);
    }
    Ok(rows)
}

/// Stores one comment; its kiln id (the one it brought, or a new one).
fn insert(
    tx: &mut Tx<'_>,
    thread_id: i64,
    url: &str,
    parent: Option<i64>,
    c: &ImportComment,
    f: &ImportFields,
) -> Result<i64> {
    let deleted = c.status == Status::Deleted;
    let approved_at = c.status.is_published().then_some(c.created_at);
    let html = (!deleted).then(|| markdown::to_html(&f.text));
    let version = (!deleted).then_some(markdown::VERSION);
    let row = tx.query_one(
        "INSERT INTO comments (id, thread_id, parent_id, status, author, email, website, text,
                               page_url, remote_addr, created_at, approved_at, html,
                               html_version, avatar)
         OVERRIDING SYSTEM VALUE
         VALUES (coalesce($1, nextval(pg_get_serial_sequence('comments', 'id'))),
                 $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING id",
        &[
            &c.id,
            &thread_id,
            &parent,
            &c.status.as_str(),
            &f.author,
            &f.email,
            &f.website,
            &f.text,
            &url,
            &f.remote_addr,
            &c.created_at,
            &approved_at,
            &html,
            &version,
            &f.avatar,
        ],
    )?;
    Ok(row.try_get(0)?)
}
