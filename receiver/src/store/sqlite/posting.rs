//! Submissions stored in batches: the SQLite half of the receiver's group
//! commit (`store/writer.rs`). A batch is one IMMEDIATE transaction, so one
//! fsync makes every comment in it durable; each submission runs in a
//! savepoint of its own, so one that is refused or fails is rolled back
//! alone and the others still commit. The rules that need the database (a
//! duplicate, a known author, the parent) are asked inside the transaction,
//! so a submission sees the ones stored before it in the same batch.

use anyhow::Result;
use kiln_bake::markdown;
use rusqlite::Connection;

use super::{abuse, insert_in, SqliteStore};
use crate::store::{Posted, Posting};

impl SqliteStore {
    /// See `Store::post_batch`.
    pub fn post_batch(&mut self, batch: &[Posting]) -> Result<Vec<Posted>> {
        let mail_events = self.mail_events;
        // Rendering needs no lock, so what the caller did not render is
        // rendered before the write lock is taken.
        let html: Vec<std::borrow::Cow<str>> = batch
            .iter()
            .map(|p| match &p.html {
                Some(html) => html.as_str().into(),
                None => markdown::to_html(&p.comment.text).into(),
            })
            .collect();
        let mut tx = self.write_tx()?;
        let mut answers = Vec::with_capacity(batch.len());
        for (posting, html) in batch.iter().zip(&html) {
            let savepoint = tx.savepoint()?;
            let posted = post_in(&savepoint, mail_events, posting, html.as_ref());
            if matches!(posted, Ok(Ok(_))) {
                savepoint.commit()?;
            }
            // Otherwise the savepoint rolls back as it drops: whatever the
            // refused or failed submission wrote (its thread, say) is gone.
            answers.push(posted);
        }
        tx.commit()?;
        Ok(answers)
    }
}

/// One submission inside the batch's transaction: the rules, then the insert.
fn post_in(conn: &Connection, mail_events: bool, posting: &Posting, html: &str) -> Posted {
    let mut on = conn;
    let status = posting.settle(
        &mut on,
        |conn, c, since| {
            let (addr, email) = (c.remote_addr.as_deref(), c.email.as_deref());
            abuse::is_duplicate(conn, (&c.site, &c.thread), &c.text, addr, email, since)
        },
        |conn, email| abuse::has_approved_comment(conn, email),
    )?;
    match status {
        Ok(status) => {
            let (new, notify, now) = (&posting.comment, posting.notify, posting.now);
            insert_in(conn, mail_events, new, html, notify, status, now)
        }
        Err(refusal) => Ok(Err(refusal)),
    }
}
