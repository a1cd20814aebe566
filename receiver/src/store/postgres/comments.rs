//! Comments on PostgreSQL: storing a submission, reading comments back,
//! approving, rejecting and deleting them, and what bake and the optional
//! script read (published threads, thread stamps, the change sequence,
//! approved counts). The SQL mirrors `sqlite/mod.rs` and `sqlite/counts.rs`;
//! what differs is the locking that SQLite's single writer made unneeded
//! (see `mod.rs` for the order).

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Thread};
use kiln_bake::markdown;
use postgres::fallible_iterator::FallibleIterator;

use super::{comment, queue, select_comment, status, unsigned, PgStore, Refused, Touched, Tx};
use crate::store::{NewComment, Refusal, Status, StoredComment};

/// The columns `published_threads` reads, in its order, and the rest of
/// the statement; `without likes` reads every like count as 0, for a bake
/// with reactions off.
macro_rules! published {
    (counting likes, $rest:literal) => {
        published!(@ "(SELECT count(*) FROM reactions r WHERE r.comment_id = c.id)", $rest)
    };
    (without likes, $rest:literal) => {
        published!(@ "0::bigint", $rest)
    };
    (@ $likes:literal, $rest:literal) => {
        concat!(
            "SELECT t.key, t.url, c.id, c.parent_id, c.status, c.author, c.website,
                    c.text, c.created_at, c.html, c.html_version, c.email, c.avatar, ",
            $likes,
            ", c.identity_subject IS NOT NULL
             FROM comments c JOIN threads t ON t.id = c.thread_id
             WHERE c.status IN ('approved', 'deleted') AND t.site = $1 ",
            $rest
        )
    };
}

/// Every published comment, by thread and id.
const PUBLISHED: &str = published!(counting likes, "ORDER BY c.thread_id, c.id");
/// The published comments of the threads with the keys in `$2`.
pub(super) const PUBLISHED_IN: &str =
    published!(counting likes, "AND t.key = ANY($2) ORDER BY c.thread_id, c.id");
/// The same two, with no like counted.
const PUBLISHED_NO_LIKES: &str = published!(without likes, "ORDER BY c.thread_id, c.id");
const PUBLISHED_IN_NO_LIKES: &str =
    published!(without likes, "AND t.key = ANY($2) ORDER BY c.thread_id, c.id");
/// For each key in `$1`, in order, the approved comments its thread on site
/// `$2` shows:
/// per key, one lookup of the unique thread key and one count over the
/// (thread, status) index (`postgres/tests.rs` checks the plan).
pub(super) const APPROVED_COUNTS: &str =
    "SELECT (SELECT count(*) FROM comments c JOIN threads t ON t.id = c.thread_id
             WHERE t.site = $2 AND t.key = k.key AND c.status = 'approved')
     FROM unnest($1::text[]) WITH ORDINALITY AS k (key, n)
     ORDER BY k.n";

impl PgStore {
    /// Stores a submission. A reply's parent is checked (and locked against
    /// an unpublish or delete until this commits) before the thread row is
    /// touched, so that an insert and a moderation of the same parent take
    /// their locks in the same order.
    pub fn insert_opted(
        &mut self,
        new: &NewComment,
        notify: bool,
        status: Status,
        now: i64,
    ) -> Result<Refused<StoredComment>> {
        let mail_events = self.mail_events;
        let html = markdown::to_html(&new.text);
        let notify = notify && new.email.is_some();
        self.change(|tx| {
            if let Some(parent) = new.parent {
                if let Err(refusal) =
                    check_parent(tx, parent, (new.site.as_str(), new.thread.as_str()))?
                {
                    return Ok(Err(refusal));
                }
            }
            tx.execute(
                "INSERT INTO threads (key, url, created_at, site) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (site, key) DO NOTHING",
                &[&new.thread, &new.page_url, &now, &new.site],
            )?;
            let thread_id: i64 = tx
                .query_one(
                    "SELECT id FROM threads WHERE site = $2 AND key = $1",
                    &[&new.thread, &new.site],
                )?
                .try_get(0)?;
            if !new.page_title.is_empty() {
                tx.execute(
                    "UPDATE threads SET title = $2 WHERE id = $1 AND title <> $2",
                    &[&thread_id, &new.page_title],
                )?;
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO comments (thread_id, parent_id, status, author, email, website,
                                           text, page_url, remote_addr, created_at, approved_at,
                                           html, html_version, notify, identity_subject)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                     RETURNING id",
                    &[
                        &thread_id,
                        &new.parent,
                        &status.as_str(),
                        &new.author,
                        &new.email,
                        &new.website,
                        &new.text,
                        &new.page_url,
                        &new.remote_addr,
                        &now,
                        &(status == Status::Approved).then_some(now),
                        &html,
                        &markdown::VERSION,
                        &notify,
                        &new.identity_subject,
                    ],
                )?
                .try_get(0)?;
            if status.is_published() {
                let mut touched = Touched::default();
                touched.thread(thread_id, 1);
                touched.touch(tx)?;
            }
            let subscribing = new.email.as_deref().filter(|_| notify);
            queue::after_insert(tx, mail_events, id, subscribing, status, now)?;
            Ok(Ok(StoredComment {
                id,
                site: new.site.clone(),
                thread: new.thread.clone(),
                parent: new.parent,
                status,
                author: new.author.clone(),
                email: new.email.clone(),
                website: new.website.clone(),
                text: new.text.clone(),
                page_url: new.page_url.clone(),
                page_title: new.page_title.clone(),
                remote_addr: new.remote_addr.clone(),
                created_at: now,
            }))
        })
    }

    pub fn get(&mut self, id: i64) -> Result<Option<StoredComment>> {
        self.query_opt(select_comment!("WHERE c.id = $1"), &[&id])?
            .as_ref()
            .map(comment)
            .transpose()
    }

    /// Comments in one state, newest first.
    pub fn by_status(&mut self, status: Status) -> Result<Vec<StoredComment>> {
        self.query(
            select_comment!("WHERE c.status = $1 ORDER BY c.created_at DESC, c.id DESC"),
            &[&status.as_str()],
        )?
        .iter()
        .map(comment)
        .collect()
    }

    /// Publishes pending comments, and queues the reply notifications they
    /// cause. All or nothing.
    pub fn approve(&mut self, ids: &[i64], now: i64) -> Result<Refused<()>> {
        let mail_events = self.mail_events;
        self.change_each(
            ids,
            |tx, id, status, thread_id, touched| {
                if status != Status::Pending {
                    return Ok(Err(Refusal::NotPending(id, status.as_str())));
                }
                tx.execute(
                    "UPDATE comments SET status = 'approved', approved_at = $2 WHERE id = $1",
                    &[&id, &now],
                )?;
                touched.thread(thread_id, 1);
                Ok(Ok(()))
            },
            |tx| match mail_events {
                true => queue::after_approve(tx, ids, now),
                false => Ok(()),
            },
        )
    }

    /// Throws away pending comments. All or nothing.
    pub fn reject(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.change_each(
            ids,
            |tx, id, status, _, _| {
                if status != Status::Pending {
                    return Ok(Err(Refusal::NotPending(id, status.as_str())));
                }
                tx.execute("DELETE FROM comments WHERE id = $1", &[&id])?;
                Ok(Ok(()))
            },
            |_| Ok(()),
        )
    }

    /// Deletes comments in any state; one with replies stays as a "deleted"
    /// marker. All or nothing.
    pub fn delete(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.change_each(
            ids,
            |tx, id, status, thread_id, touched| {
                remove_comment(tx, id, status, thread_id, touched)?;
                Ok(Ok(()))
            },
            |_| Ok(()),
        )
    }

    /// Runs `each` for each id, in the order given, inside one transaction
    /// that first locks all the ids' rows in id order (so two batches can
    /// never wait for each other in a circle); then marks the changed
    /// threads and runs `finish`. Commits only if every id exists and every
    /// change agreed. Each id's state is read when its turn comes, after the
    /// changes before it, as SQLite does.
    pub(super) fn change_each(
        &mut self,
        ids: &[i64],
        mut each: impl FnMut(&mut Tx<'_>, i64, Status, i64, &mut Touched) -> Result<Refused<()>>,
        mut finish: impl FnMut(&mut Tx<'_>) -> Result<()>,
    ) -> Result<Refused<()>> {
        self.change(|tx| {
            tx.query(
                "SELECT id FROM comments WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&ids],
            )?;
            let mut touched = Touched::default();
            for &id in ids {
                let Some(row) = tx.query_opt(
                    "SELECT status, thread_id FROM comments WHERE id = $1",
                    &[&id],
                )?
                else {
                    return Ok(Err(Refusal::Unknown(id)));
                };
                let found = status(row.try_get(0)?)?;
                if let Err(refusal) = each(tx, id, found, row.try_get(1)?, &mut touched)? {
                    return Ok(Err(refusal));
                }
            }
            touched.touch(tx)?;
            finish(tx)?;
            Ok(Ok(()))
        })
    }

    /// Threads with their published comments in the order they were posted
    /// (by id, so a parent comes before its replies), threads ordered by
    /// key; optionally only the threads with these keys. Addresses are read
    /// only to key avatars; they never leave. One statement, so one snapshot.
    pub fn published_threads(
        &mut self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>> {
        self.published_threads_counting(site, keys, avatars, true)
    }

    /// [`PgStore::published_threads`]; without `likes`, every comment shows
    /// none: a bake with reactions off skips a count per comment.
    pub fn published_threads_counting(
        &mut self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
        likes: bool,
    ) -> Result<Vec<Thread>> {
        type Param<'a> = &'a (dyn postgres::types::ToSql + Sync);
        let (sql, params): (_, Vec<Param>) = match (&keys, likes) {
            (None, true) => (PUBLISHED, vec![&site as Param]),
            (None, false) => (PUBLISHED_NO_LIKES, vec![&site as Param]),
            (Some(keys), true) => (PUBLISHED_IN, vec![&site as Param, keys as Param]),
            (Some(keys), false) => (PUBLISHED_IN_NO_LIKES, vec![&site as Param, keys as Param]),
        };
        // Streamed, not collected: a full bake reads every published
        // comment. Not kept prepared: it runs once per bake.
        // Its first statement: a connection found gone here is
        // `ConnectionLost` (see `PgStore::failed`).
        let mut rows = self
            .conn
            .query_raw(sql, params)
            .map_err(|err| super::at_first_statement(err.into()))?;
        let mut threads: Vec<Thread> = Vec::new();
        let mut memo = kiln_bake::avatar::Memo::default();
        while let Some(row) = rows.next()? {
            let status = match row.try_get::<_, &str>(4)? {
                "deleted" => CommentStatus::Deleted,
                _ => CommentStatus::Approved,
            };
            let mut comment = Comment {
                id: row.try_get(2)?,
                parent: row.try_get(3)?,
                status,
                author: row.try_get(5)?,
                website: row.try_get(6)?,
                text: row.try_get(7)?,
                created_at: unix_to_rfc3339(row.try_get(8)?),
                avatar: None,
                gravatar: None,
                likes: super::unsigned(row.try_get(13)?)?,
                verified: row.try_get(14)?,
                // Stored HTML is used only if this kiln made it.
                html: match row.try_get::<_, Option<&str>>(10)? {
                    Some(markdown::VERSION) => row.try_get(9)?,
                    _ => None,
                },
            };
            avatars.apply_remembered(&mut comment, row.try_get(11)?, &mut memo);
            // A comment restored from an export keeps the key it came with.
            if let (Some(kept), CommentStatus::Approved) =
                (row.try_get::<_, Option<&str>>(12)?, status)
            {
                comment.avatar = Some(kept.to_owned());
            }
            let key: &str = row.try_get(0)?;
            match threads.last_mut() {
                Some(thread) if thread.id == key => thread.comments.push(comment),
                _ => threads.push(Thread {
                    id: key.to_owned(),
                    url: row.try_get(1)?,
                    comments: vec![comment],
                }),
            }
        }
        // By key in Rust, so the order never depends on a collation.
        threads.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(threads)
    }

    /// For every thread that ever showed a comment: its change sequence and
    /// how many comments it shows.
    pub fn thread_stamps(&mut self, site: &str) -> Result<Vec<(String, u64, u64)>> {
        self.query(
            "SELECT key, changed_seq, published_count FROM threads
             WHERE changed_seq > 0 AND site = $1",
            &[&site],
        )?
        .iter()
        .map(|row| {
            Ok((
                row.try_get(0)?,
                unsigned(row.try_get(1)?)?,
                unsigned(row.try_get(2)?)?,
            ))
        })
        .collect()
    }

    /// The database's change sequence (see `Touched::touch`).
    pub fn change_seq(&mut self) -> Result<u64> {
        unsigned(
            self.query_one("SELECT value FROM change_seq", &[])?
                .try_get(0)?,
        )
    }

    /// How many comments are in one state.
    pub fn count(&mut self, status: Status) -> Result<u64> {
        unsigned(
            self.query_one(
                "SELECT count(*) FROM comments WHERE status = $1",
                &[&status.as_str()],
            )?
            .try_get(0)?,
        )
    }

    pub fn count_on(&mut self, site: &str, status: Status) -> Result<u64> {
        unsigned(
            self.query_one(
                "SELECT count(*) FROM comments c JOIN threads t ON t.id = c.thread_id
                 WHERE c.status = $1 AND t.site = $2",
                &[&status.as_str(), &site],
            )?
            .try_get(0)?,
        )
    }

    /// For each key, the approved comments its thread shows (a "deleted"
    /// marker does not count); 0 for a thread nobody commented on. One
    /// statement for all the keys, answering in their order.
    pub fn approved_counts(&mut self, site: &str, keys: &[String]) -> Result<Vec<u64>> {
        self.query(APPROVED_COUNTS, &[&keys, &site])?
            .iter()
            .map(|row| unsigned(row.try_get(0)?))
            .collect()
    }
}

/// Whether comment `parent` may be answered in thread `thread`: it exists,
/// is in that thread, and is approved. Its row stays locked (FOR SHARE)
/// until the transaction ends, so it cannot be unpublished or deleted
/// while the reply is being stored.
fn check_parent(tx: &mut Tx<'_>, parent: i64, thread: (&str, &str)) -> Result<Refused<()>> {
    let found = tx.query_opt(
        "SELECT t.site, t.key, c.status FROM comments c JOIN threads t ON t.id = c.thread_id
         WHERE c.id = $1 FOR SHARE OF c",
        &[&parent],
    )?;
    let Some(row) = found else {
        return Ok(Err(Refusal::ParentMissing(parent)));
    };
    if (row.try_get::<_, &str>(0)?, row.try_get::<_, &str>(1)?) != thread {
        return Ok(Err(Refusal::ParentInOtherThread(parent)));
    }
    if row.try_get::<_, &str>(2)? != "approved" {
        return Ok(Err(Refusal::ParentNotPublished(parent)));
    }
    Ok(Ok(()))
}

/// Deletes one (locked) comment: one with replies stays as a "deleted"
/// marker with everything its author wrote or gave removed, one without
/// goes entirely. Used by `delete` and by `forget`.
pub(super) fn remove_comment(
    tx: &mut Tx<'_>,
    id: i64,
    status: Status,
    thread_id: i64,
    touched: &mut Touched,
) -> Result<()> {
    let replies: i64 = tx
        .query_one("SELECT count(*) FROM comments WHERE parent_id = $1", &[&id])?
        .try_get(0)?;
    if replies > 0 {
        tx.execute(
            "UPDATE comments SET status = 'deleted', author = '', email = NULL,
                    website = NULL, text = '', remote_addr = NULL, html = NULL,
                    identity_subject = NULL
             WHERE id = $1",
            &[&id],
        )?;
        // A marker shows no likes; removing the comment below cascades.
        tx.execute("DELETE FROM reactions WHERE comment_id = $1", &[&id])?;
        touched.thread(thread_id, if status.is_published() { 0 } else { 1 });
    } else {
        tx.execute("DELETE FROM comments WHERE id = $1", &[&id])?;
        if status.is_published() {
            touched.thread(thread_id, -1);
        }
    }
    Ok(())
}
