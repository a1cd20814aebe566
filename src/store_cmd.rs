//! `kiln store`: the database as a whole. `copy` moves a site between
//! databases (SQLite to PostgreSQL when it outgrows one machine, and back),
//! `migrate` brings a schema up to date before a rollout. The work is the
//! store's (`store::copy`); this module names the databases the way the
//! user did (`--from`, `--to`, never with a password) and prints what was
//! copied.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::store::copy::{self, NotEmpty};
use kiln_receiver::store::{self, Location, Mode};

use crate::cli::StoreCopyArgs;

pub fn copy(args: &StoreCopyArgs, password: &str) -> Result<()> {
    let from = Location::named(&args.from, password);
    let to = Location::named(&args.to, password);
    if from.same_as(&to) {
        bail!(
            "--from and --to name the same database ({}); copy into another one",
            to.describe()
        );
    }
    let mut source = store::open_at(from, Mode::ReadOnly)
        .with_context(|| format!("cannot open --from {}", from.describe()))?;
    // A file made by this copy goes again if the copy fails.
    let new_file = match to {
        Location::Sqlite(path) if !path.exists() => Some(path.to_owned()),
        _ => None,
    };
    let copied = match store::open_at(to, Mode::ReadWrite) {
        Ok(mut target) => copy::copy(source.as_mut(), target.as_mut(), args.replace).map_err(
            |err| {
                if err.is::<NotEmpty>() {
                    err.context(format!(
                        "--to {} already holds a site; pass --replace to replace all of it with what --from holds",
                        to.describe()
                    ))
                } else {
                    err.context(format!(
                        "cannot copy --from {} to --to {}",
                        from.describe(),
                        to.describe()
                    ))
                }
            },
        ),
        Err(err) => Err(err.context(format!("cannot open --to {}", to.describe()))),
    };
    // The target is closed by now, so a file the copy made can go.
    let tally = copied.inspect_err(|_| {
        if let Some(path) = &new_file {
            remove_sqlite_files(path);
        }
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Copied {} to {}:", from.describe(), to.describe())?;
    writeln!(out, "  {:<16} {:>9}  sha256", "table", "rows")?;
    for t in &tally.tables {
        writeln!(
            out,
            "  {:<16} {:>9}  {}…",
            t.table.name(),
            t.rows,
            &t.sha256[..16]
        )?;
    }
    writeln!(
        out,
        "Verified: the target holds the same rows as the source, table by table (row counts and SHA-256)."
    )?;
    writeln!(
        out,
        "The target has an instance id of its own, so the first `kiln bake` from it renders every page once (to the same bytes)."
    )?;
    Ok(())
}

/// Removes an SQLite database and the journal files beside it.
fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the copy's own error is what the user needs to see.
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

pub fn migrate(config: &Config) -> Result<()> {
    let db = &config.database;
    let location = Location::new(&db.path, &db.url, &db.password);
    if let Location::Sqlite(path) = location {
        if !path.is_file() {
            bail!(
                "there is no database at {}; pass --db PATH or set database.path (`kiln serve` creates it)",
                path.display()
            );
        }
    }
    store::open_at(location, Mode::ReadWrite)
        .with_context(|| format!("cannot migrate {}", location.describe()))?;
    println!("The schema of {} is up to date.", location.describe());
    Ok(())
}
