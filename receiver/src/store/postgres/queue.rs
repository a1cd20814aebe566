//! The mail that comment changes queue, inside the transaction of the change
//! that causes it, as `sqlite/mail.rs` does it: the moderators hear of a new
//! comment, a first opt-in is asked to confirm, and the author of a comment
//! that gets a published reply is told, if they confirmed. Each statement
//! that queues a message also calls `pg_notify('kiln_outbox', '')`, which
//! the server delivers on commit, so a waiting outbox worker on any replica
//! wakes at once. (Sending, retries and subscriptions are `mail.rs`.)

use anyhow::Result;

use super::Tx;

use crate::store::Status;

/// Queues what a new comment causes. `subscribing` is the author's address
/// when they asked for reply notifications (the comment row already says so).
pub(super) fn after_insert(
    tx: &mut Tx<'_>,
    mail_events: bool,
    id: i64,
    subscribing: Option<&str>,
    status: Status,
    now: i64,
) -> Result<()> {
    if !mail_events {
        return Ok(());
    }
    enqueue(tx, "new_comment", id, None, now)?;
    if let Some(email) = subscribing {
        // A first opt-in (or the first after an unsubscribe) asks for
        // confirmation; a pending or confirmed address is left alone, so
        // nobody can make kiln mail a stranger twice. Addresses compare
        // ignoring ASCII case, as SQLite's NOCASE does.
        let asked = tx.execute(
            "INSERT INTO subscribers (email, created_at) VALUES ($1, $2)
             ON CONFLICT ((lower(email COLLATE \"C\"))) DO UPDATE
                 SET created_at = excluded.created_at, confirmed_at = NULL,
                     unsubscribed_at = NULL
                 WHERE subscribers.unsubscribed_at IS NOT NULL",
            &[&email, &now],
        )?;
        if asked == 1 {
            enqueue(tx, "confirm", id, Some(email), now)?;
        }
    }
    if status == Status::Approved {
        after_approve(tx, &[id], now)?;
    }
    Ok(())
}

/// Tells the moderators, as for a new comment, about a published comment
/// that an edit sent back to the queue.
pub(super) fn after_held_edit(tx: &mut Tx<'_>, mail_events: bool, id: i64, now: i64) -> Result<()> {
    if mail_events {
        enqueue(tx, "new_comment", id, None, now)?;
    }
    Ok(())
}

/// Queues the reply notifications that newly published comments `ids`
/// cause: to each one's parent's author, if they opted in, confirmed, and
/// are not its author. Queued in the order of `ids`.
pub(super) fn after_approve(tx: &mut Tx<'_>, ids: &[i64], now: i64) -> Result<()> {
    tx.query(
        "WITH queued AS (
             INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             SELECT 'reply', r.id, p.email, $2, $2
             FROM unnest($1::int8[]) WITH ORDINALITY AS a (id, n)
                  JOIN comments r ON r.id = a.id
                  JOIN comments p ON p.id = r.parent_id
                  JOIN subscribers s ON lower(s.email COLLATE \"C\") = lower(p.email COLLATE \"C\")
             WHERE p.notify AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
                   AND (r.email IS NULL
                        OR lower(r.email COLLATE \"C\") <> lower(p.email COLLATE \"C\"))
             ORDER BY a.n
             RETURNING id)
         SELECT pg_notify('kiln_outbox', '') FROM queued LIMIT 1",
        &[&ids, &now],
    )?;
    Ok(())
}

/// Queues one message.
fn enqueue(
    tx: &mut Tx<'_>,
    kind: &str,
    comment_id: i64,
    recipient: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.query(
        "WITH queued AS (
             INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $4)
             RETURNING id)
         SELECT pg_notify('kiln_outbox', '') FROM queued",
        &[&kind, &comment_id, &recipient, &now],
    )?;
    Ok(())
}
