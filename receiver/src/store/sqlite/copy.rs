//! `kiln store copy` on SQLite: every table read from one snapshot (a read
//! transaction in WAL mode sees one state of the file however long it runs,
//! while a receiver keeps writing), and written in one `BEGIN IMMEDIATE`
//! transaction with foreign keys checked at commit, so rows may come in any
//! order within their table. Columns are named one by one: a column added
//! by a later migration (outbox claims) keeps its default.

use anyhow::{bail, Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, TransactionBehavior};

use super::SqliteStore;
use crate::store::copy::{
    is_copied_meta, not_empty, CommentRow, ImportedRow, Intake, OutboxRow, ReactionRow, Row,
    SessionRow, SubscriberRow, Summary, Table, Tally, ThreadRow,
};
use crate::store::random_hex;

impl SqliteStore {
    pub fn copy_out(&mut self, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        let tx = self.conn.transaction()?;
        read_all(&tx, each)?;
        tx.commit()?;
        Ok(())
    }

    pub fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<Row>>,
        replace: bool,
    ) -> Result<Tally> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        if let Some(held) = holdings(&tx)? {
            if !replace {
                return Err(held.into());
            }
            for table in [
                "reactions",
                "imported",
                "comments",
                "threads",
                "subscribers",
                "outbox",
                "admin_sessions",
            ] {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        // The target's own keys (a salt made by its migrations, a secret
        // made by a receiver that started once) give way to the source's.
        clear_meta(&tx)?;
        let mut intake = Intake::default();
        for row in rows {
            let row = row?;
            intake.take(&row)?;
            insert(&tx, &row).with_context(|| format!("cannot copy {}", row.describe()))?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'instance'",
            [random_hex(16)],
        )?;
        check_references(&tx)?;
        let mut stored = Summary::default();
        read_all(&tx, &mut |row| {
            stored.add(&row);
            Ok(())
        })?;
        let tally = intake.verify(stored.finish())?;
        tx.commit()?;
        Ok(tally)
    }
}

/// What the target holds that a copy would replace, if anything.
fn holdings(conn: &Connection) -> Result<Option<crate::store::copy::NotEmpty>> {
    let mut counts = Vec::new();
    for (table, name) in [
        (Table::Threads, "threads"),
        (Table::Comments, "comments"),
        (Table::Imported, "imported"),
        (Table::Subscribers, "subscribers"),
        (Table::Outbox, "outbox"),
        (Table::AdminSessions, "admin_sessions"),
    ] {
        let n: u64 = conn.query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0))?;
        counts.push((table, n));
    }
    let has_password: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'admin_password')",
        [],
        |r| r.get(0),
    )?;
    Ok(not_empty(&counts, has_password))
}

/// Removes every `meta` row a copy brings, keeping the database's own.
fn clear_meta(conn: &Connection) -> Result<()> {
    let keys: Vec<String> = conn
        .prepare("SELECT key FROM meta")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for key in keys.iter().filter(|k| is_copied_meta(k)) {
        conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    }
    Ok(())
}

fn insert(conn: &Connection, row: &Row) -> Result<()> {
    match row {
        Row::Meta { key, value } => {
            conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2)")?
                .execute([key, value])?;
        }
        Row::ChangeSeq(n) => {
            conn.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'seq'",
                [n.to_string()],
            )?;
        }
        Row::Thread(t) => {
            conn.prepare_cached(
                "INSERT INTO threads (id, key, url, title, created_at, changed_seq, published_count,
                                      site)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                t.id,
                t.key,
                t.url,
                t.title,
                t.created_at,
                t.changed_seq,
                t.published_count,
                t.site
            ])?;
        }
        Row::Comment(c) => {
            conn.prepare_cached(
                "INSERT INTO comments (id, thread_id, parent_id, status, author, email, website,
                                       text, page_url, remote_addr, created_at, approved_at,
                                       html, html_version, notify, avatar, identity_subject)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17)",
            )?
            .execute(params![
                c.id,
                c.thread_id,
                c.parent_id,
                c.status,
                c.author,
                c.email,
                c.website,
                c.text,
                c.page_url,
                c.remote_addr,
                c.created_at,
                c.approved_at,
                c.html,
                c.html_version,
                c.notify,
                c.avatar,
                c.identity_subject,
            ])?;
        }
        Row::Imported(i) => {
            conn.prepare_cached(
                "INSERT INTO imported (source, source_id, comment_id, imported_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![i.source, i.source_id, i.comment_id, i.imported_at])?;
        }
        Row::Subscriber(s) => {
            conn.prepare_cached(
                "INSERT INTO subscribers (email, created_at, confirmed_at, unsubscribed_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                s.email,
                s.created_at,
                s.confirmed_at,
                s.unsubscribed_at
            ])?;
        }
        Row::Outbox(o) => {
            conn.prepare_cached(
                "INSERT INTO outbox (id, kind, comment_id, recipient, created_at, attempts,
                                     next_attempt_at, last_error, failed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                o.id,
                o.kind,
                o.comment_id,
                o.recipient,
                o.created_at,
                o.attempts,
                o.next_attempt_at,
                o.last_error,
                o.failed_at
            ])?;
        }
        Row::Session(s) => {
            conn.prepare_cached(
                "INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at, moderator)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                s.id_hash,
                s.csrf,
                s.created_at,
                s.expires_at,
                s.moderator
            ])?;
        }
        Row::Reaction(r) => {
            conn.prepare_cached(
                "INSERT INTO reactions (comment_id, reader, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![r.comment_id, r.reader, r.created_at])?;
        }
    }
    Ok(())
}

/// Names the first row whose reference is dangling; SQLite would only say
/// "FOREIGN KEY constraint failed" at commit.
fn check_references(conn: &Connection) -> Result<()> {
    let broken: Option<(String, i64, String)> = conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .next()
        .transpose()?;
    if let Some((table, rowid, parent)) = broken {
        bail!("{table} row id {rowid} refers to a {parent} row that is not in the copy");
    }
    Ok(())
}

/// Every copied row, table by table in primary-key order. Texts are
/// ordered by their bytes, as PostgreSQL's side orders them under
/// `COLLATE "C"`, so both give the same checksums.
pub(super) fn read_all(conn: &Connection, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
    fn read(
        conn: &Connection,
        table: &str,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<()>,
        row: impl Fn(&rusqlite::Row) -> rusqlite::Result<Row>,
    ) -> Result<()> {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let row = row(r).with_context(|| match r.get_ref(0) {
                Ok(ValueRef::Integer(id)) => format!("cannot read {table} row id {id}"),
                _ => format!("cannot read a {table} row"),
            })?;
            each(row)?;
        }
        Ok(())
    }
    read(
        conn,
        "meta",
        "SELECT key, value FROM meta ORDER BY key",
        &mut |row| {
            if matches!(&row, Row::Meta { key, .. } if !is_copied_meta(key)) {
                return Ok(());
            }
            each(row)
        },
        |r| {
            Ok(Row::Meta {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        },
    )?;
    let seq: i64 = conn.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq'",
        [],
        |r| r.get(0),
    )?;
    each(Row::ChangeSeq(seq))?;
    read(
        conn,
        "threads",
        "SELECT id, key, url, title, created_at, changed_seq, published_count, site
         FROM threads ORDER BY id",
        each,
        |r| {
            Ok(Row::Thread(ThreadRow {
                id: r.get(0)?,
                key: r.get(1)?,
                url: r.get(2)?,
                title: r.get(3)?,
                created_at: r.get(4)?,
                changed_seq: r.get(5)?,
                published_count: r.get(6)?,
                site: r.get(7)?,
            }))
        },
    )?;
    read(
        conn,
        "comments",
        "SELECT id, thread_id, parent_id, status, author, email, website, text, page_url,
                remote_addr, created_at, approved_at, html, html_version, notify, avatar,
                identity_subject
         FROM comments ORDER BY id",
        each,
        |r| {
            Ok(Row::Comment(CommentRow {
                id: r.get(0)?,
                thread_id: r.get(1)?,
                parent_id: r.get(2)?,
                status: r.get(3)?,
                author: r.get(4)?,
                email: r.get(5)?,
                website: r.get(6)?,
                text: r.get(7)?,
                page_url: r.get(8)?,
                remote_addr: r.get(9)?,
                created_at: r.get(10)?,
                approved_at: r.get(11)?,
                html: r.get(12)?,
                html_version: r.get(13)?,
                notify: r.get(14)?,
                avatar: r.get(15)?,
                identity_subject: r.get(16)?,
            }))
        },
    )?;
    read(
        conn,
        "imported",
        "SELECT source, source_id, comment_id, imported_at
         FROM imported ORDER BY source COLLATE BINARY, source_id COLLATE BINARY",
        each,
        |r| {
            Ok(Row::Imported(ImportedRow {
                source: r.get(0)?,
                source_id: r.get(1)?,
                comment_id: r.get(2)?,
                imported_at: r.get(3)?,
            }))
        },
    )?;
    read(
        conn,
        "subscribers",
        "SELECT email, created_at, confirmed_at, unsubscribed_at
         FROM subscribers ORDER BY email COLLATE BINARY",
        each,
        |r| {
            Ok(Row::Subscriber(SubscriberRow {
                email: r.get(0)?,
                created_at: r.get(1)?,
                confirmed_at: r.get(2)?,
                unsubscribed_at: r.get(3)?,
            }))
        },
    )?;
    read(
        conn,
        "outbox",
        "SELECT id, kind, comment_id, recipient, created_at, attempts, next_attempt_at,
                last_error, failed_at
         FROM outbox ORDER BY id",
        each,
        |r| {
            Ok(Row::Outbox(OutboxRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                comment_id: r.get(2)?,
                recipient: r.get(3)?,
                created_at: r.get(4)?,
                attempts: r.get(5)?,
                next_attempt_at: r.get(6)?,
                last_error: r.get(7)?,
                failed_at: r.get(8)?,
            }))
        },
    )?;
    read(
        conn,
        "admin_sessions",
        "SELECT id_hash, csrf, created_at, expires_at, moderator FROM admin_sessions ORDER BY id_hash",
        each,
        |r| {
            Ok(Row::Session(SessionRow {
                id_hash: r.get(0)?,
                csrf: r.get(1)?,
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
                moderator: r.get(4)?,
            }))
        },
    )?;
    read(
        conn,
        "reactions",
        "SELECT comment_id, reader, created_at FROM reactions
         ORDER BY comment_id, reader COLLATE BINARY",
        each,
        |r| {
            Ok(Row::Reaction(ReactionRow {
                comment_id: r.get(0)?,
                reader: r.get(1)?,
                created_at: r.get(2)?,
            }))
        },
    )?;
    Ok(())
}
