//! `kiln backup` and `kiln restore`: a consistent copy of a live database
//! in one file, and that file brought back into a database.
//!
//! A backup is always an SQLite file with kiln's schema, whichever backend
//! it came from, so one format restores into either backend and needs no
//! `pg_dump` of the server's version. From SQLite it is SQLite's online
//! backup (`sqlite/backup.rs`), page for page from one read transaction,
//! receivers writing all the while. From PostgreSQL it is `kiln store copy`
//! into a new file, every table read in one REPEATABLE READ snapshot.
//! Either way the source's rows, counted and hashed in the snapshot the
//! copy read, are compared with what the file holds (row counts and SHA-256
//! per table, `copy.rs`).
//! Either way the file is written beside its final name with mode 0600 (it
//! holds e-mail addresses, the admin password's hash and the signing
//! secret), checked (`PRAGMA integrity_check`, every table read back), and
//! only then renamed into place, so a failed backup leaves no partial file
//! and an earlier backup of the same name as it was.
//!
//! Restoring is `kiln store copy` from the file (`open_backup`): the same
//! one-transaction, verified copy. A backup made by an older kiln is
//! migrated first, in a scratch copy, never in place; one made by a newer
//! kiln is refused, since this kiln cannot know what its tables mean.

use std::os::raw::c_int;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::copy::{self, Tally};
use super::postgres::Target;
use super::sqlite::backup as sqlite;
use super::sqlite::SqliteStore;
use super::{open_at, random_hex, Location, Mode};

/// Pages an SQLite backup copies per step: 4 MiB with SQLite's default
/// page size.
const PAGES_PER_STEP: c_int = 1024;

/// A backup refused because its file exists (and `force` was not given).
#[derive(Debug, thiserror::Error)]
#[error("{} already exists", .0.display())]
pub struct Exists(pub PathBuf);

/// A backup made by a newer kiln than this one.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} has schema version {found}, newer than this kiln's {known}; \
     restore it with the kiln that made it, or a newer one",
    path.display()
)]
pub struct Newer {
    pub path: PathBuf,
    pub found: usize,
    pub known: usize,
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Made {
    /// Every table's rows and checksum, read back from the file; `None`
    /// when the source's schema is not this kiln's (then this kiln cannot
    /// read the rows, and the file is checked page by page only).
    pub tally: Option<Tally>,
    /// Whether the tally was compared with the source's own, taken in the
    /// snapshot the copy read.
    pub checked_against_source: bool,
    /// The file's size.
    pub bytes: u64,
    /// The file's schema version (`PRAGMA user_version`).
    pub schema_version: usize,
    /// The steps SQLite's online backup took (SQLite only).
    pub steps: Option<u32>,
}

/// Writes a consistent copy of the database at `source` to `file`. An
/// existing `file` is refused (`Exists`) unless `force`, and replaced only
/// once the new backup is complete and checked.
pub fn backup(source: Location, file: &Path, force: bool) -> Result<Made> {
    backup_in_steps(source, file, force, PAGES_PER_STEP)
}

/// `backup`, with SQLite's copy taking `pages_per_step` pages at a time.
pub(crate) fn backup_in_steps(
    source: Location,
    file: &Path,
    force: bool,
    pages_per_step: c_int,
) -> Result<Made> {
    if Location::Sqlite(file).same_as(&source) {
        bail!(
            "{} is the database itself; name another file",
            file.display()
        );
    }
    if file.is_dir() {
        bail!("{} is a directory; name a file to write", file.display());
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            bail!("there is no directory {}; make it first", dir.display())
        }
        _ => {}
    }
    if file.exists() && !force {
        return Err(Exists(file.to_owned()).into());
    }
    let name = file
        .file_name()
        .with_context(|| format!("{} names no file", file.display()))?;
    let temp = file.with_file_name(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        random_hex(4)
    ));
    create_private(&temp)?;
    let made = write(source, &temp, pages_per_step).and_then(|made| {
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot flush {}", temp.display()))?;
        std::fs::rename(&temp, file)
            .with_context(|| format!("cannot rename {} to {}", temp.display(), file.display()))?;
        sync_dir(file);
        Ok(made)
    });
    let mut made = made.inspect_err(|_| remove_sqlite_files(&temp))?;
    made.bytes = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    Ok(made)
}

/// Copies `source` into the empty file `temp` and checks it.
fn write(source: Location, temp: &Path, pages_per_step: c_int) -> Result<Made> {
    match source {
        Location::Sqlite(path) => {
            let copied = sqlite::online_copy(path, temp, pages_per_step)?;
            sqlite::finish_file(temp)?;
            let tally = match copied.tally {
                Some(source) => {
                    let mut store = SqliteStore::open_read_only(temp)?;
                    let stored = copy::tally(&mut store)?;
                    let differences = source.differences(&stored);
                    if !differences.is_empty() {
                        bail!(
                            "the file does not hold what the database held (database against file): {}",
                            differences.join("; ")
                        );
                    }
                    Some(stored)
                }
                None => None,
            };
            Ok(Made {
                checked_against_source: tally.is_some(),
                tally,
                bytes: 0,
                schema_version: copied.schema_version,
                steps: Some(copied.steps),
            })
        }
        Location::Postgres { .. } => {
            let tally = {
                let mut from = open_at(source, Mode::ReadOnly)
                    .with_context(|| format!("cannot open {}", source.describe()))?;
                let mut to = open_at(Location::Sqlite(temp), Mode::ReadWrite)?;
                copy::copy(from.as_mut(), to.as_mut(), false)?
            };
            sqlite::finish_file(temp)?;
            Ok(Made {
                tally: Some(tally),
                checked_against_source: true,
                bytes: 0,
                schema_version: sqlite::schema_version(temp)?,
                steps: None,
            })
        }
    }
}

/// Creates an empty file only its owner can read.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// Makes a rename in `file`'s directory durable (best effort: a directory
/// that cannot be opened is not worth failing a finished backup for).
fn sync_dir(file: &Path) {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Removes an SQLite database and the journal files beside it.
pub fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the caller's own error is what the user needs to see.
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A backup ready to be copied from: the file itself, or a migrated
/// scratch copy of it (removed when this is dropped).
pub struct BackupSource {
    path: PathBuf,
    /// The scratch directory of a migrated copy.
    _scratch: Option<tempfile::TempDir>,
    /// The schema version the file was made at, when it was older than
    /// this kiln's and a copy was migrated.
    pub migrated_from: Option<usize>,
}

impl BackupSource {
    /// The database to copy from.
    pub fn location(&self) -> Location<'_> {
        Location::Sqlite(&self.path)
    }
}

/// Checks that `file` is a kiln backup this kiln can restore, and makes it
/// ready: an older schema is migrated in a scratch copy (the file is never
/// written), a newer one is refused (`Newer`).
pub fn open_backup(file: &Path) -> Result<BackupSource> {
    if !file.is_file() {
        bail!("there is no backup at {}", file.display());
    }
    let found = sqlite::schema_version(file)?;
    let known = sqlite::SCHEMA_VERSION;
    if found > known {
        return Err(Newer {
            path: file.to_owned(),
            found,
            known,
        }
        .into());
    }
    if found == known {
        return Ok(BackupSource {
            path: file.to_owned(),
            _scratch: None,
            migrated_from: None,
        });
    }
    // 0700, like every tempfile directory: the copy holds what the file does.
    let scratch = tempfile::Builder::new()
        .prefix("kiln-restore-")
        .tempdir()
        .context("cannot make a scratch directory to migrate the backup in")?;
    let path = scratch.path().join("backup.sqlite3");
    std::fs::copy(file, &path)
        .with_context(|| format!("cannot copy {} to migrate it", file.display()))?;
    sqlite::migrate(&path).with_context(|| {
        format!(
            "cannot migrate {} from schema version {found} to {known}",
            file.display()
        )
    })?;
    Ok(BackupSource {
        path,
        _scratch: Some(scratch),
        migrated_from: Some(found),
    })
}

/// How many kiln sessions besides the caller's are connected to the
/// database at `location`: receivers, or kiln commands. Known on
/// PostgreSQL only (`None` on SQLite, whose file does not say).
pub fn other_sessions(location: Location) -> Result<Option<u64>> {
    match location {
        Location::Sqlite(_) => Ok(None),
        Location::Postgres { url, password } => Ok(Some(
            super::postgres::backup::other_kiln_sessions(&Target::parse(url, password)?)?,
        )),
    }
}
