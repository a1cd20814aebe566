//! `kiln store`: the database as a whole. `copy` moves a site between
//! databases (SQLite to PostgreSQL when it outgrows one machine, and back),
//! `migrate` brings a schema up to date before a rollout. The work is the
//! store's (`store::copy`); this module names the databases the way the
//! user did (`--from`, `--to`, never with a password) and prints what was
//! copied.

use std::io::Write;

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::store::backup::remove_sqlite_files;
use kiln_receiver::store::copy::{self, NotEmpty, Tally};
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
    let tally = copy_into(
        from,
        to,
        args.replace,
        &Names {
            from: format!("--from {}", from.describe()),
            to: format!("--to {}", to.describe()),
            replace: "pass --replace to replace all of it with what --from holds",
        },
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Copied {} to {}:", from.describe(), to.describe())?;
    print_tally(&mut out, &tally)?;
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

/// How a copy's messages name its two sides, and the flag that replaces.
pub struct Names {
    pub from: String,
    pub to: String,
    /// What to do about a target that holds a site.
    pub replace: &'static str,
}

/// Copies every table of `from` into `to` (`store::copy`), for `kiln store
/// copy` and `kiln restore`. A new SQLite file made for the target goes
/// again if the copy fails.
pub fn copy_into(from: Location, to: Location, replace: bool, names: &Names) -> Result<Tally> {
    let mut source = store::open_at(from, Mode::ReadOnly)
        .with_context(|| format!("cannot open {}", names.from))?;
    let new_file = match to {
        Location::Sqlite(path) if !path.exists() => Some(path.to_owned()),
        _ => None,
    };
    let copied = match store::open_at(to, Mode::ReadWrite) {
        Ok(mut target) => copy::copy(source.as_mut(), target.as_mut(), replace).map_err(|err| {
            if err.is::<NotEmpty>() {
                err.context(format!(
                    "{} already holds a site; {}",
                    names.to, names.replace
                ))
            } else {
                err.context(format!("cannot copy {} to {}", names.from, names.to))
            }
        }),
        Err(err) => Err(err.context(format!("cannot open {}", names.to))),
    };
    // The target is closed by now, so a file the copy made can go.
    copied.inspect_err(|_| {
        if let Some(path) = &new_file {
            remove_sqlite_files(path);
        }
    })
}

/// Every table's rows and the start of its checksum, one line each.
pub fn print_tally(out: &mut impl Write, tally: &Tally) -> Result<()> {
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
    Ok(())
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
