//! Moving a whole database from one store to another (`kiln store copy`):
//! SQLite to PostgreSQL when a site outgrows one machine, and back again,
//! which makes it a backup route too. This is the backend-neutral half: the
//! rows (`Row`, one variant per persistent table, every column spelled out),
//! the canonical encoding each table's SHA-256 is taken over, and the copy
//! itself, which streams the source's snapshot into the target's one
//! transaction and checks that what the target holds is what was sent.
//! Each backend reads and writes the rows in its own `copy.rs`.
//!
//! Copying works on tables, not through the comment methods: the copy keeps
//! ids, rendered HTML, the change sequence, the outbox's attempts and the
//! receiver's keys exactly, so pages baked from either database are the
//! same. What is not copied, and why:
//! - the target's `instance` id: it names a database, and bake's state files
//!   trust remembered change sequences only for the database they came
//!   from. The target gets a new one on every copy, so the first bake from
//!   it renders every page once (to the same bytes: the salt and HTML are
//!   copied) instead of trusting sequence numbers another database made;
//! - migration bookkeeping (SQLite's `user_version`, PostgreSQL's
//!   `kiln_migrations`): each database keeps its own;
//! - outbox claims, rate-limit events and the publisher's last runs
//!   (`publish_runs`): leases, counters and a history that describe running
//!   receivers, not the site. A publisher on the target starts from its
//!   change sequence, as on a first start.

#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use sha2::{Digest, Sha256};

use super::Store;

/// The tables a copy moves, in the order their rows are streamed: a table
/// comes after every table it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Meta,
    /// The change sequence: a row in SQLite's `meta` (`seq`), a one-row
    /// table in PostgreSQL. Threads' `changed_seq` values count from it.
    ChangeSeq,
    Threads,
    Comments,
    /// What `kiln import` brought, by the source's ids (so an import run
    /// again on the copy still adds nothing).
    Imported,
    Subscribers,
    Outbox,
    AdminSessions,
    /// Likes (`[reactions]`), by comment and reader key.
    Reactions,
}

impl Table {
    pub const ALL: [Table; 9] = [
        Table::Meta,
        Table::ChangeSeq,
        Table::Threads,
        Table::Comments,
        Table::Imported,
        Table::Subscribers,
        Table::Outbox,
        Table::AdminSessions,
        Table::Reactions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::ChangeSeq => "change_seq",
            Table::Threads => "threads",
            Table::Comments => "comments",
            Table::Imported => "imported",
            Table::Subscribers => "subscribers",
            Table::Outbox => "outbox",
            Table::AdminSessions => "admin_sessions",
            Table::Reactions => "reactions",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `meta` keys that belong to the database rather than the site: never
/// copied, never replaced. `instance` names the database (see the module
/// header), `seq` is SQLite's change sequence (copied as `Row::ChangeSeq`),
/// `schema_compatible_from` is migration bookkeeping.
pub(crate) const KEPT_META: &[&str] = &["instance", "seq", "schema_compatible_from"];

/// Whether a `meta` row travels with a copy.
pub(crate) fn is_copied_meta(key: &str) -> bool {
    !KEPT_META.contains(&key)
}

/// A `threads` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRow {
    pub id: i64,
    pub key: String,
    pub url: String,
    pub title: String,
    pub created_at: i64,
    pub changed_seq: i64,
    pub published_count: i64,
    pub site: String,
}

/// A `comments` row, every column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow {
    pub id: i64,
    pub thread_id: i64,
    pub parent_id: Option<i64>,
    pub status: String,
    pub author: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub text: String,
    pub page_url: String,
    pub remote_addr: Option<String>,
    pub created_at: i64,
    pub approved_at: Option<i64>,
    pub html: Option<String>,
    pub html_version: Option<String>,
    pub notify: bool,
    /// The avatar key a comment restored from a kiln export came with.
    pub avatar: Option<String>,
    /// The signed-in author's OpenID subject (migration `identity`).
    pub identity_subject: Option<String>,
}

/// An `imported` row: a comment `kiln import` brought, by its source's id;
/// `comment_id` is None once the comment was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    pub source: String,
    pub source_id: String,
    pub comment_id: Option<i64>,
    pub imported_at: i64,
}

/// A `subscribers` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRow {
    pub email: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
}

/// An `outbox` row, without claims (leases of running receivers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub comment_id: i64,
    pub recipient: Option<String>,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub failed_at: Option<i64>,
}

/// An `admin_sessions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Who logged in; `None` for the admin password.
    pub moderator: Option<String>,
}

/// A `reactions` row: one reader's like of one comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow {
    pub comment_id: i64,
    pub reader: String,
    pub created_at: i64,
}

/// One row of one table, as both backends read and write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Meta { key: String, value: String },
    ChangeSeq(i64),
    Thread(ThreadRow),
    Comment(CommentRow),
    Imported(ImportedRow),
    Subscriber(SubscriberRow),
    Outbox(OutboxRow),
    Session(SessionRow),
    Reaction(ReactionRow),
}

impl Row {
    pub fn table(&self) -> Table {
        match self {
            Row::Meta { .. } => Table::Meta,
            Row::ChangeSeq(_) => Table::ChangeSeq,
            Row::Thread(_) => Table::Threads,
            Row::Comment(_) => Table::Comments,
            Row::Imported(_) => Table::Imported,
            Row::Subscriber(_) => Table::Subscribers,
            Row::Outbox(_) => Table::Outbox,
            Row::Session(_) => Table::AdminSessions,
            Row::Reaction(_) => Table::Reactions,
        }
    }

    /// Which row this is, for messages: its table and primary key. A
    /// session is named by the start of its hash, which is enough to find
    /// it and no use for logging in (the cookie is what logs in).
    pub fn describe(&self) -> String {
        match self {
            Row::Meta { key, .. } => format!("meta row {key:?}"),
            Row::ChangeSeq(_) => "the change sequence".to_owned(),
            Row::Thread(t) => format!("threads row id {} ({:?})", t.id, t.key),
            Row::Comment(c) => format!("comments row id {}", c.id),
            Row::Imported(i) => format!("imported row {:?} {:?}", i.source, i.source_id),
            Row::Subscriber(s) => format!("subscribers row {:?}", s.email),
            Row::Outbox(o) => format!("outbox row id {}", o.id),
            Row::Session(s) => format!(
                "admin_sessions row {}…",
                s.id_hash.chars().take(8).collect::<String>()
            ),
            Row::Reaction(r) => format!(
                "reactions row of comment {} ({}…)",
                r.comment_id,
                r.reader.chars().take(8).collect::<String>()
            ),
        }
    }

    /// The row's text columns with their names, for checks a target makes
    /// before storing them.
    pub(crate) fn texts(&self) -> Vec<(&'static str, &str)> {
        fn opt<'a>(
            out: &mut Vec<(&'static str, &'a str)>,
            name: &'static str,
            v: &'a Option<String>,
        ) {
            if let Some(v) = v {
                out.push((name, v));
            }
        }
        let mut out = Vec::new();
        match self {
            Row::Meta { key, value } => out.extend([("key", key.as_str()), ("value", value)]),
            Row::ChangeSeq(_) => {}
            Row::Thread(t) => out.extend([
                ("key", t.key.as_str()),
                ("url", &t.url),
                ("title", &t.title),
                ("site", &t.site),
            ]),
            Row::Comment(c) => {
                out.extend([
                    ("status", c.status.as_str()),
                    ("author", &c.author),
                    ("text", &c.text),
                    ("page_url", &c.page_url),
                ]);
                opt(&mut out, "email", &c.email);
                opt(&mut out, "website", &c.website);
                opt(&mut out, "remote_addr", &c.remote_addr);
                opt(&mut out, "html", &c.html);
                opt(&mut out, "html_version", &c.html_version);
                opt(&mut out, "avatar", &c.avatar);
                opt(&mut out, "identity_subject", &c.identity_subject);
            }
            Row::Imported(i) => {
                out.extend([("source", i.source.as_str()), ("source_id", &i.source_id)])
            }
            Row::Subscriber(s) => out.push(("email", &s.email)),
            Row::Outbox(o) => {
                out.push(("kind", &o.kind));
                opt(&mut out, "recipient", &o.recipient);
                opt(&mut out, "last_error", &o.last_error);
            }
            Row::Session(s) => out.extend([("id_hash", s.id_hash.as_str()), ("csrf", &s.csrf)]),
            Row::Reaction(r) => out.push(("reader", &r.reader)),
        }
        out
    }

    /// The canonical encoding the checksums are taken over: every column in
    /// schema order, each tagged (NULL, integer, text) and texts prefixed
    /// with their length, so no two different rows encode alike.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Encoder(out);
        match self {
            Row::Meta { key, value } => {
                e.text(key);
                e.text(value);
            }
            Row::ChangeSeq(n) => e.int(*n),
            Row::Thread(t) => {
                e.int(t.id);
                e.text(&t.key);
                e.text(&t.url);
                e.text(&t.title);
                e.int(t.created_at);
                e.int(t.changed_seq);
                e.int(t.published_count);
                e.text(&t.site);
            }
            Row::Comment(c) => {
                e.int(c.id);
                e.int(c.thread_id);
                e.opt_int(c.parent_id);
                e.text(&c.status);
                e.text(&c.author);
                e.opt_text(&c.email);
                e.opt_text(&c.website);
                e.text(&c.text);
                e.text(&c.page_url);
                e.opt_text(&c.remote_addr);
                e.int(c.created_at);
                e.opt_int(c.approved_at);
                e.opt_text(&c.html);
                e.opt_text(&c.html_version);
                e.int(i64::from(c.notify));
                e.opt_text(&c.avatar);
                e.opt_text(&c.identity_subject);
            }
            Row::Imported(i) => {
                e.text(&i.source);
                e.text(&i.source_id);
                e.opt_int(i.comment_id);
                e.int(i.imported_at);
            }
            Row::Subscriber(s) => {
                e.text(&s.email);
                e.int(s.created_at);
                e.opt_int(s.confirmed_at);
                e.opt_int(s.unsubscribed_at);
            }
            Row::Outbox(o) => {
                e.int(o.id);
                e.text(&o.kind);
                e.int(o.comment_id);
                e.opt_text(&o.recipient);
                e.int(o.created_at);
                e.int(o.attempts);
                e.int(o.next_attempt_at);
                e.opt_text(&o.last_error);
                e.opt_int(o.failed_at);
            }
            Row::Session(s) => {
                e.text(&s.id_hash);
                e.text(&s.csrf);
                e.int(s.created_at);
                e.int(s.expires_at);
            }
            Row::Reaction(r) => {
                e.int(r.comment_id);
                e.text(&r.reader);
                e.int(r.created_at);
            }
        }
    }
}

struct Encoder<'a>(&'a mut Vec<u8>);

impl Encoder<'_> {
    fn null(&mut self) {
        self.0.push(0);
    }
    fn int(&mut self, n: i64) {
        self.0.push(1);
        self.0.extend_from_slice(&n.to_be_bytes());
    }
    fn text(&mut self, s: &str) {
        self.0.push(2);
        self.0.extend_from_slice(&(s.len() as u64).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_int(&mut self, n: Option<i64>) {
        match n {
            Some(n) => self.int(n),
            None => self.null(),
        }
    }
    fn opt_text(&mut self, s: &Option<String>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }
}

/// Counts and checksums being taken over a stream of rows.
pub struct Summary {
    tables: Vec<(u64, Sha256)>,
    buf: Vec<u8>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            tables: Table::ALL.iter().map(|_| (0, Sha256::new())).collect(),
            buf: Vec::new(),
        }
    }
}

impl Summary {
    pub fn add(&mut self, row: &Row) {
        self.buf.clear();
        row.encode(&mut self.buf);
        let (count, hash) = &mut self.tables[row.table().index()];
        *count += 1;
        hash.update(&self.buf);
    }

    pub fn finish(self) -> Tally {
        Tally {
            tables: Table::ALL
                .iter()
                .zip(self.tables)
                .map(|(&table, (rows, hash))| TableTally {
                    table,
                    rows,
                    sha256: hash.finalize().iter().fold(String::new(), |mut s, b| {
                        let _ = write!(s, "{b:02x}");
                        s
                    }),
                })
                .collect(),
        }
    }
}

/// One table's row count and the SHA-256 of its rows' canonical encodings,
/// in primary-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableTally {
    pub table: Table,
    pub rows: u64,
    pub sha256: String,
}

/// What a database holds, table by table: equal tallies mean equal rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub tables: Vec<TableTally>,
}

impl Tally {
    pub fn rows(&self, table: Table) -> u64 {
        self.tables[table.index()].rows
    }

    /// The tables in which `self` and `other` differ, described.
    pub fn differences(&self, other: &Tally) -> Vec<String> {
        self.tables
            .iter()
            .zip(&other.tables)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| {
                format!(
                    "{}: {} rows (sha256 {}) against {} rows (sha256 {})",
                    a.table.name(),
                    a.rows,
                    &a.sha256[..12],
                    b.rows,
                    &b.sha256[..12]
                )
            })
            .collect()
    }
}

/// Counts and checksums every table of `store`, from one snapshot.
pub fn tally(store: &mut dyn Store) -> Result<Tally> {
    let mut summary = Summary::default();
    store.copy_out(&mut |row| {
        summary.add(&row);
        Ok(())
    })?;
    Ok(summary.finish())
}

/// A copy refused because the target already holds a site.
#[derive(Debug, thiserror::Error)]
#[error("the target database is not empty: it holds {}", holdings(.0))]
pub struct NotEmpty(pub Vec<(Table, u64)>);

fn holdings(held: &[(Table, u64)]) -> String {
    held.iter()
        .map(|(table, n)| match table {
            Table::Meta => "an admin password".to_owned(),
            _ => format!("{n} {} row(s)", table.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What makes a target "not empty": rows in any table a site fills, or an
/// admin password. A database made by migrations, or by a receiver that
/// started once and made its keys, holds neither and may be copied into.
pub(crate) fn not_empty(counts: &[(Table, u64)], has_password: bool) -> Option<NotEmpty> {
    let mut held: Vec<(Table, u64)> = counts.iter().copied().filter(|(_, n)| *n > 0).collect();
    if has_password {
        held.push((Table::Meta, 1));
    }
    (!held.is_empty()).then_some(NotEmpty(held))
}

/// Checks the target's side of a copy inside its transaction, before it
/// commits: rows arrive table by table (so a table's rows can refer to the
/// tables before it), and `received` describes them. Called by each backend
/// for every row.
pub(crate) struct Intake {
    received: Summary,
    last: Table,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            received: Summary::default(),
            last: Table::Meta,
        }
    }
}

impl Intake {
    /// Takes note of `row` before it is stored; refuses rows out of table
    /// order and `meta` rows that name the database itself.
    pub(crate) fn take(&mut self, row: &Row) -> Result<()> {
        if row.table() < self.last {
            bail!(
                "{} arrived after the {} rows; a copy streams tables in order",
                row.describe(),
                self.last.name()
            );
        }
        self.last = row.table();
        if let Row::Meta { key, .. } = row {
            if !is_copied_meta(key) {
                bail!(
                    "{} names the source database and is never copied",
                    row.describe()
                );
            }
        }
        self.received.add(row);
        Ok(())
    }

    /// Compares what was received with what the target reads back in the
    /// same transaction; an error makes the backend roll back.
    pub(crate) fn verify(self, stored: Tally) -> Result<Tally> {
        let received = self.received.finish();
        let differences = received.differences(&stored);
        if !differences.is_empty() {
            bail!(
                "the target does not read back what was sent (sent against stored): {}",
                differences.join("; ")
            );
        }
        Ok(stored)
    }
}

/// The one message a target gives for a text PostgreSQL cannot store.
pub(crate) fn check_no_nul(row: &Row) -> Result<()> {
    for (column, text) in row.texts() {
        if text.contains('\0') {
            bail!(
                "{} has a NUL character in `{column}`, which PostgreSQL cannot store; \
                 remove it in the source and run the copy again",
                row.describe()
            );
        }
    }
    Ok(())
}

/// The source stopped (its error is reported instead of the target's).
#[derive(Debug, thiserror::Error)]
#[error("the source stopped before the end of the copy")]
struct SourceStopped;

/// Copies every table of `source` into `target`: the source is read from
/// one snapshot on a thread of its own while the target stores the rows in
/// one transaction. The target checks what it stored against what it was
/// sent before it commits, so it ends up holding either exactly the
/// source's rows or what it held before. A target that already holds a site
/// is refused (`NotEmpty`) unless `replace`, which empties it in the same
/// transaction. Returns the tally both sides agree on.
pub fn copy(source: &mut dyn Store, target: &mut dyn Store, replace: bool) -> Result<Tally> {
    let (send, receive) = std::sync::mpsc::sync_channel::<Result<Row>>(1024);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut sent = Summary::default();
            let read = source.copy_out(&mut |row| {
                sent.add(&row);
                send.send(Ok(row))
                    .map_err(|_| anyhow!("the target stopped taking rows"))
            });
            match read {
                Ok(()) => Ok(sent.finish()),
                Err(err) => {
                    // Makes the target roll back rather than commit a part.
                    let _ = send.send(Err(SourceStopped.into()));
                    Err(err)
                }
            }
        });
        let mut rows = receive.into_iter();
        let stored = target.copy_in(&mut rows, replace);
        // Lets a reader blocked on a full channel see that nobody listens.
        drop(rows);
        let sent = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (sent, stored) {
            (Ok(sent), Ok(stored)) => {
                let differences = sent.differences(&stored);
                if !differences.is_empty() {
                    bail!(
                        "the copy was stored, but the target holds other rows than the source sent: {}",
                        differences.join("; ")
                    );
                }
                Ok(stored)
            }
            (Err(read), Err(stored)) if stored.chain().any(|e| e.is::<SourceStopped>()) => {
                Err(read.context("cannot read the source; the target is as it was"))
            }
            (_, Err(stored)) if stored.is::<NotEmpty>() => Err(stored),
            (_, Err(stored)) => Err(stored.context("the copy failed; the target is as it was")),
            // The reader sends its failure before it lets go of the channel,
            // so the target cannot have committed; said plainly all the same.
            (Err(read), Ok(_)) => Err(read.context(
                "the source failed after the target had committed; copy again with --replace",
            )),
        }
    })
}
