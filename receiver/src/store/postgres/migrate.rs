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
//! transaction, so a failure leaves the schema at the previous version.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::connect::Connection;
use crate::store::random_hex;

/// The first key of every advisory lock kiln takes: "kiln" read as a number,
/// so kiln's locks cannot be mistaken for another application's.
pub const LOCK_CLASS: i32 = 1_802_071_150;
/// The second key: what is locked.
const MIGRATION_LOCK: i32 = 0;

/// One embedded migration file.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// The schema, in order; `version` is the position, from 1. Never edit or
/// renumber an entry once released: databases record their checksums.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_outbox_claims",
        sql: include_str!("migrations/0002_outbox_claims.sql"),
    },
    Migration {
        version: 3,
        name: "0003_imported",
        sql: include_str!("migrations/0003_imported.sql"),
    },
    Migration {
        version: 4,
        name: "0004_coordination",
        sql: include_str!("migrations/0004_coordination.sql"),
    },
];

impl Migration {
    fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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
    let applied = apply_pending(conn, described, MIGRATIONS);
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
    let latest = latest();
    let (version, compatible_from): (i32, i32) = match newest {
        Some(row) => (row.get(0), row.get(1)),
        None => (0, 0),
    };
    if version < latest {
        bail!("the schema of {described} is at version {version}, older than this kiln's {latest}; run `kiln serve` once to migrate it");
    }
    if compatible_from > latest {
        bail!("the schema of {described} is at version {version}, which needs a newer kiln (this one knows up to version {latest}); upgrade kiln");
    }
    Ok(())
}

/// The schema version this kiln brings a database to.
pub fn latest() -> i32 {
    MIGRATIONS.len() as i32
}

/// Applies what `migrations` (this kiln's, or in tests the first few of
/// them) has beyond what the database applied.
fn apply_pending(conn: &mut Connection, described: &str, migrations: &[Migration]) -> Result<()> {
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
            bail!(
                "the schema of {described} is at version {}, which needs a newer kiln (this one knows up to version {latest}); upgrade kiln",
                newest.version
            );
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
    let mut tx = conn.transaction()?;
    // A schema change waiting behind a long reader would hold every request
    // behind it; give up instead, and let the next start try again.
    tx.batch_execute("SET LOCAL lock_timeout = '5s'")?;
    tx.batch_execute(migration.sql)?;
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
            &migration.name,
            &migration.checksum(),
            &compatible_from,
            &now,
        ],
    )?;
    tx.commit()?;
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
