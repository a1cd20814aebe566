//! `kiln backup` and `kiln restore` on the SQLite side: SQLite's online
//! backup API copies a live database page by page into a new file, and the
//! file a backup leaves is checked and made self-contained here.
//!
//! The receiver keeps its database in WAL mode, where a reader never blocks
//! a writer, so no step of the copy holds up a post; a step only keeps the
//! checkpointer from going past the pages it reads. The copy goes in steps
//! all the same, so a large database is read a few megabytes at a time. A
//! write by another connection between two steps makes SQLite start the
//! copy again from the first page (that is how the result stays one
//! consistent state of the file); after a few such restarts the rest is
//! copied in one step, which no writer can interrupt, so a busy receiver
//! cannot keep a backup from finishing.

use std::os::raw::c_int;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{is_database, BUSY_TIMEOUT, MIGRATIONS};

/// The schema version this kiln writes and reads: `PRAGMA user_version`.
pub(in crate::store) const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Restarts after which the rest of a copy goes in one step.
const RESTARTS_BEFORE_ONE_STEP: u32 = 3;

/// How a copy went, for the report and the tests.
#[derive(Debug, Default, Clone, Copy)]
pub(in crate::store) struct Stepped {
    /// Calls to `sqlite3_backup_step`.
    pub steps: u32,
    /// Times a write by another connection made the copy start again.
    pub restarts: u32,
    /// The source's size in pages at the end.
    pub pages: u32,
}

/// Copies the database at `source` into `dest` (an empty file, made by the
/// caller with the permissions it wants), `pages_per_step` pages at a
/// time, while other connections go on writing to `source`.
pub(in crate::store) fn online_copy(
    source: &Path,
    dest: &Path,
    pages_per_step: c_int,
) -> Result<Stepped> {
    online_copy_between(source, dest, pages_per_step, &mut || Ok(()))
}

/// `online_copy`, calling `between` after every step that leaves more to
/// copy (the tests write there).
fn online_copy_between(
    source: &Path,
    dest: &Path,
    pages_per_step: c_int,
    between: &mut dyn FnMut() -> Result<()>,
) -> Result<Stepped> {
    if !source.is_file() {
        bail!("there is no database at {}", source.display());
    }
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open database {}", source.display()))?;
    src.busy_timeout(BUSY_TIMEOUT)?;
    let mut dst =
        Connection::open(dest).with_context(|| format!("cannot open {}", dest.display()))?;
    let mut stepped = Stepped::default();
    let backup = Backup::new(&src, &mut dst)?;
    let mut pages = pages_per_step;
    let mut last_remaining: Option<c_int> = None;
    let mut busy_since: Option<Instant> = None;
    loop {
        let step = backup
            .step(pages)
            .with_context(|| format!("cannot copy {}", source.display()))?;
        stepped.steps += 1;
        match step {
            StepResult::Done => break,
            StepResult::More => {
                busy_since = None;
                let remaining = backup.progress().remaining;
                // A step that leaves as much to do as the one before started
                // again from the first page.
                if last_remaining.is_some_and(|last| remaining >= last) {
                    stepped.restarts += 1;
                    if stepped.restarts >= RESTARTS_BEFORE_ONE_STEP {
                        pages = -1;
                    }
                }
                last_remaining = Some(remaining);
                between()?;
            }
            // Another connection holds a lock the step needs (recovering the
            // WAL after a crash, say): wait as the busy timeout would.
            _ => {
                let since = *busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > BUSY_TIMEOUT {
                    bail!(
                        "{} stayed locked for {} s; try again",
                        source.display(),
                        BUSY_TIMEOUT.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    stepped.pages = u32::try_from(backup.progress().pagecount).unwrap_or(0);
    Ok(stepped)
}

/// Makes the backup at `path` one self-contained file (rollback journal, not
/// WAL, so no `-wal` file is needed beside it) and checks every page with
/// `PRAGMA integrity_check` and every reference with `foreign_key_check`.
pub(in crate::store) fn finish_file(path: &Path) -> Result<()> {
    let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        bail!("cannot leave WAL mode in {} (still {mode})", path.display());
    }
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if problems != ["ok"] {
        bail!(
            "the backup {} fails SQLite's integrity check: {}",
            path.display(),
            problems.join("; ")
        );
    }
    let dangling: Option<String> = conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |r| r.get(0))?
        .next()
        .transpose()?;
    if let Some(table) = dangling {
        bail!(
            "the backup {} has a {table} row that refers to a missing row",
            path.display()
        );
    }
    Ok(())
}

/// The schema version of the kiln database in the file at `path`, read
/// without writing to it; an error that says so for any other file.
pub(in crate::store) fn schema_version(path: &Path) -> Result<usize> {
    let not_kiln = || format!("{} is not a kiln backup", path.display());
    let mut head = Vec::with_capacity(16);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
            16,
        ),
        &mut head,
    )
    .with_context(|| format!("cannot read {}", path.display()))?;
    if !is_database(&head) {
        bail!("{}: it is not an SQLite database", not_kiln());
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(not_kiln)?;
    let version: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(not_kiln)?;
    let has_instance: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
            [],
            |r| r.get(0),
        )
        .with_context(not_kiln)?;
    if version == 0 || !has_instance {
        bail!("{}: it holds no kiln schema", not_kiln());
    }
    Ok(version)
}

/// Applies this kiln's migrations to the (scratch) database at `path`.
pub(in crate::store) fn migrate(path: &Path) -> Result<()> {
    super::SqliteStore::open(path).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewComment, Status, Store};

    fn comment(n: usize) -> NewComment {
        NewComment {
            thread: "/t/".into(),
            page_url: "https://example.org/t/".into(),
            page_title: String::new(),
            parent: None,
            author: "Writer".into(),
            email: None,
            website: None,
            text: format!("comment {n}: {}", "words ".repeat(100)),
            remote_addr: None,
        }
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM comments", [], |r| r.get(0))
            .unwrap()
    }

    /// Writes between steps make the copy start again; after a few restarts
    /// the rest goes in one step, which nothing interrupts, and the copy
    /// holds every write made before it.
    #[test]
    fn writes_between_steps_restart_the_copy_until_it_goes_in_one() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("kiln.sqlite3");
        let mut store = super::super::SqliteStore::open(&source).unwrap();
        for n in 0..40 {
            store
                .insert(&comment(n), Status::Approved, 1)
                .unwrap()
                .unwrap();
        }
        let mut writer = super::super::SqliteStore::open(&source).unwrap();
        let dest = dir.path().join("backup.sqlite3");
        let mut written = 0;
        let stepped = online_copy_between(&source, &dest, 2, &mut || {
            written += 1;
            writer
                .insert(&comment(100 + written), Status::Approved, 2)?
                .unwrap();
            Ok(())
        })
        .unwrap();
        assert!(
            stepped.restarts >= RESTARTS_BEFORE_ONE_STEP,
            "{stepped:?} after {written} writes"
        );
        finish_file(&dest).unwrap();
        assert_eq!(count(&dest), count(&source));
        assert_eq!(count(&dest), 40 + written as i64);

        // Without writes, the same copy goes page by page to the end.
        let quiet = dir.path().join("quiet.sqlite3");
        let stepped = online_copy(&source, &quiet, 2).unwrap();
        assert_eq!(stepped.restarts, 0);
        assert!(
            stepped.steps as usize >= stepped.pages as usize / 2,
            "{stepped:?}"
        );
    }
}
