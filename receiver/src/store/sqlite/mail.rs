//! The store's side of email: the outbox that mail is queued in (by the same
//! transaction as the change that causes it), reply subscriptions with their
//! double opt-in and unsubscribes, and the receiver's signing secret. The
//! messages themselves are built and sent by `crate::mail`.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Transaction};

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
    tx: &Transaction,
    mail_events: bool,
    id: i64,
    notify: bool,
    status: Status,
    now: i64,
) -> rusqlite::Result<()> {
    if notify {
        tx.execute(
            "UPDATE comments SET notify = 1 WHERE id = ?1 AND email IS NOT NULL",
            [id],
        )?;
    }
    if !mail_events {
        return Ok(());
    }
    enqueue(tx, "new_comment", id, None, now)?;
    let email: Option<String> = tx
        .query_row(
            "SELECT email FROM comments WHERE id = ?1 AND notify = 1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(email) = email {
        // A first opt-in (or the first after an unsubscribe) asks for
        // confirmation; a pending or confirmed address is left alone, so
        // nobody can make kiln mail a stranger twice.
        let asked = tx.execute(
            "INSERT INTO subscribers (email, created_at) VALUES (?1, ?2)
             ON CONFLICT (email) DO UPDATE SET created_at = excluded.created_at,
                 confirmed_at = NULL, unsubscribed_at = NULL
             WHERE unsubscribed_at IS NOT NULL",
            params![email, now],
        )?;
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
    tx: &Transaction,
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
pub(super) fn after_approve(tx: &Transaction, id: i64, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
         SELECT 'reply', r.id, p.email, ?2, ?2
         FROM comments r
              JOIN comments p ON p.id = r.parent_id
              JOIN subscribers s ON s.email = p.email
         WHERE r.id = ?1 AND p.notify = 1
               AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
               AND (r.email IS NULL OR r.email <> p.email COLLATE NOCASE)",
        params![id, now],
    )?;
    Ok(())
}

fn enqueue(
    tx: &Transaction,
    kind: &str,
    comment_id: i64,
    recipient: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![kind, comment_id, recipient, now],
    )?;
    Ok(())
}

impl SqliteStore {
    /// Makes this connection's inserts and approvals queue the mail they
    /// cause. Off by default: without a mail server the outbox would only
    /// grow. `kiln serve` and the moderation commands turn it on when mail is.
    pub fn set_mail_events(&mut self, on: bool) {
        self.mail_events = on;
    }

    /// Messages due for an attempt, oldest first.
    pub fn due_mail(&self, now: i64, limit: usize) -> Result<Vec<OutboxItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, comment_id, recipient, attempts FROM outbox
             WHERE failed_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], |r| {
            Ok(OutboxItem {
                id: r.get(0)?,
                kind: parse_kind(r.get_ref(1)?.as_str()?)?,
                comment_id: r.get(2)?,
                recipient: r.get(3)?,
                attempts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A message went out (or has nobody left to go to): forget it.
    pub fn mail_done(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// An attempt failed: try again at `retry_at`, or give up when it is None.
    /// `error` must hold no secret; it is kept for `kiln` to show.
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
                    failed_at = CASE WHEN ?3 IS NULL THEN ?4 END
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
        let tx = self.conn.transaction()?;
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
    // Provided methods (`insert`, `export`, `counts`) live on the trait.
    use super::*;
    use crate::store::NewComment;
    use crate::store::Store as _;

    fn new(parent: Option<i64>, email: &str) -> NewComment {
        NewComment {
            thread: "/a/".into(),
            page_url: "https://example.org/a/".into(),
            page_title: String::new(),
            parent,
            author: "Ann".into(),
            email: Some(email.into()),
            website: None,
            text: "hi".into(),
            remote_addr: None,
        }
    }

    #[test]
    fn trouble_counts_retries_and_give_ups_with_the_latest_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
        store.set_mail_events(true);
        for at in [1, 2, 3] {
            store
                .insert_opted(&new(None, "x@example.org"), false, Status::Pending, at)
                .unwrap()
                .unwrap();
        }
        assert_eq!(store.mail_trouble().unwrap(), MailTrouble::default());
        let due = store.due_mail(i64::MAX, 100).unwrap();
        store
            .mail_failed(due[0].id, "connection refused", Some(100), 10)
            .unwrap();
        store
            .mail_failed(due[1].id, "550 mailbox unavailable", None, 20)
            .unwrap();
        assert_eq!(
            store.mail_trouble().unwrap(),
            MailTrouble {
                retrying: 1,
                given_up: 1,
                last_error: Some("connection refused".into()),
            }
        );
        store.mail_done(due[0].id).unwrap();
        let trouble = store.mail_trouble().unwrap();
        assert_eq!((trouble.retrying, trouble.given_up), (0, 1));
        assert_eq!(
            trouble.last_error.as_deref(),
            Some("550 mailbox unavailable")
        );
    }

    /// What gets queued is tested on both backends (`store/tests/queue.rs`);
    /// this is what happens to it afterwards.
    #[test]
    fn a_failed_attempt_waits_and_unsubscribing_drops_queued_mail() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
        store.set_mail_events(true);
        let ann = store
            .insert_opted(&new(None, "Ann@Example.org"), true, Status::Pending, 2)
            .unwrap()
            .unwrap();
        store.approve(&[ann.id], 4).unwrap().unwrap();
        assert!(store.may_mail("ann@example.org", false).unwrap());
        assert!(!store.may_mail("ann@example.org", true).unwrap());
        store.confirm_subscriber("ann@example.org", 6).unwrap();
        assert!(store.may_mail("ANN@example.org", true).unwrap());
        let reply = store
            .insert(&new(Some(ann.id), "bob@example.org"), Status::Approved, 7)
            .unwrap()
            .unwrap();
        let queued = store.due_mail(i64::MAX, 100).unwrap();
        let replies: Vec<_> = queued
            .iter()
            .filter(|i| i.kind == OutboxKind::Reply)
            .collect();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].comment_id, reply.id);

        // A failed attempt waits for its retry; giving up stops it.
        let id = replies[0].id;
        store
            .mail_failed(id, "421 try later", Some(100), 9)
            .unwrap();
        assert!(store.due_mail(99, 100).unwrap().iter().all(|i| i.id != id));
        assert_eq!(
            store
                .due_mail(100, 100)
                .unwrap()
                .iter()
                .find(|i| i.id == id)
                .unwrap()
                .attempts,
            1
        );

        // Unsubscribing drops queued mail and stops the next.
        store.unsubscribe("ANN@example.org", 10).unwrap();
        assert!(store
            .due_mail(i64::MAX, 100)
            .unwrap()
            .iter()
            .all(|i| i.kind != OutboxKind::Reply));
        assert!(!store.may_mail("ann@example.org", false).unwrap());
        let r3 = store
            .insert(&new(Some(ann.id), "bob@example.org"), Status::Pending, 11)
            .unwrap()
            .unwrap();
        store.approve(&[r3.id], 12).unwrap().unwrap();
        assert!(store
            .due_mail(i64::MAX, 100)
            .unwrap()
            .iter()
            .all(|i| i.kind != OutboxKind::Reply));
        // The signing secret is made once.
        assert_eq!(store.secret().unwrap(), store.secret().unwrap());
        assert_eq!(store.secret().unwrap().len(), 64);
    }
}
