//! The store's side of email: the outbox that mail is queued in (by the same
//! transaction as the change that causes it) and that senders claim from
//! under a lease, reply subscriptions with their double opt-in and
//! unsubscribes, and the receiver's signing secret. The messages themselves
//! are built and sent by `crate::mail`.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{random_hex, SqliteStore, Status};
use crate::store::{MailTrouble, OutboxItem, OutboxKind};

/// A stored kind name as an `OutboxKind`, or the conversion error rusqlite
/// reports for a column it cannot read.
fn parse_kind(s: &str) -> rusqlite::Result<OutboxKind> {
    OutboxKind::from_name(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown outbox kind {s:?}").into(),
        )
    })
}

/// Queues what a new comment causes, inside its insert transaction.
pub(super) fn after_insert(
    tx: &Connection,
    mail_events: bool,
    id: i64,
    notify: bool,
    status: Status,
    now: i64,
) -> rusqlite::Result<()> {
    if notify {
        tx.prepare_cached("UPDATE comments SET notify = 1 WHERE id = ?1 AND email IS NOT NULL")?
            .execute([id])?;
    }
    if !mail_events {
        return Ok(());
    }
    enqueue(tx, "new_comment", id, None, now)?;
    let email: Option<String> = tx
        .prepare_cached("SELECT email FROM comments WHERE id = ?1 AND notify = 1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(email) = email {
        // A first opt-in (or the first after an unsubscribe) asks for
        // confirmation; a pending or confirmed address is left alone, so
        // nobody can make kiln mail a stranger twice.
        let asked = tx
            .prepare_cached(
                "INSERT INTO subscribers (email, created_at) VALUES (?1, ?2)
                 ON CONFLICT (email) DO UPDATE SET created_at = excluded.created_at,
                     confirmed_at = NULL, unsubscribed_at = NULL
                 WHERE unsubscribed_at IS NOT NULL",
            )?
            .execute(params![email, now])?;
        if asked == 1 {
            enqueue(tx, "confirm", id, Some(&email), now)?;
        }
    }
    if status == Status::Approved {
        after_approve(tx, id, now)?;
    }
    Ok(())
}

/// Tells the moderators, as for a new comment, about a published comment
/// that an edit sent back to the queue; otherwise it would wait there
/// unannounced. The message is built when it is sent, from the edited text.
pub(super) fn after_held_edit(
    tx: &Connection,
    mail_events: bool,
    id: i64,
    now: i64,
) -> rusqlite::Result<()> {
    if mail_events {
        enqueue(tx, "new_comment", id, None, now)?;
    }
    Ok(())
}

/// Queues the reply notification a newly published comment causes: to its
/// parent's author, if they opted in, confirmed, and are not its author.
pub(super) fn after_approve(tx: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
         SELECT 'reply', r.id, p.email, ?2, ?2
         FROM comments r
              JOIN comments p ON p.id = r.parent_id
              JOIN subscribers s ON s.email = p.email
         WHERE r.id = ?1 AND p.notify = 1
               AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
               AND (r.email IS NULL OR r.email <> p.email COLLATE NOCASE)",
    )?
    .execute(params![id, now])?;
    Ok(())
}

fn enqueue(
    tx: &Connection,
    kind: &str,
    comment_id: i64,
    recipient: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![kind, comment_id, recipient, now])?;
    Ok(())
}

impl SqliteStore {
    /// Makes this connection's inserts and approvals queue the mail they
    /// cause. Off by default: without a mail server the outbox would only
    /// grow. `kiln serve` and the moderation commands turn it on when mail is.
    pub fn set_mail_events(&mut self, on: bool) {
        self.mail_events = on;
    }

    /// Claims up to `limit` due messages for `claimer` until `lease_until`
    /// (see `Store::claim_mail`). SQLite has one writer at a time, so taking
    /// the write lock first (`BEGIN IMMEDIATE`) is all it takes for two
    /// connections never to claim the same row; the transaction is one
    /// statement long, because a writer held across an SMTP session would
    /// stall every comment behind it.
    pub fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut claimed = {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET claimed_by = ?3, claimed_until = ?2
                 WHERE id IN (SELECT id FROM outbox
                              WHERE failed_at IS NULL AND next_attempt_at <= ?1
                                AND (claimed_until IS NULL OR claimed_until <= ?1)
                              ORDER BY next_attempt_at, id LIMIT ?4)
                 RETURNING next_attempt_at, id, kind, comment_id, recipient, attempts",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![now, lease_until, claimer, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    OutboxItem {
                        id: r.get(1)?,
                        kind: parse_kind(r.get_ref(2)?.as_str()?)?,
                        comment_id: r.get(3)?,
                        recipient: r.get(4)?,
                        attempts: r.get(5)?,
                    },
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        // RETURNING gives rows in no promised order.
        claimed.sort_by_key(|(due, item)| (*due, item.id));
        Ok(claimed.into_iter().map(|(_, item)| item).collect())
    }

    /// A message went out (or has nobody left to go to): forget it.
    pub fn mail_done(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// An attempt failed: try again at `retry_at`, or give up when it is None;
    /// either way the claim is released. `error` must hold no secret; it is
    /// kept for `kiln` to show.
    pub fn mail_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                    next_attempt_at = coalesce(?3, next_attempt_at),
                    failed_at = CASE WHEN ?3 IS NULL THEN ?4 END,
                    claimed_by = NULL, claimed_until = NULL
             WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        Ok(())
    }

    /// Mail that failed at least once, for the admin page: how many
    /// messages wait for a retry, how many were given up, and the latest
    /// error (which holds no secret; see `mail_failed`).
    pub fn mail_trouble(&self) -> Result<MailTrouble> {
        let (retrying, given_up): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(failed_at IS NULL), 0), coalesce(sum(failed_at IS NOT NULL), 0)
             FROM outbox WHERE attempts > 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let last_error = self
            .conn
            .query_row(
                "SELECT last_error FROM outbox WHERE attempts > 0
                 ORDER BY coalesce(failed_at, next_attempt_at) DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(MailTrouble {
            retrying: retrying as u64,
            given_up: given_up as u64,
            last_error,
        })
    }

    /// Whether `email` may be mailed: it has not unsubscribed and, when
    /// `confirmed` is asked for, it confirmed its opt-in.
    pub fn may_mail(&self, email: &str, confirmed: bool) -> Result<bool> {
        let row: Option<(Option<i64>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT confirmed_at, unsubscribed_at FROM subscribers WHERE email = ?1",
                [email],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((_, Some(_))) => false,
            Some((confirmed_at, None)) => !confirmed || confirmed_at.is_some(),
            None => !confirmed,
        })
    }

    /// The address confirmed its opt-in (from the link in the confirmation).
    pub fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO subscribers (email, created_at, confirmed_at) VALUES (?1, ?2, ?2)
             ON CONFLICT (email) DO UPDATE SET confirmed_at = ?2, unsubscribed_at = NULL",
            params![email, now],
        )?;
        Ok(())
    }

    /// The address wants no more mail: it is remembered as unsubscribed, its
    /// comments stop asking for replies, and its queued mail is dropped.
    pub fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO subscribers (email, created_at, unsubscribed_at) VALUES (?1, ?2, ?2)
             ON CONFLICT (email) DO UPDATE SET confirmed_at = NULL, unsubscribed_at = ?2",
            params![email, now],
        )?;
        tx.execute(
            "UPDATE comments SET notify = 0 WHERE email = ?1 COLLATE NOCASE",
            [email],
        )?;
        tx.execute(
            "DELETE FROM outbox WHERE recipient = ?1 COLLATE NOCASE AND failed_at IS NULL",
            [email],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The key that signs links: made once, at random, and kept in `meta`.
    pub fn secret(&mut self) -> Result<String> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('secret', ?1) ON CONFLICT (key) DO NOTHING",
            [random_hex(32)],
        )?;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |r| {
                r.get(0)
            })?)
    }
}

#[cfg(test)]
mod tests {
    // What a change queues runs on every backend in `store/tests/queue.rs`,
    // what the outbox does with it (claims, retries, subscriptions) in
    // `store/tests/mail.rs`; here, what only SQLite's migrations do.
    use super::*;
    use crate::store::NewComment;

    fn new(parent: Option<i64>, email: &str) -> NewComment {
        NewComment {
            parent,
            email: Some(email.into()),
            ..NewComment::sample("/a/", "Ann", "hi")
        }
    }

    #[test]
    fn the_claim_migration_keeps_what_an_older_kiln_queued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let old = SqliteStore::open_at_version(&path, 6).unwrap();
        // What that kiln's insert of a pending comment asking for reply
        // mail queued (today's insert writes columns it did not have).
        old.conn
            .execute_batch(
                "INSERT INTO threads (id, key, url, created_at) VALUES (1, '/a/', 'https://example.org/a/', 1);
                 INSERT INTO comments (id, thread_id, status, author, email, text, page_url, created_at)
                     VALUES (1, 1, 'pending', 'Ann', 'x@example.org', 'hi', 'https://example.org/a/', 1);
                 INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
                     VALUES ('new_comment', 1, NULL, 1, 1), ('confirm', 1, 'x@example.org', 1, 1);",
            )
            .unwrap();
        let first = 1;
        let columns: Vec<String> = old
            .conn
            .prepare("SELECT name FROM pragma_table_info('outbox')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(!columns.iter().any(|c| c == "claimed_by"), "{columns:?}");
        drop(old);

        let mut store = SqliteStore::open(&path).unwrap();
        let version: usize = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, super::super::MIGRATIONS.len());
        let claimed = store.claim_mail(10, 20, "after", 10).unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|i| (i.kind, i.comment_id, i.attempts))
                .collect::<Vec<_>>(),
            [
                (OutboxKind::NewComment, first, 0),
                (OutboxKind::Confirm, first, 0)
            ]
        );
        assert!(store.claim_mail(10, 20, "other", 10).unwrap().is_empty());
        // Sent, and so deleted: their ids are not handed out again, since
        // Message-IDs are made from them.
        for item in &claimed {
            store.mail_done(item.id).unwrap();
        }
        store.set_mail_events(true);
        store
            .insert_opted(&new(None, "y@example.org"), false, Status::Pending, 30)
            .unwrap()
            .unwrap();
        let next = store.claim_mail(40, 50, "after", 10).unwrap();
        assert_eq!(next.len(), 1);
        assert!(
            claimed.iter().all(|old| old.id < next[0].id),
            "{claimed:?} then {next:?}"
        );
    }
}
