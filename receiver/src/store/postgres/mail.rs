//! What the outbox and the mail links do with the database on PostgreSQL:
//! claiming due messages so that several receivers send each one once,
//! recording what became of them, and the subscriptions behind reply
//! notifications. The SQL follows `sqlite/mail.rs`; the differences are
//! PostgreSQL's: `FOR UPDATE SKIP LOCKED` for claims, and addresses compared
//! as `lower(x COLLATE "C")` (ASCII-only folding, like SQLite's NOCASE) so
//! the expression indexes of migration 0001 serve them.

use anyhow::{anyhow, Result};

use super::PgStore;
use crate::store::{MailTrouble, OutboxItem, OutboxKind};

impl PgStore {
    /// Claims up to `limit` due messages for `claimer` until `lease_until`
    /// (see `Store::claim_mail`). `SKIP LOCKED` lets receivers claiming at
    /// the same moment each take rows the others did not lock, instead of
    /// waiting for them and then finding them taken.
    pub fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.conn.query(
            "UPDATE outbox o SET claimed_by = $3, claimed_until = $2
             FROM (SELECT id FROM outbox
                   WHERE failed_at IS NULL AND next_attempt_at <= $1
                     AND (claimed_until IS NULL OR claimed_until <= $1)
                   ORDER BY next_attempt_at, id LIMIT $4
                   FOR UPDATE SKIP LOCKED) due
             WHERE o.id = due.id
             RETURNING o.next_attempt_at, o.id, o.kind, o.comment_id, o.recipient, o.attempts",
            &[&now, &lease_until, &claimer, &limit],
        )?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let kind: &str = row.get(2);
                let attempts: i32 = row.get(5);
                Ok((
                    row.get::<_, i64>(0),
                    OutboxItem {
                        id: row.get(1),
                        kind: OutboxKind::from_name(kind)
                            .ok_or_else(|| anyhow!("unknown outbox kind {kind:?}"))?,
                        comment_id: row.get(3),
                        recipient: row.get(4),
                        attempts: u32::try_from(attempts)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        // RETURNING gives rows in no promised order.
        claimed.sort_by_key(|(due, item)| (*due, item.id));
        Ok(claimed.into_iter().map(|(_, item)| item).collect())
    }

    /// A message went out (or has nobody left to go to): forget it.
    pub fn mail_done(&mut self, id: i64) -> Result<()> {
        // Safe to run again (`query`): forgetting twice is forgetting once.
        self.query("DELETE FROM outbox WHERE id = $1", &[&id])?;
        Ok(())
    }

    /// An attempt failed: try again at `retry_at`, or give up when it is
    /// None; either way the claim is released. `error` holds no secret.
    pub fn mail_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                    next_attempt_at = coalesce($3::bigint, next_attempt_at),
                    failed_at = CASE WHEN $3::bigint IS NULL THEN $4::bigint END,
                    claimed_by = NULL, claimed_until = NULL
             WHERE id = $1",
            &[&id, &error, &retry_at, &now],
        )?;
        Ok(())
    }

    /// Mail that failed at least once: waiting for a retry, given up, and
    /// the latest error. Read in one snapshot, so the counts and the error
    /// agree.
    pub fn mail_trouble(&mut self) -> Result<MailTrouble> {
        let mut tx = self
            .conn
            .build_transaction()
            .isolation_level(::postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let counts = tx.query_one(
            "SELECT count(*) FILTER (WHERE failed_at IS NULL),
                    count(*) FILTER (WHERE failed_at IS NOT NULL)
             FROM outbox WHERE attempts > 0",
            &[],
        )?;
        let last_error: Option<String> = tx
            .query_opt(
                "SELECT last_error FROM outbox WHERE attempts > 0
                 ORDER BY coalesce(failed_at, next_attempt_at) DESC, id DESC LIMIT 1",
                &[],
            )?
            .and_then(|row| row.get(0));
        tx.commit()?;
        Ok(MailTrouble {
            retrying: u64::try_from(counts.get::<_, i64>(0))?,
            given_up: u64::try_from(counts.get::<_, i64>(1))?,
            last_error,
        })
    }

    /// Whether `email` may be mailed: it has not unsubscribed and, when
    /// `confirmed` is asked for, it confirmed its opt-in.
    pub fn may_mail(&mut self, email: &str, confirmed: bool) -> Result<bool> {
        let row = self.query_opt(
            r#"SELECT confirmed_at, unsubscribed_at FROM subscribers
               WHERE lower(email COLLATE "C") = lower($1 COLLATE "C")"#,
            &[&email],
        )?;
        Ok(match row {
            Some(row) => {
                let (confirmed_at, unsubscribed_at): (Option<i64>, Option<i64>) =
                    (row.get(0), row.get(1));
                unsubscribed_at.is_none() && (!confirmed || confirmed_at.is_some())
            }
            None => !confirmed,
        })
    }

    /// The address confirmed its opt-in (from the link in the confirmation).
    pub fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()> {
        // Safe to run again (`query`): confirming twice is confirming once.
        self.query(
            r#"INSERT INTO subscribers (email, created_at, confirmed_at) VALUES ($1, $2, $2)
               ON CONFLICT ((lower(email COLLATE "C")))
               DO UPDATE SET confirmed_at = $2, unsubscribed_at = NULL"#,
            &[&email, &now],
        )?;
        Ok(())
    }

    /// The address wants no more mail: it is remembered as unsubscribed, its
    /// comments stop asking for replies, and its queued mail is dropped. In
    /// the order `forget` takes the same rows: the comments first, locked in
    /// id order, then the subscription, then the outbox.
    pub fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                r#"UPDATE comments SET notify = false
                   WHERE id IN (SELECT id FROM comments
                                WHERE lower(email COLLATE "C") = lower($1 COLLATE "C") AND notify
                                ORDER BY id FOR UPDATE)"#,
                &[&email],
            )?;
            tx.execute(
                r#"INSERT INTO subscribers (email, created_at, unsubscribed_at) VALUES ($1, $2, $2)
                   ON CONFLICT ((lower(email COLLATE "C")))
                   DO UPDATE SET confirmed_at = NULL, unsubscribed_at = $2"#,
                &[&email, &now],
            )?;
            tx.execute(
                r#"DELETE FROM outbox
                   WHERE lower(recipient COLLATE "C") = lower($1 COLLATE "C") AND failed_at IS NULL"#,
                &[&email],
            )?;
            Ok(())
        })
    }
}
