//! `kiln backup FILE` and `kiln restore FILE`: the configured database to a
//! file and back, for operators (see docs/backup.md). The work is the
//! store's (`store::backup`, and `store copy` for restoring); this module
//! names the database without its password, turns refusals into what to do
//! about them, and prints what was copied.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Result};
use kiln_receiver::config::Config;
use kiln_receiver::store::backup::{self, Exists};
use kiln_receiver::store::Location;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::store_cmd::{copy_into, print_tally, Names};

pub fn backup(config: &Config, args: &BackupArgs) -> Result<()> {
    let source = crate::location(config);
    let started = Instant::now();
    let made = backup::backup(source, &args.file, args.force).map_err(|err| {
        if err.is::<Exists>() {
            err.context(
                "pass --force to replace it (the new backup takes its place only once it is complete), or name another file",
            )
        } else {
            err.context(format!(
                "cannot back up {} to {}; no backup was written",
                source.describe(),
                args.file.display()
            ))
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Backed up {} to {} in {seconds:.1} s: {} bytes, schema version {}.",
        source.describe(),
        args.file.display(),
        made.bytes,
        made.schema_version
    )?;
    if let Some(steps) = made.steps {
        writeln!(
            out,
            "SQLite's online backup took {steps} step(s), all from one snapshot."
        )?;
    }
    match &made.tally {
        Some(tally) => {
            print_tally(&mut out, tally)?;
            if made.checked_against_source {
                writeln!(out, "Verified: the file holds the same rows as the database's snapshot, table by table (row counts and SHA-256), and passes SQLite's integrity check.")?;
            } else {
                writeln!(out, "Verified: the file passes SQLite's integrity check and every table in it reads back.")?;
            }
        }
        None => writeln!(
            out,
            "The database's schema is not this kiln's, so its rows were not counted; the file passes SQLite's integrity check."
        )?,
    }
    writeln!(
        out,
        "The file holds e-mail and client addresses, the admin password's hash and the signing secret; it is readable by its owner only. Keep it that way."
    )?;
    Ok(())
}

pub fn restore(config: &Config, args: &RestoreArgs) -> Result<()> {
    let target = crate::location(config);
    let file = Location::Sqlite(&args.file);
    if file.same_as(&target) {
        bail!(
            "{} is the configured database itself; restore into another one (--db)",
            args.file.display()
        );
    }
    let source = backup::open_backup(&args.file)?;
    if let Some(others) = backup::other_sessions(target)? {
        if others > 0 {
            bail!(
                "{others} other kiln session(s) are connected to {} (receivers or kiln commands); \
                 stop them, restore, then start the receivers again: a receiver reads its keys when it starts \
                 and would go on with the old ones",
                target.describe()
            );
        }
    }
    let tally = copy_into(
        source.location(),
        target,
        args.force,
        &Names {
            from: format!("the backup {}", args.file.display()),
            to: target.describe(),
            replace: "pass --force to replace all of it with the backup",
        },
    )?;
    let mut out = std::io::stdout().lock();
    match source.migrated_from {
        Some(version) => writeln!(
            out,
            "Restored {} (made at schema version {version}, migrated on the way in) into {}:",
            args.file.display(),
            target.describe()
        )?,
        None => writeln!(
            out,
            "Restored {} into {}:",
            args.file.display(),
            target.describe()
        )?,
    }
    print_tally(&mut out, &tally)?;
    writeln!(
        out,
        "Verified: the database holds the same rows as the backup, table by table (row counts and SHA-256)."
    )?;
    writeln!(
        out,
        "Start the receivers again. The database has an instance id of its own, so the first `kiln bake` renders every page once."
    )?;
    Ok(())
}
