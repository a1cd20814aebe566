//! `kiln store copy` on PostgreSQL: every table read in one REPEATABLE READ
//! transaction (one snapshot, however long the copy takes, while receivers
//! keep writing), and written in one transaction that locks the tables
//! against writers, so the target ends up holding either the whole copy or
//! what it held before.
//!
//! Migration 0001's foreign keys are not deferrable, so rows go in the order
//! they refer to each other: the stream brings threads before comments, and
//! comments by id, so a parent is normally in before its replies; a reply
//! whose parent has a higher id (an import can keep such ids) gets its
//! parent once every comment is in. Identity sequences are moved past the
//! copied ids at the end, so the next comment does not collide with one.
//! Columns are named one by one: outbox claims, added by a later migration,
//! are leases of running receivers and stay empty.

use anyhow::{Context, Result};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{IsolationLevel, Transaction};

use super::PgStore;
use crate::store::copy::{
    check_no_nul, is_copied_meta, not_empty, CommentRow, ImportedRow, Intake, NotEmpty, OutboxRow,
    ReactionRow, Row, SessionRow, SubscriberRow, Summary, Table, Tally, ThreadRow, KEPT_META,
};
use crate::store::random_hex;

/// Every table a copy writes, for one `LOCK TABLE`.
const TABLES: &str =
    "meta, change_seq, threads, comments, imported, subscribers, outbox, admin_sessions, reactions";

impl PgStore {
    pub fn copy_out(&mut self, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        let mut tx = self
            .conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        read_all(&mut tx, each)?;
        tx.commit()?;
        Ok(())
    }

    pub fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<Row>>,
        replace: bool,
    ) -> Result<Tally> {
        let mut tx = self.conn.transaction()?;
        // Readers go on reading what was there; writers wait until the
        // copy is in (and TRUNCATE needs the strongest lock anyway).
        let mode = if replace {
            "ACCESS EXCLUSIVE"
        } else {
            "EXCLUSIVE"
        };
        tx.batch_execute(&format!("LOCK TABLE {TABLES} IN {mode} MODE"))?;
        if let Some(held) = holdings(&mut tx)? {
            if !replace {
                return Err(held.into());
            }
            tx.batch_execute(
                "TRUNCATE reactions, imported, comments, threads, subscribers, outbox, admin_sessions",
            )?;
        }
        // The target's own keys (a salt made by its migration, a secret
        // made by a receiver that started once) give way to the source's.
        tx.execute("DELETE FROM meta WHERE NOT (key = ANY ($1))", &[&KEPT_META])?;

        let mut intake = Intake::default();
        let mut writer = Writer::prepare(&mut tx)?;
        for row in rows {
            let row = row?;
            intake.take(&row)?;
            check_no_nul(&row)?;
            writer
                .insert(&mut tx, &row)
                .with_context(|| format!("cannot copy {}", row.describe()))?;
        }
        for (id, parent) in writer.late_parents {
            tx.execute(
                "UPDATE comments SET parent_id = $2 WHERE id = $1",
                &[&id, &parent],
            )
            .with_context(|| format!("cannot copy comments row id {id} (its parent {parent})"))?;
        }
        for table in ["threads", "comments", "outbox"] {
            tx.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)
                 FROM {table}"
            ))?;
        }
        tx.execute(
            "UPDATE meta SET value = $1 WHERE key = 'instance'",
            &[&random_hex(16)],
        )?;
        let mut stored = Summary::default();
        read_all(&mut tx, &mut |row| {
            stored.add(&row);
            Ok(())
        })?;
        let tally = intake.verify(stored.finish())?;
        tx.commit()?;
        Ok(tally)
    }
}

/// What the target holds that a copy would replace, if anything.
fn holdings(tx: &mut Transaction) -> Result<Option<NotEmpty>> {
    let row = tx.query_one(
        "SELECT (SELECT count(*) FROM threads), (SELECT count(*) FROM comments),
                (SELECT count(*) FROM imported),
                (SELECT count(*) FROM subscribers), (SELECT count(*) FROM outbox),
                (SELECT count(*) FROM admin_sessions),
                EXISTS (SELECT 1 FROM meta WHERE key = 'admin_password')",
        &[],
    )?;
    let counts: Vec<(Table, u64)> = [
        Table::Threads,
        Table::Comments,
        Table::Imported,
        Table::Subscribers,
        Table::Outbox,
        Table::AdminSessions,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, table)| (table, row.get::<_, i64>(i).max(0) as u64))
    .collect();
    Ok(not_empty(&counts, row.get(6)))
}

/// The prepared inserts, and replies waiting for their parent.
struct Writer {
    meta: postgres::Statement,
    thread: postgres::Statement,
    comment: postgres::Statement,
    imported: postgres::Statement,
    subscriber: postgres::Statement,
    outbox: postgres::Statement,
    session: postgres::Statement,
    reaction: postgres::Statement,
    late_parents: Vec<(i64, i64)>,
}

impl Writer {
    fn prepare(tx: &mut Transaction) -> Result<Writer> {
        Ok(Writer {
            meta: tx.prepare("INSERT INTO meta (key, value) VALUES ($1, $2)")?,
            thread: tx.prepare(
                "INSERT INTO threads (id, key, url, title, created_at, changed_seq, published_count,
                                      site)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )?,
            comment: tx.prepare(
                "INSERT INTO comments (id, thread_id, parent_id, status, author, email, website,
                                       text, page_url, remote_addr, created_at, approved_at,
                                       html, html_version, notify, avatar, identity_subject)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                         $17)",
            )?,
            imported: tx.prepare(
                "INSERT INTO imported (source, source_id, comment_id, imported_at)
                 VALUES ($1, $2, $3, $4)",
            )?,
            subscriber: tx.prepare(
                "INSERT INTO subscribers (email, created_at, confirmed_at, unsubscribed_at)
                 VALUES ($1, $2, $3, $4)",
            )?,
            outbox: tx.prepare(
                "INSERT INTO outbox (id, kind, comment_id, recipient, created_at, attempts,
                                     next_attempt_at, last_error, failed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )?,
            session: tx.prepare(
                "INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at, moderator)
                 VALUES ($1, $2, $3, $4, $5)",
            )?,
            reaction: tx.prepare(
                "INSERT INTO reactions (comment_id, reader, created_at) VALUES ($1, $2, $3)",
            )?,
            late_parents: Vec::new(),
        })
    }

    fn insert(&mut self, tx: &mut Transaction, row: &Row) -> Result<()> {
        match row {
            Row::Meta { key, value } => {
                tx.execute(&self.meta, &[key, value])?;
            }
            Row::ChangeSeq(n) => {
                tx.execute("UPDATE change_seq SET value = $1", &[n])?;
            }
            Row::Thread(t) => {
                tx.execute(
                    &self.thread,
                    &[
                        &t.id,
                        &t.key,
                        &t.url,
                        &t.title,
                        &t.created_at,
                        &t.changed_seq,
                        &t.published_count,
                        &t.site,
                    ],
                )?;
            }
            Row::Comment(c) => {
                // Rows come by id: a parent with a lower id is already in.
                let parent = match c.parent_id {
                    Some(parent) if parent >= c.id => {
                        self.late_parents.push((c.id, parent));
                        None
                    }
                    parent => parent,
                };
                tx.execute(
                    &self.comment,
                    &[
                        &c.id,
                        &c.thread_id,
                        &parent,
                        &c.status,
                        &c.author,
                        &c.email,
                        &c.website,
                        &c.text,
                        &c.page_url,
                        &c.remote_addr,
                        &c.created_at,
                        &c.approved_at,
                        &c.html,
                        &c.html_version,
                        &c.notify,
                        &c.avatar,
                        &c.identity_subject,
                    ],
                )?;
            }
            Row::Imported(i) => {
                tx.execute(
                    &self.imported,
                    &[&i.source, &i.source_id, &i.comment_id, &i.imported_at],
                )?;
            }
            Row::Subscriber(s) => {
                tx.execute(
                    &self.subscriber,
                    &[&s.email, &s.created_at, &s.confirmed_at, &s.unsubscribed_at],
                )?;
            }
            Row::Outbox(o) => {
                let attempts = i32::try_from(o.attempts).with_context(|| {
                    format!(
                        "attempts = {} does not fit PostgreSQL's integer",
                        o.attempts
                    )
                })?;
                tx.execute(
                    &self.outbox,
                    &[
                        &o.id,
                        &o.kind,
                        &o.comment_id,
                        &o.recipient,
                        &o.created_at,
                        &attempts,
                        &o.next_attempt_at,
                        &o.last_error,
                        &o.failed_at,
                    ],
                )?;
            }
            Row::Session(s) => {
                tx.execute(
                    &self.session,
                    &[
                        &s.id_hash,
                        &s.csrf,
                        &s.created_at,
                        &s.expires_at,
                        &s.moderator,
                    ],
                )?;
            }
            Row::Reaction(r) => {
                tx.execute(&self.reaction, &[&r.comment_id, &r.reader, &r.created_at])?;
            }
        }
        Ok(())
    }
}

/// Every copied row, table by table in primary-key order, texts ordered by
/// their bytes (`COLLATE "C"`, whatever the database's locale) as SQLite
/// orders them, so both give the same checksums.
fn read_all(tx: &mut Transaction, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
    fn read(
        tx: &mut Transaction,
        table: &str,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<()>,
        row: impl Fn(&postgres::Row) -> std::result::Result<Row, postgres::Error>,
    ) -> Result<()> {
        let mut rows = tx.query_raw(sql, std::iter::empty::<i64>())?;
        while let Some(r) = rows.next()? {
            let row = row(&r).with_context(|| match r.try_get::<_, i64>(0) {
                Ok(id) => format!("cannot read {table} row id {id}"),
                Err(_) => format!("cannot read a {table} row"),
            })?;
            each(row)?;
        }
        Ok(())
    }
    read(
        tx,
        "meta",
        r#"SELECT key, value FROM meta ORDER BY key COLLATE "C""#,
        &mut |row| {
            if matches!(&row, Row::Meta { key, .. } if !is_copied_meta(key)) {
                return Ok(());
            }
            each(row)
        },
        |r| {
            Ok(Row::Meta {
                key: r.try_get(0)?,
                value: r.try_get(1)?,
            })
        },
    )?;
    let seq: i64 = tx.query_one("SELECT value FROM change_seq", &[])?.get(0);
    each(Row::ChangeSeq(seq))?;
    read(
        tx,
        "threads",
        "SELECT id, key, url, title, created_at, changed_seq, published_count, site
         FROM threads ORDER BY id",
        each,
        |r| {
            Ok(Row::Thread(ThreadRow {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                url: r.try_get(2)?,
                title: r.try_get(3)?,
                created_at: r.try_get(4)?,
                changed_seq: r.try_get(5)?,
                published_count: r.try_get(6)?,
                site: r.try_get(7)?,
            }))
        },
    )?;
    read(
        tx,
        "comments",
        "SELECT id, thread_id, parent_id, status, author, email, website, text, page_url,
                remote_addr, created_at, approved_at, html, html_version, notify, avatar,
                identity_subject
         FROM comments ORDER BY id",
        each,
        |r| {
            Ok(Row::Comment(CommentRow {
                id: r.try_get(0)?,
                thread_id: r.try_get(1)?,
                parent_id: r.try_get(2)?,
                status: r.try_get(3)?,
                author: r.try_get(4)?,
                email: r.try_get(5)?,
                website: r.try_get(6)?,
                text: r.try_get(7)?,
                page_url: r.try_get(8)?,
                remote_addr: r.try_get(9)?,
                created_at: r.try_get(10)?,
                approved_at: r.try_get(11)?,
                html: r.try_get(12)?,
                html_version: r.try_get(13)?,
                notify: r.try_get(14)?,
                avatar: r.try_get(15)?,
                identity_subject: r.try_get(16)?,
            }))
        },
    )?;
    read(
        tx,
        "imported",
        r#"SELECT source, source_id, comment_id, imported_at
           FROM imported ORDER BY source COLLATE "C", source_id COLLATE "C""#,
        each,
        |r| {
            Ok(Row::Imported(ImportedRow {
                source: r.try_get(0)?,
                source_id: r.try_get(1)?,
                comment_id: r.try_get(2)?,
                imported_at: r.try_get(3)?,
            }))
        },
    )?;
    read(
        tx,
        "subscribers",
        r#"SELECT email, created_at, confirmed_at, unsubscribed_at
           FROM subscribers ORDER BY email COLLATE "C""#,
        each,
        |r| {
            Ok(Row::Subscriber(SubscriberRow {
                email: r.try_get(0)?,
                created_at: r.try_get(1)?,
                confirmed_at: r.try_get(2)?,
                unsubscribed_at: r.try_get(3)?,
            }))
        },
    )?;
    read(
        tx,
        "outbox",
        "SELECT id, kind, comment_id, recipient, created_at, attempts, next_attempt_at,
                last_error, failed_at
         FROM outbox ORDER BY id",
        each,
        |r| {
            Ok(Row::Outbox(OutboxRow {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                comment_id: r.try_get(2)?,
                recipient: r.try_get(3)?,
                created_at: r.try_get(4)?,
                attempts: i64::from(r.try_get::<_, i32>(5)?),
                next_attempt_at: r.try_get(6)?,
                last_error: r.try_get(7)?,
                failed_at: r.try_get(8)?,
            }))
        },
    )?;
    read(
        tx,
        "admin_sessions",
        r#"SELECT id_hash, csrf, created_at, expires_at, moderator
           FROM admin_sessions ORDER BY id_hash COLLATE "C""#,
        each,
        |r| {
            Ok(Row::Session(SessionRow {
                id_hash: r.try_get(0)?,
                csrf: r.try_get(1)?,
                created_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                moderator: r.try_get(4)?,
            }))
        },
    )?;
    read(
        tx,
        "reactions",
        r#"SELECT comment_id, reader, created_at
           FROM reactions ORDER BY comment_id, reader COLLATE "C""#,
        each,
        |r| {
            Ok(Row::Reaction(ReactionRow {
                comment_id: r.try_get(0)?,
                reader: r.try_get(1)?,
                created_at: r.try_get(2)?,
            }))
        },
    )?;
    Ok(())
}
