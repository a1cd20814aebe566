//! Bringing a PostgreSQL database's schema up to date, once, however many
//! receivers start at the same moment. SQLite counts its migrations in
//! `PRAGMA user_version`; here a `kiln_migrations` table records each
//! applied file with its checksum and the oldest schema its code still
//! works with (`compatible_from`, from the file's first line), so that an
//! edited migration is caught and an older kiln can keep running on a newer
//! but compatible schema during a rolling restart.
//!
//! The whole check-and-apply runs under a session advisory lock: the other
//! receivers wait on it, then find nothing left to do. Each migration is one
//! transaction, so a failure leaves the schema at the previous version;
//! except one whose header says `-- transaction: no`, for the statements
//! PostgreSQL refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, a
//! `DO` block that commits between batches). Such a file holds exactly one
//! statement: the server runs several statements sent at once as one
//! transaction, which is what the header asks to avoid.
//!
//! Debug builds also apply the files of the directory that
//! `KILN_TEST_EXTRA_MIGRATIONS` names, after the embedded ones: the rolling
//! restart test (tests/suite/rolling.rs) upgrades a running cluster with them,
//! as a new release would. Release builds ignore the variable.

use std::borrow::Cow;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::connect::Connection;
use crate::store::random_hex;

/// The first key of every advisory lock kiln takes: "kiln" read as a number,
/// so kiln's locks cannot be mistaken for another application's.
pub const LOCK_CLASS: i32 = 1_802_071_150;
/// The second key: what is locked.
const MIGRATION_LOCK: i32 = 0;

/// One migration file: embedded, or in debug builds one of the test's.
#[derive(Clone, Debug)]
struct Migration {
    version: i32,
    name: Cow<'static, str>,
    sql: Cow<'static, str>,
}

/// The schema, in order; `version` is the position, from 1. Never edit or
/// renumber an entry once released: databases record their checksums.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: Cow::Borrowed("0001_initial"),
        sql: Cow::Borrowed(include_str!("migrations/0001_initial.sql")),
    },
    Migration {
        version: 2,
        name: Cow::Borrowed("0002_outbox_claims"),
        sql: Cow::Borrowed(include_str!("migrations/0002_outbox_claims.sql")),
    },
    Migration {
        version: 3,
        name: Cow::Borrowed("0003_imported"),
        sql: Cow::Borrowed(include_str!("migrations/0003_imported.sql")),
    },
    Migration {
        version: 4,
        name: Cow::Borrowed("0004_coordination"),
        sql: Cow::Borrowed(include_str!("migrations/0004_coordination.sql")),
    },
    Migration {
        version: 5,
        name: Cow::Borrowed("0005_admit"),
        sql: Cow::Borrowed(include_str!("migrations/0005_admit.sql")),
    },
    Migration {
        version: 6,
        name: Cow::Borrowed("0006_reactions"),
        sql: Cow::Borrowed(include_str!("migrations/0006_reactions.sql")),
    },
    Migration {
        version: 7,
        name: Cow::Borrowed("0007_identity"),
        sql: Cow::Borrowed(include_str!("migrations/0007_identity.sql")),
    },
    Migration {
        version: 8,
        name: Cow::Borrowed("0008_sites"),
        sql: Cow::Borrowed(include_str!("migrations/0008_sites.sql")),
    },
    Migration {
        version: 9,
        name: Cow::Borrowed("0009_moderators"),
        sql: Cow::Borrowed(include_str!("migrations/0009_moderators.sql")),
    },
];

impl Migration {
    fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether the file runs in a transaction: yes, unless a header line
    /// (one of the comment lines it starts with) says `-- transaction: no`.
    fn transactional(&self) -> Result<bool> {
        let headers = self.sql.lines().take_while(|line| line.starts_with("--"));
        for line in headers {
            let Some(value) = line.strip_prefix("-- transaction:") else {
                continue;
            };
            return match value.trim() {
                "yes" => Ok(true),
                "no" => Ok(false),
                other => bail!(
                    "migration {}: `-- transaction: {other}` must say `yes` or `no`",
                    self.name
                ),
            };
        }
        Ok(true)
    }

    /// The version named on the file's `-- compatible_from: N` first line.
    fn compatible_from(&self) -> Result<i32> {
        self.sql
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("-- compatible_from:"))
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| {
                format!(
                    "migration {} does not start with `-- compatible_from: N`",
                    self.name
                )
            })
    }
}

/// What a database has applied.
struct Applied {
    version: i32,
    name: String,
    checksum: String,
    compatible_from: i32,
}

/// Applies every pending migration to the database behind `conn`, under the
/// migration lock. `described` names the database in errors.
pub fn migrate(conn: &mut Connection, described: &str) -> Result<()> {
    conn.execute(
        "SELECT pg_advisory_lock($1, $2)",
        &[&LOCK_CLASS, &MIGRATION_LOCK],
    )
    .with_context(|| format!("cannot take the migration lock in {described}"))?;
    let applied = this_kiln().and_then(|known| apply_pending(conn, described, &known));
    // Released after a failure too, so that another receiver can try. Had
    // the connection died, the server would have released it already.
    let released = conn.execute(
        "SELECT pg_advisory_unlock($1, $2)",
        &[&LOCK_CLASS, &MIGRATION_LOCK],
    );
    applied?;
    released.with_context(|| format!("cannot release the migration lock in {described}"))?;
    Ok(())
}

/// Checks, without changing anything, that this kiln can use the schema of
/// the database behind `conn`: for read-only opens, which must not migrate.
pub fn check(conn: &mut Connection, described: &str) -> Result<()> {
    let exists: bool = conn
        .query_one("SELECT to_regclass('kiln_migrations') IS NOT NULL", &[])
        .with_context(|| format!("cannot read the schema of {described}"))?
        .get(0);
    if !exists {
        bail!("{described} holds no kiln schema yet; `kiln serve` creates it");
    }
    let newest = conn
        .query_opt(
            "SELECT version, compatible_from FROM kiln_migrations ORDER BY version DESC LIMIT 1",
            &[],
        )
        .with_context(|| format!("cannot read kiln_migrations in {described}"))?;
    let latest = this_kiln()?.len() as i32;
    let (version, compatible_from): (i32, i32) = match newest {
        Some(row) => (row.get(0), row.get(1)),
        None => (0, 0),
    };
    if version < latest {
        bail!("the schema of {described} is at version {version}, older than this kiln's {latest}; run `kiln serve` once to migrate it");
    }
    if compatible_from > latest {
        return Err(too_new(described, version, compatible_from, latest));
    }
    Ok(())
}

/// Why this kiln refuses a database whose newest migration needs a newer
/// one: a contract migration raised `compatible_from` past what it knows.
fn too_new(described: &str, version: i32, needs: i32, latest: i32) -> anyhow::Error {
    anyhow::anyhow!(
        "the schema of {described} (database.url) is at version {version}, which only kiln with schema version {needs} or later can use; this kiln knows up to version {latest}, so upgrade it (or point database.url at another database)"
    )
}

/// The schema version this kiln's embedded migrations bring a database to.
#[cfg(test)]
pub fn latest() -> i32 {
    MIGRATIONS.len() as i32
}

/// The migrations this kiln applies: the embedded ones, and in a debug
/// build the test's extra ones (see the module header).
fn this_kiln() -> Result<Vec<Migration>> {
    let embedded = MIGRATIONS.to_vec();
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os(EXTRA_VAR) {
        let after = embedded.len();
        return Ok([embedded, extra(std::path::Path::new(&dir), after)?].concat());
    }
    Ok(embedded)
}

/// The variable naming a directory of extra migrations, in debug builds.
#[cfg(debug_assertions)]
const EXTRA_VAR: &str = "KILN_TEST_EXTRA_MIGRATIONS";

/// The `.sql` files of `dir` in name order, numbered on from `after`
/// migrations; each name must start with its number (`0005_…`).
#[cfg(debug_assertions)]
fn extra(dir: &std::path::Path, after: usize) -> Result<Vec<Migration>> {
    let listed = std::fs::read_dir(dir)
        .with_context(|| format!("{EXTRA_VAR}: cannot read {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in listed {
        let path = entry
            .with_context(|| format!("{EXTRA_VAR}: cannot read {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort();
    files
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let version = (after + i + 1) as i32;
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            if !name.starts_with(&format!("{version:04}_")) {
                bail!(
                    "{EXTRA_VAR}: {} must be named {version:04}_…sql, the next migration after this kiln's",
                    path.display()
                );
            }
            let sql = std::fs::read_to_string(path)
                .with_context(|| format!("{EXTRA_VAR}: cannot read {}", path.display()))?;
            Ok(Migration {
                version,
                name: name.into(),
                sql: sql.into(),
            })
        })
        .collect()
}

/// Applies what `migrations` (this kiln's, or in tests the first few of
/// them) has beyond what the database applied.
fn apply_pending(conn: &mut Connection, described: &str, migrations: &[Migration]) -> Result<()> {
    // Asked first, so that every start does not log the server's notice
    // that the table exists already.
    let exists: bool = conn
        .query_one("SELECT to_regclass('kiln_migrations') IS NOT NULL", &[])
        .with_context(|| format!("cannot read the schema of {described}"))?
        .get(0);
    if !exists {
        conn.batch_execute(
            "CREATE TABLE IF NOT EXISTS kiln_migrations (
             version         integer PRIMARY KEY,
             name            text NOT NULL,
             checksum        text NOT NULL,
             compatible_from integer NOT NULL,
             applied_at      bigint NOT NULL
         )",
        )
        .with_context(|| format!("cannot create kiln_migrations in {described}"))?;
    }
    let applied: Vec<Applied> = conn
        .query(
            "SELECT version, name, checksum, compatible_from FROM kiln_migrations ORDER BY version",
            &[],
        )
        .with_context(|| format!("cannot read kiln_migrations in {described}"))?
        .iter()
        .map(|row| Applied {
            version: row.get(0),
            name: row.get(1),
            checksum: row.get(2),
            compatible_from: row.get(3),
        })
        .collect();

    for done in &applied {
        let Some(known) = migrations.iter().find(|m| m.version == done.version) else {
            continue;
        };
        if known.checksum() != done.checksum {
            bail!(
                "migration {} ({}) applied to {described} differs from the one this kiln has; a released migration must never change",
                done.version,
                done.name
            );
        }
    }
    let latest = migrations.len() as i32;
    if let Some(newest) = applied.last().filter(|a| a.version > latest) {
        if newest.compatible_from > latest {
            return Err(too_new(
                described,
                newest.version,
                newest.compatible_from,
                latest,
            ));
        }
        // A newer kiln migrated, and says that this one's code still works.
        return Ok(());
    }

    let current = applied.last().map_or(0, |a| a.version);
    for migration in migrations.iter().filter(|m| m.version > current) {
        apply(conn, migration)
            .with_context(|| format!("migration {} failed in {described}", migration.name))?;
    }
    Ok(())
}

fn apply(conn: &mut Connection, migration: &Migration) -> Result<()> {
    let compatible_from = migration.compatible_from()?;
    if !migration.transactional()? {
        return apply_alone(conn, migration, compatible_from);
    }
    let mut tx = conn.transaction()?;
    // A schema change waiting behind a long reader would hold every request
    // behind it; give up instead, and let the next start try again.
    tx.batch_execute("SET LOCAL lock_timeout = '5s'")?;
    tx.batch_execute(&migration.sql)?;
    if migration.version == 1 {
        // SQLite's first migration makes these in SQL; PostgreSQL would need
        // pgcrypto for random bytes, so they come from Rust.
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('instance', $1), ('avatar_salt', $2)",
            &[&random_hex(16), &random_hex(32)],
        )?;
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    tx.execute(
        "INSERT INTO kiln_migrations (version, name, checksum, compatible_from, applied_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &migration.version,
            &migration.name.as_ref(),
            &migration.checksum(),
            &compatible_from,
            &now,
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Applies a `-- transaction: no` migration: its one statement on its own,
/// then the record of it. A failure in between leaves the statement's
/// effect without the record, so such a statement must be safe to run
/// again (`IF NOT EXISTS`, a backfill that skips what is done).
fn apply_alone(conn: &mut Connection, migration: &Migration, compatible_from: i32) -> Result<()> {
    conn.batch_execute("SET lock_timeout = '5s'")?;
    let ran = conn.batch_execute(&migration.sql);
    let reset = conn.batch_execute("RESET lock_timeout");
    ran?;
    reset?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    conn.execute(
        "INSERT INTO kiln_migrations (version, name, checksum, compatible_from, applied_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &migration.version,
            &migration.name.as_ref(),
            &migration.checksum(),
            &compatible_from,
            &now,
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::scratch::scratch_db;
    use crate::store::postgres::PgStore;

    #[test]
    fn the_claim_columns_come_to_a_database_that_has_mail_waiting() {
        let Some(db) = scratch_db() else { return };
        let mut conn = db.target.connect().unwrap();
        // As the first PostgreSQL kiln left it, with a message queued.
        apply_pending(&mut conn, "test", &MIGRATIONS[..1]).unwrap();
        conn.batch_execute(
            "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             VALUES ('confirm', 7, 'ann@example.org', 1, 1)",
        )
        .unwrap();
        migrate(&mut conn, "test").unwrap();
        let versions: Vec<i32> = conn
            .query("SELECT version FROM kiln_migrations ORDER BY version", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, (1..=latest()).collect::<Vec<_>>());
        let mut store = PgStore::open(&db.target).unwrap();
        let claimed = store.claim_mail(5, 10, "after", 10).unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|i| (i.comment_id, i.recipient.as_deref()))
                .collect::<Vec<_>>(),
            [(7, Some("ann@example.org"))]
        );
    }

    #[test]
    fn the_sites_migration_puts_existing_threads_in_the_default_site() {
        let Some(db) = scratch_db() else { return };
        let mut conn = db.target.connect().unwrap();
        let sites = MIGRATIONS
            .iter()
            .position(|m| m.name.ends_with("_sites"))
            .expect("the sites migration");
        // As the kiln before sites left it.
        apply_pending(&mut conn, "test", &MIGRATIONS[..sites]).unwrap();
        conn.batch_execute(
            "INSERT INTO threads (id, key, url, created_at, title)
                 VALUES (5, '/about/', 'https://a.example/about/', 1, 'About');
             INSERT INTO comments (id, thread_id, status, author, text, page_url, created_at)
                 VALUES (8, 5, 'approved', 'Ann', 'First', 'https://a.example/about/', 1);",
        )
        .unwrap();
        migrate(&mut conn, "test").unwrap();
        let site: String = conn
            .query_one("SELECT site FROM threads WHERE id = 5", &[])
            .unwrap()
            .get(0);
        assert_eq!(site, "default");
        let mut store = PgStore::open(&db.target).unwrap();
        let ann = store.get(8).unwrap().unwrap();
        assert_eq!(
            (ann.site.as_str(), ann.page_title.as_str()),
            ("default", "About")
        );
        let mut other = crate::store::NewComment {
            site: "b".into(),
            page_url: "https://b.example/about/".into(),
            ..crate::store::NewComment::sample("/about/", "Cy", "On B")
        };
        let b = store
            .insert_opted(&other, false, crate::store::Status::Approved, 2)
            .unwrap()
            .unwrap();
        other.site = "default".into();
        let a = store
            .insert_opted(&other, false, crate::store::Status::Approved, 3)
            .unwrap()
            .unwrap();
        let threads: i64 = conn
            .query_one("SELECT count(*) FROM threads WHERE key = '/about/'", &[])
            .unwrap()
            .get(0);
        assert_eq!(threads, 2, "{b:?} {a:?}");
    }

    /// The embedded migrations and one more with this SQL.
    fn and_one_more(sql: &str) -> Vec<Migration> {
        let mut all = MIGRATIONS.to_vec();
        let version = latest() + 1;
        all.push(Migration {
            version,
            name: format!("{version:04}_more").into(),
            sql: sql.to_owned().into(),
        });
        all
    }

    #[test]
    fn a_migration_outside_a_transaction_builds_an_index_concurrently_once() {
        let Some(db) = scratch_db() else { return };
        let mut conn = db.target.connect().unwrap();
        let index = "CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_author ON comments (author)";
        // Inside a transaction PostgreSQL refuses it, and nothing is recorded.
        let refused = and_one_more(&format!("-- compatible_from: 1\n{index}"));
        let err = apply_pending(&mut conn, "test", &refused).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot run inside a transaction block"),
            "{err:#}"
        );
        let recorded = |conn: &mut Connection| -> i64 {
            conn.query_one(
                "SELECT count(*) FROM kiln_migrations WHERE version = $1",
                &[&(latest() + 1)],
            )
            .unwrap()
            .get(0)
        };
        assert_eq!(recorded(&mut conn), 0);

        let alone = and_one_more(&format!(
            "-- compatible_from: 1\n-- transaction: no\n{index}"
        ));
        apply_pending(&mut conn, "test", &alone).unwrap();
        let valid: bool = conn
            .query_one(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'comments_author'::regclass",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(valid, "the index was built and is usable");
        assert_eq!(recorded(&mut conn), 1);
        // Applied once: a second start finds nothing to do.
        apply_pending(&mut conn, "test", &alone).unwrap();
        assert_eq!(recorded(&mut conn), 1);
    }

    #[test]
    fn a_transaction_header_says_yes_or_no() {
        let unclear = and_one_more("-- compatible_from: 1\n-- transaction: maybe\nSELECT 1");
        let err = unclear.last().unwrap().transactional().unwrap_err();
        assert!(
            format!("{err}").contains("`-- transaction: maybe` must say `yes` or `no`"),
            "{err}"
        );
        let plain = and_one_more("-- compatible_from: 1\nSELECT 1 -- transaction: no");
        assert!(plain.last().unwrap().transactional().unwrap());
    }

    #[test]
    #[cfg(debug_assertions)]
    fn extra_migrations_are_numbered_on_from_this_kilns() {
        let dir = tempfile::tempdir().unwrap();
        let next = latest() + 1;
        let write = |name: &str| {
            std::fs::write(dir.path().join(name), "-- compatible_from: 1\nSELECT 1").unwrap()
        };
        write(&format!("{next:04}_first.sql"));
        write(&format!("{:04}_second.sql", next + 1));
        write("notes.txt");
        let found = extra(dir.path(), MIGRATIONS.len()).unwrap();
        let found: Vec<(i32, &str)> = found.iter().map(|m| (m.version, m.name.as_ref())).collect();
        let (first, second) = (
            format!("{next:04}_first"),
            format!("{:04}_second", next + 1),
        );
        assert_eq!(found, [(next, first.as_str()), (next + 1, second.as_str())]);

        // A gap in the numbers is refused, naming the file.
        std::fs::remove_file(dir.path().join(format!("{next:04}_first.sql"))).unwrap();
        let err = extra(dir.path(), MIGRATIONS.len()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "{:04}_second.sql must be named {next:04}_",
                next + 1
            )),
            "{err}"
        );
    }

    #[test]
    fn every_migration_is_numbered_in_order_and_names_its_compatibility() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version)),
                "{}",
                migration.name
            );
            let from = migration.compatible_from().unwrap();
            assert!(
                (1..=migration.version).contains(&from),
                "{}",
                migration.name
            );
        }
    }
}
