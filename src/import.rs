//! `kiln import`: reads the arguments, opens the configured database, an
//! SQLite file or PostgreSQL (creating it, as `kiln serve` would, unless
//! this is a dry run) and hands over to the receiver's `import` module, then
//! prints its report. A wrong format name, source path, `--site`,
//! `--site-url` or mapping file is bad usage (exit code 2).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::import::{self, Format, Options};
use kiln_receiver::store::{self, Location, Mode, Status};

use crate::cli::ImportArgs;
use crate::UsageError;

pub fn run(config: &Config, args: ImportArgs) -> Result<()> {
    let (format, source) = match args.source {
        Some(source) => match Format::from_name(&args.first) {
            Some(f) => (Some(f), source),
            None => {
                return Err(anyhow!(
                    "{:?} is not a format kiln imports; use one of {}",
                    args.first,
                    Format::ALL.map(Format::name).join(", ")
                ))
                .context(UsageError)
            }
        },
        None => (None, PathBuf::from(&args.first)),
    };
    if !source.exists() {
        return Err(anyhow!(
            "there is no file or folder at {}",
            source.display()
        ))
        .context(UsageError);
    }
    let mut options = Options {
        unknown_status: Status::from_name(&args.status_of_unknown).unwrap_or(Status::Pending),
        ..Options::default()
    };
    if let Some(site) = &args.site {
        crate::known_site(config, site).context(UsageError)?;
        options.site.clone_from(site);
    }
    if let Some(site) = &args.site_url {
        let url = Options::parse_site_url(site).context(UsageError)?;
        options.site_url = Some(url);
    }
    if let Some(map) = &args.map {
        options.map = Options::read_map(map).context(UsageError)?;
    }
    // A dry run writes nothing, not even a new database file.
    let location = match crate::location(config) {
        Location::Sqlite(path) if args.dry_run && !path.is_file() => {
            Location::Sqlite(Path::new(":memory:"))
        }
        location => location,
    };
    // Read the whole source first: a file that cannot be read leaves no
    // database behind.
    let planned = import::prepare(format, &source, &options)?;
    let mut store = store::open_at(location, Mode::ReadWrite)?;
    let report = import::save(store.as_mut(), planned, args.dry_run)?;
    print!("{report}");
    Ok(())
}
