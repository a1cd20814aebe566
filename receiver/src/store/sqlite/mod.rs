//! The SQLite backend: kiln's embedded default for one machine. One
//! connection in WAL mode, the schema in `migrations/` counted by `PRAGMA
//! user_version`, and bake's `Source` reading the file side by side.

mod abuse;
mod admin;
pub(super) mod backup;
mod boundary;
mod copy;
mod counts;
mod imported;
pub mod isso;
mod mail;
#[cfg(any(test, feature = "testing"))]
pub(super) mod peek;
mod posting;
mod privacy;
mod reactions;
mod review;
mod runs;
mod source;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::markdown;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use super::{random_hex, NewComment, Refusal, Status, StoredComment};

pub use source::SqliteSource;

/// The schema, one migration per entry; `PRAGMA user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_rendered_html.sql"),
    include_str!("migrations/0003_admin.sql"),
    include_str!("migrations/0004_mail.sql"),
    include_str!("migrations/0005_page_title.sql"),
    include_str!("migrations/0006_avatar_salt.sql"),
    include_str!("migrations/0007_outbox_claims.sql"),
    include_str!("migrations/0008_imported.sql"),
    include_str!("migrations/0009_publish_runs.sql"),
    include_str!("migrations/0010_reactions.sql"),
    include_str!("migrations/0011_identity.sql"),
    include_str!("migrations/0012_sites.sql"),
    include_str!("migrations/0015_moderators.sql"),
];

/// The first bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Whether `head`, a file's first bytes, starts an SQLite database.
pub(super) fn is_database(head: &[u8]) -> bool {
    head.starts_with(SQLITE_MAGIC)
}

/// A connection to kiln's SQLite database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Whether changes queue the mail they cause (see `set_mail_events`).
    mail_events: bool,
}

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Switches the file to WAL (which it keeps). On a new file another
/// process may be doing the same at this moment, and SQLite answers "busy"
/// at once instead of using the busy timeout, so this waits as that would.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database for reading and writing and
    /// brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        // WAL lets bake read while the receiver writes; synchronous=FULL makes
        // a committed comment durable before we acknowledge it.
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|_| use_wal(&conn))
            .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
            .with_context(|| format!("cannot configure database {}", path.display()))?;
        // Room for every statement a submission runs (about fifteen, all
        // cached: the writer runs them for every comment) and the rest.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            mail_events: false,
        };
        store
            .migrate()
            .with_context(|| format!("cannot migrate database {}", path.display()))?;
        Ok(store)
    }

    /// Opens an existing database without writing to it (bake's source).
    pub fn open_read_only(path: &Path) -> Result<Self> {
        if !path.is_file() {
            bail!("database {} does not exist", path.display());
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open database {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .with_context(|| format!("{} is not a kiln database", path.display()))?;
        if version != MIGRATIONS.len() {
            bail!(
                "database {} has schema version {version}, this kiln expects {}; \
                 run `kiln serve` or `kiln queue` with this kiln once to upgrade it",
                path.display(),
                MIGRATIONS.len()
            );
        }
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
            mail_events: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the migrations this database lacks, each in its own
    /// transaction. Each begins IMMEDIATE, taking SQLite's write lock first,
    /// and reads the version under it: two processes starting on a new file
    /// at once take turns, and the second finds the work done.
    fn migrate(&mut self) -> Result<()> {
        self.migrate_to(MIGRATIONS.len())
    }

    /// Opens (creating if needed) a database with only the first `version`
    /// migrations applied: a database as an older kiln left it, for the
    /// tests of a later migration.
    #[cfg(test)]
    pub(super) fn open_at_version(path: &Path, version: usize) -> Result<Self> {
        let mut store = SqliteStore {
            conn: Connection::open(path)?,
            path: path.to_owned(),
            mail_events: false,
        };
        store.migrate_to(version)?;
        Ok(store)
    }

    /// Applies the migrations after the database's version, up to `target`
    /// (see `migrate` for the lock). Foreign keys are off meanwhile, so a
    /// migration may rebuild a table others reference (SQLite's own
    /// procedure), and each is checked against them before it commits.
    fn migrate_to(&mut self, target: usize) -> Result<()> {
        let enforced: bool = self
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrated = self.migrate_steps(target);
        if enforced {
            self.conn.pragma_update(None, "foreign_keys", "ON")?;
        }
        migrated
    }

    fn migrate_steps(&mut self, target: usize) -> Result<()> {
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if current > MIGRATIONS.len() {
                bail!(
                    "schema version {current} is newer than this kiln knows ({}); upgrade kiln",
                    MIGRATIONS.len()
                );
            }
            if current >= target {
                return Ok(());
            }
            let sql = MIGRATIONS[current];
            tx.execute_batch(sql)
                .with_context(|| format!("migration {} failed", current + 1))?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()?;
            if let Some(table) = broken {
                bail!(
                    "migration {} left a row of {table} without the row it references",
                    current + 1
                );
            }
            if current == 0 {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('instance', ?1)",
                    [random_hex(16)],
                )?;
                tx.execute("INSERT INTO meta (key, value) VALUES ('seq', '0')", [])?;
            }
            tx.pragma_update(None, "user_version", current + 1)?;
            tx.commit()?;
        }
    }

    /// A random id made when the database was created; bake uses it to know
    /// that remembered change sequences belong to this database.
    pub fn instance_id(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?)
    }

    /// `insert`, with the author's choice about reply notifications: with
    /// `notify` and an address, the comment is subscribed, and the mail this
    /// causes is queued in the same transaction.
    pub fn insert_opted(
        &mut self,
        new: &NewComment,
        notify: bool,
        status: Status,
        now: i64,
    ) -> Result<std::result::Result<StoredComment, Refusal>> {
        let mail_events = self.mail_events;
        let tx = self.write_tx()?;
        let html = markdown::to_html(&new.text);
        let stored = insert_in(&tx, mail_events, new, &html, notify, status, now)?;
        if stored.is_ok() {
            tx.commit()?;
        }
        // Otherwise dropping the transaction rolls back the thread insert too.
        Ok(stored)
    }

    /// A transaction that takes SQLite's write lock at `BEGIN` (IMMEDIATE):
    /// a writer that must wait for another connection's write waits there,
    /// under the busy timeout, instead of failing with "database is locked"
    /// when a deferred transaction tries to upgrade its read lock.
    fn write_tx(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
    }

    pub fn get(&self, id: i64) -> Result<Option<StoredComment>> {
        Ok(self
            .conn
            .query_row(
                &format!("{SELECT_COMMENT} WHERE c.id = ?1"),
                [id],
                row_to_comment,
            )
            .optional()?)
    }

    /// Comments in one state, newest first.
    pub fn by_status(&self, status: Status) -> Result<Vec<StoredComment>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_COMMENT} WHERE c.status = ?1 ORDER BY c.created_at DESC, c.id DESC"
        ))?;
        let rows = stmt.query_map([status.as_str()], row_to_comment)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Publishes pending comments. All or nothing: an unknown or non-pending
    /// id refuses the whole batch.
    pub fn approve(&mut self, ids: &[i64], now: i64) -> Result<std::result::Result<(), Refusal>> {
        let mail_events = self.mail_events;
        self.change_each(ids, |tx, id, status, thread_id| {
            if status != Status::Pending {
                return Ok(Err(Refusal::NotPending(id, status.as_str())));
            }
            tx.execute(
                "UPDATE comments SET status = 'approved', approved_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            touch_thread(tx, thread_id, 1)?;
            if mail_events {
                mail::after_approve(tx, id, now)?;
            }
            Ok(Ok(()))
        })
    }

    /// Throws away pending comments (moderation's "reject").
    pub fn reject(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>> {
        self.change_each(ids, |tx, id, status, _| {
            if status != Status::Pending {
                return Ok(Err(Refusal::NotPending(id, status.as_str())));
            }
            tx.execute("DELETE FROM comments WHERE id = ?1", [id])?;
            Ok(Ok(()))
        })
    }

    /// Deletes comments in any state. A published comment with replies stays
    /// as a "deleted" marker, emptied of its author and text, so the replies
    /// keep their place; anything else is removed.
    pub fn delete(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>> {
        self.change_each(ids, |tx, id, status, thread_id| {
            remove_comment(tx, id, status, thread_id)?;
            Ok(Ok(()))
        })
    }

    /// Runs `change` for each id inside one transaction, committing only if
    /// every id exists and every change agreed.
    fn change_each(
        &mut self,
        ids: &[i64],
        mut change: impl FnMut(
            &Transaction,
            i64,
            Status,
            i64,
        ) -> Result<std::result::Result<(), Refusal>>,
    ) -> Result<std::result::Result<(), Refusal>> {
        let tx = self.write_tx()?;
        for &id in ids {
            let found: Option<(String, i64)> = tx
                .query_row(
                    "SELECT status, thread_id FROM comments WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((status, thread_id)) = found else {
                return Ok(Err(Refusal::Unknown(id)));
            };
            if let Err(refusal) = change(&tx, id, parse_status(&status)?, thread_id)? {
                return Ok(Err(refusal));
            }
        }
        tx.commit()?;
        Ok(Ok(()))
    }

    /// What avatar keys are made with: this database's salt (made by
    /// migration 6, used for nothing else), and whether comments carry
    /// Gravatar hashes too (`privacy.gravatar`).
    pub fn avatar_keys(&self, gravatar: bool) -> Result<AvatarKeys> {
        let salt: String = self.conn.query_row(
            "SELECT value FROM meta WHERE key = 'avatar_salt'",
            [],
            |r| r.get(0),
        )?;
        Ok(AvatarKeys::new(salt.as_bytes(), gravatar))
    }

    /// Threads with their published comments in the order they were posted
    /// (by id, so a parent always comes before its replies), threads ordered
    /// by key; optionally only the threads with the given keys. Addresses
    /// are read only to key avatars with `avatars`; they never leave.
    pub fn published_threads(
        &self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<kiln_bake::export::Thread>> {
        self.published_threads_in(site, keys, None, avatars, true)
    }

    /// Thread row ids that cut the published comments into `parts` runs of
    /// about the same size, for loading them side by side: each run is
    /// `(first, last)`, inclusive, in order. Fewer runs when there are
    /// fewer threads. Also the number of published comments in all.
    pub fn published_runs(&self, site: &str, parts: usize) -> Result<(Vec<(i64, i64)>, u64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, published_count FROM threads
             WHERE published_count > 0 AND site = ?1 ORDER BY id",
        )?;
        let threads: Vec<(i64, i64)> = stmt
            .query_map([site], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let total: i64 = threads.iter().map(|(_, n)| n).sum();
        let share = total / parts.max(1) as i64 + 1;
        let mut runs: Vec<(i64, i64)> = Vec::new();
        let mut in_run = 0;
        for (id, n) in threads {
            match runs.last_mut() {
                Some(run) if in_run < share => run.1 = id,
                _ => {
                    runs.push((id, id));
                    in_run = 0;
                }
            }
            in_run += n;
        }
        Ok((runs, total.max(0) as u64))
    }

    /// [`SqliteStore::published_threads`], limited to the threads whose row ids
    /// are in `run` (see [`SqliteStore::published_runs`]) when one is given.
    /// Without `likes`, every comment shows none: a bake with reactions off
    /// skips a count per comment.
    pub fn published_threads_in(
        &self,
        site: &str,
        keys: Option<&[String]>,
        run: Option<(i64, i64)>,
        avatars: &AvatarKeys,
        likes: bool,
    ) -> Result<Vec<kiln_bake::export::Thread>> {
        use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Thread};
        let mut threads: Vec<Thread> = Vec::new();
        // Rows arrive grouped by thread: a new thread starts when the key
        // changes, and the key and URL are only copied then.
        let mut push = |row: &rusqlite::Row, comment: Comment| -> rusqlite::Result<()> {
            match threads.last_mut() {
                Some(t) if t.id == row.get_ref(0)?.as_str()? => t.comments.push(comment),
                _ => threads.push(Thread {
                    id: row.get(0)?,
                    url: row.get(1)?,
                    comments: vec![comment],
                }),
            }
            Ok(())
        };
        // Two statements rather than `?1 IS NULL OR t.key = ?1`, which would
        // stop SQLite from using the thread index for one thread.
        let likes = match likes {
            true => "(SELECT count(*) FROM reactions r WHERE r.comment_id = c.id)",
            false => "0",
        };
        let columns = format!(
            "SELECT t.key, t.url, c.id, c.parent_id, c.status, c.author, c.website, c.text,
                    c.created_at, c.html, c.html_version, c.email, c.avatar, {likes},
                    c.identity_subject IS NOT NULL
             FROM comments c INDEXED BY comments_published
                  JOIN threads t ON t.id = c.thread_id
             WHERE c.status IN ('approved', 'deleted') AND t.site = ?1"
        );
        // Both orders follow the `comments_published` index (named, because
        // the planner cannot know that without statistics), so SQLite streams
        // rows instead of sorting 100,000 of them.
        let all = format!("{columns} ORDER BY c.thread_id, c.id");
        let some =
            format!("{columns} AND c.thread_id BETWEEN ?2 AND ?3 ORDER BY c.thread_id, c.id");
        let one = format!("{columns} AND t.key = ?2 ORDER BY c.id");
        let mut stmt_all = self.conn.prepare_cached(&all)?;
        let mut stmt_some = self.conn.prepare_cached(&some)?;
        let mut stmt_one = self.conn.prepare_cached(&one)?;
        let mut memo = kiln_bake::avatar::Memo::default();
        let mut read = |key: Option<&str>| -> Result<()> {
            let mut rows = match (key, run) {
                (None, None) => stmt_all.query([site])?,
                (None, Some((first, last))) => stmt_some.query(params![site, first, last])?,
                (Some(key), _) => stmt_one.query([site, key])?,
            };
            while let Some(r) = rows.next()? {
                let status = match r.get_ref(4)?.as_str()? {
                    "deleted" => CommentStatus::Deleted,
                    _ => CommentStatus::Approved,
                };
                let mut comment = Comment {
                    id: r.get(2)?,
                    parent: r.get(3)?,
                    status,
                    author: r.get(5)?,
                    website: r.get(6)?,
                    text: r.get(7)?,
                    created_at: unix_to_rfc3339(r.get(8)?),
                    avatar: None,
                    gravatar: None,
                    likes: r.get(13)?,
                    verified: r.get(14)?,
                    // Stored HTML is used only if this kiln made it.
                    html: match r.get_ref(10)?.as_str_or_null()? {
                        Some(markdown::VERSION) => r.get(9)?,
                        _ => None,
                    },
                };
                avatars.apply_remembered(&mut comment, r.get_ref(11)?.as_str_or_null()?, &mut memo);
                // A comment restored from an export keeps the key it came with.
                if let (Some(kept), CommentStatus::Approved) =
                    (r.get_ref(12)?.as_str_or_null()?, status)
                {
                    comment.avatar = Some(kept.to_owned());
                }
                push(r, comment)?;
            }
            Ok(())
        };
        match keys {
            None => read(None)?,
            Some(keys) => {
                for key in keys {
                    read(Some(key))?;
                }
            }
        }
        threads.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(threads)
    }

    /// For every thread that ever showed a comment: its change sequence and
    /// how many comments it shows. One indexed scan of the threads table.
    pub fn thread_stamps(&self, site: &str) -> Result<Vec<(String, u64, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, changed_seq, published_count FROM threads
             WHERE changed_seq > 0 AND site = ?1",
        )?;
        let rows = stmt.query_map([site], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The database's change sequence: it moves whenever what some thread
    /// shows changes (see `touch_thread`). The publisher polls it.
    pub fn change_seq(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Counts of comments per state, for `kiln queue` and health checks.
    pub fn count(&self, status: Status) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM comments WHERE status = ?1",
            [status.as_str()],
            |r| r.get(0),
        )?)
    }

    pub fn count_on(&self, site: &str, status: Status) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM comments c JOIN threads t ON t.id = c.thread_id
             WHERE c.status = ?1 AND t.site = ?2",
            [status.as_str(), site],
            |r| r.get(0),
        )?)
    }
}

/// Stores one comment inside the caller's transaction or savepoint `tx`:
/// the thread is created by its first comment, a parent must be published
/// and in the same thread, and the mail it causes is queued. `html` is
/// `text` rendered by this kiln's Markdown. On a refusal some rows may be
/// written already, so the caller rolls `tx` back.
fn insert_in(
    tx: &Connection,
    mail_events: bool,
    new: &NewComment,
    html: &str,
    notify: bool,
    status: Status,
    now: i64,
) -> Result<std::result::Result<StoredComment, Refusal>> {
    tx.prepare_cached(
        "INSERT INTO threads (key, url, created_at, site) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (site, key) DO NOTHING",
    )?
    .execute(params![new.thread, new.page_url, now, new.site])?;
    let thread_id: i64 = tx
        .prepare_cached("SELECT id FROM threads WHERE site = ?2 AND key = ?1")?
        .query_row([&new.thread, &new.site], |r| r.get(0))?;
    if !new.page_title.is_empty() {
        tx.prepare_cached("UPDATE threads SET title = ?2 WHERE id = ?1 AND title <> ?2")?
            .execute(params![thread_id, new.page_title])?;
    }
    if let Some(parent) = new.parent {
        let found: Option<(i64, String)> = tx
            .prepare_cached("SELECT thread_id, status FROM comments WHERE id = ?1")?
            .query_row([parent], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let refusal = match found {
            None => Some(Refusal::ParentMissing(parent)),
            Some((t, _)) if t != thread_id => Some(Refusal::ParentInOtherThread(parent)),
            Some((_, s)) if s != "approved" => Some(Refusal::ParentNotPublished(parent)),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            return Ok(Err(refusal));
        }
    }
    tx.prepare_cached(
        "INSERT INTO comments (thread_id, parent_id, status, author, email, website, text,
                               page_url, remote_addr, created_at, approved_at, html,
                               html_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        thread_id,
        new.parent,
        status.as_str(),
        new.author,
        new.email,
        new.website,
        new.text,
        new.page_url,
        new.remote_addr,
        now,
        (status == Status::Approved).then_some(now),
        html,
        markdown::VERSION,
    ])?;
    let id = tx.last_insert_rowid();
    // Only for a signed-in author, in the same transaction: the statement
    // every other comment runs stays the one older schemas take too.
    if let Some(subject) = &new.identity_subject {
        tx.prepare_cached("UPDATE comments SET identity_subject = ?2 WHERE id = ?1")?
            .execute(params![id, subject])?;
    }
    if status.is_published() {
        touch_thread(tx, thread_id, 1)?;
    }
    mail::after_insert(tx, mail_events, id, notify, status, now)?;
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
}

const SELECT_COMMENT: &str = "SELECT c.id, t.key, c.parent_id, c.status, c.author, c.email,
        c.website, c.text, c.page_url, c.remote_addr, c.created_at, t.title, t.site
     FROM comments c JOIN threads t ON t.id = c.thread_id";

/// A stored status name as a `Status`, or the conversion error rusqlite
/// reports for a column it cannot read.
pub(super) fn parse_status(s: &str) -> rusqlite::Result<Status> {
    Status::from_name(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown comment status {s:?}").into(),
        )
    })
}

fn row_to_comment(r: &rusqlite::Row) -> rusqlite::Result<StoredComment> {
    Ok(StoredComment {
        id: r.get(0)?,
        thread: r.get(1)?,
        parent: r.get(2)?,
        status: parse_status(r.get_ref(3)?.as_str()?)?,
        author: r.get(4)?,
        email: r.get(5)?,
        website: r.get(6)?,
        text: r.get(7)?,
        page_url: r.get(8)?,
        remote_addr: r.get(9)?,
        created_at: r.get(10)?,
        page_title: r.get(11)?,
        site: r.get(12)?,
    })
}

/// Marks a thread as changed (so bake re-renders it) and adjusts how many
/// comments it shows.
/// Deletes one comment: one with replies stays as a "deleted" marker with
/// everything its author wrote or gave removed, one without goes entirely.
/// Used by `delete` and by `forget`.
fn remove_comment(
    tx: &Transaction,
    id: i64,
    status: Status,
    thread_id: i64,
) -> rusqlite::Result<()> {
    let replies: i64 = tx.query_row(
        "SELECT count(*) FROM comments WHERE parent_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if replies > 0 {
        tx.execute(
            "UPDATE comments SET status = 'deleted', author = '', email = NULL,
                    website = NULL, text = '', remote_addr = NULL, html = NULL,
                    identity_subject = NULL
             WHERE id = ?1",
            [id],
        )?;
        // A marker shows no likes; removing the comment below cascades.
        tx.execute("DELETE FROM reactions WHERE comment_id = ?1", [id])?;
        let delta = if status.is_published() { 0 } else { 1 };
        touch_thread(tx, thread_id, delta)
    } else {
        tx.execute("DELETE FROM comments WHERE id = ?1", [id])?;
        if status.is_published() {
            touch_thread(tx, thread_id, -1)?;
        }
        Ok(())
    }
}

pub(super) fn touch_thread(
    tx: &Connection,
    thread_id: i64,
    published_delta: i64,
) -> rusqlite::Result<()> {
    // Cached: every published submission runs these, on the one writer.
    tx.prepare_cached("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'seq'")?
        .execute([])?;
    tx.prepare_cached(
        "UPDATE threads SET
             changed_seq = (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq'),
             published_count = published_count + ?2
         WHERE id = ?1",
    )?
    .execute(params![thread_id, published_delta])?;
    Ok(())
}

#[cfg(test)]
mod tests;
