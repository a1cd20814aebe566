//! `kiln backup` and `kiln restore` on the SQLite side: SQLite's online
//! backup API copies a live database page by page into a new file, and the
//! file a backup leaves is checked and made self-contained here.
//!
//! The copy goes a few megabytes a step, every step inside one read
//! transaction on the source, so the file receives one state of the
//! database however long the copy takes (SQLite would otherwise start the
//! copy again whenever another connection wrote between two steps, and a
//! busy receiver could keep it from ever finishing). The receiver keeps its
//! database in WAL mode, where a reader never blocks a writer: posts go on
//! during the copy, and only the checkpointer waits for it, so the `-wal`
//! file grows for that long. In the same read transaction the source's
//! rows are then counted and hashed as `kiln store copy` does, for the
//! caller to compare with what the file holds.

use std::os::raw::c_int;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{is_database, BUSY_TIMEOUT, MIGRATIONS};
use crate::store::copy::{Summary, Tally};

/// The schema version this kiln writes and reads: `PRAGMA user_version`.
pub(in crate::store) const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// What a copy read, for the report and the checks.
#[derive(Debug, Clone)]
pub(in crate::store) struct Copied {
    /// Calls to `sqlite3_backup_step`.
    pub steps: u32,
    /// The source's schema version.
    pub schema_version: usize,
    /// The source's rows, counted and hashed in the snapshot the copy
    /// read; `None` when its schema is not this kiln's (then this kiln
    /// cannot read the rows).
    pub tally: Option<Tally>,
}

/// Copies the database at `source` into `dest` (an empty file, made by the
/// caller with the permissions it wants), `pages_per_step` pages at a
/// time, while other connections go on writing to `source`.
pub(in crate::store) fn online_copy(
    source: &Path,
    dest: &Path,
    pages_per_step: c_int,
) -> Result<Copied> {
    online_copy_between(source, dest, pages_per_step, &mut || Ok(()))
}

/// `online_copy`, calling `between` after every step that leaves more to
/// copy (the tests write there).
fn online_copy_between(
    source: &Path,
    dest: &Path,
    pages_per_step: c_int,
    between: &mut dyn FnMut() -> Result<()>,
) -> Result<Copied> {
    if !source.is_file() {
        bail!("there is no database at {}", source.display());
    }
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open database {}", source.display()))?;
    src.busy_timeout(BUSY_TIMEOUT)?;
    // The snapshot every step and the tally read: a read transaction,
    // begun by the first read after BEGIN.
    src.execute_batch("BEGIN")?;
    let schema_version: usize = src
        .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .and_then(|()| src.pragma_query_value(None, "user_version", |r| r.get(0)))
        .with_context(|| format!("cannot read database {}", source.display()))?;
    let mut dst =
        Connection::open(dest).with_context(|| format!("cannot open {}", dest.display()))?;
    let mut steps = 0;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let mut busy_since: Option<Instant> = None;
        loop {
            let step = backup
                .step(pages_per_step)
                .with_context(|| format!("cannot copy {}", source.display()))?;
            steps += 1;
            match step {
                StepResult::Done => break,
                StepResult::More => {
                    busy_since = None;
                    between()?;
                }
                // Another connection holds a lock the step needs (recovering
                // the WAL after a crash, say): wait as the busy timeout would.
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
    }
    let tally = if schema_version == SCHEMA_VERSION {
        let mut summary = Summary::default();
        super::copy::read_all(&src, &mut |row| {
            summary.add(&row);
            Ok(())
        })
        .with_context(|| format!("cannot count the rows of {}", source.display()))?;
        Some(summary.finish())
    } else {
        None
    };
    src.execute_batch("COMMIT")?;
    Ok(Copied {
        steps,
        schema_version,
        tally,
    })
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
        NewComment::sample(
            "/t/",
            "Writer",
            &format!("comment {n}: {}", "words ".repeat(100)),
        )
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM comments", [], |r| r.get(0))
            .unwrap()
    }

    /// Writes between steps go on, and the copy holds the database as it
    /// was when the copy began, page for page and row for row.
    #[test]
    fn writes_between_steps_wait_for_the_next_backup() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("kiln.sqlite3");
        let mut store = super::super::SqliteStore::open(&source).unwrap();
        for n in 0..40 {
            store
                .insert(&comment(n), Status::Approved, 1)
                .unwrap()
                .unwrap();
        }
        let before = crate::store::copy::tally(&mut store).unwrap();
        let mut writer = super::super::SqliteStore::open(&source).unwrap();
        let dest = dir.path().join("backup.sqlite3");
        let mut written = 0;
        let copied = online_copy_between(&source, &dest, 2, &mut || {
            written += 1;
            writer
                .insert(&comment(100 + written), Status::Approved, 2)?
                .unwrap();
            Ok(())
        })
        .unwrap();
        assert!(copied.steps > 10, "{copied:?}");
        assert_eq!(
            written + 1,
            copied.steps as usize,
            "a write after every step but the last"
        );
        assert_eq!(
            copied.tally.as_ref(),
            Some(&before),
            "the rows when the copy began"
        );
        finish_file(&dest).unwrap();
        assert_eq!(count(&dest), 40);
        assert_eq!(count(&source), 40 + written as i64);
        let mut file = super::super::SqliteStore::open_read_only(&dest).unwrap();
        assert_eq!(crate::store::copy::tally(&mut file).unwrap(), before);
    }
}
