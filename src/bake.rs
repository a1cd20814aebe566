//! `kiln bake`: picks the comment source named by `--from`, works out the
//! render options from flags and configuration, and runs bake's pipeline.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use kiln_bake::render::FormTokens;
use kiln_bake::signing::Signer;
use kiln_bake::{BakeOptions, ExportFile, FragmentOptions, NoComments, Receiver, Source};
use kiln_receiver::config::Config;
use kiln_receiver::pages::render_options;
use kiln_receiver::store::{self, Location, Mode};

use crate::cli::BakeArgs;
use crate::watch::{self, WatchOptions};

pub fn run(config: &Config, args: BakeArgs) -> Result<()> {
    if let Some(dir) = &args.output_dir {
        // A watch waits for the first build; a single bake cannot.
        if !dir.is_dir() && !args.watch {
            bail!(
                "{} is not a directory; build the site first (e.g. `hugo`) and pass its output directory",
                dir.display()
            );
        }
    }
    if !(1..=86_400).contains(&args.poll) {
        bail!("--poll must be between 1 and 86400 seconds");
    }
    let from = match &args.from {
        Some(from) => from.clone(),
        None if !config.bake.from.is_empty() => config.bake.from.clone(),
        None if config.database.is_postgres() => config.database.url.clone(),
        None => config.database.path.display().to_string(),
    };
    // A source named in the configuration may not exist yet (a new site
    // builds before its receiver first runs); one named by --from must.
    let missing_is_empty = args.from.is_none();
    let site = args.site.as_deref().unwrap_or(&config.bake.site);
    crate::known_site(config, site)?;
    let is_url = from.starts_with("http://") || from.starts_with("https://");
    // A PostgreSQL URL may carry a password: it is only ever shown as the
    // store describes it.
    let database = store::is_url(&from).then(|| Location::Postgres {
        url: &from,
        password: &config.database.password,
    });

    // Forms post to the receiver: the flag, the configured public URL, or the
    // URL we are baking from, in that order.
    let receiver_url = match (&args.receiver_url, is_url) {
        (Some(url), _) => url.clone(),
        (None, true) if config.server.public_url.is_empty() => from.clone(),
        (None, _) => config.public_url(None),
    };
    let mut render = render_options(config, &receiver_url);
    if is_url || (database.is_none() && !is_sqlite(Path::new(&from))) {
        // The receiver behind an export says whether it sends mail (see
        // `Source::mail`); one too old to say is assumed to, as before. A
        // database, SQLite or PostgreSQL, goes by this configuration's mail.
        render.offer_notify = true;
    }
    if let Some(dir) = &args.templates {
        render.templates_dir = Some(dir.clone());
    }
    if let Some(depth) = args.max_depth {
        if !(1..=32).contains(&depth) {
            bail!("--max-depth must be between 1 and 32");
        }
        render.max_depth = depth;
    }
    if config.spam.form_token {
        render.form_tokens = Some(form_tokens(config, &from, is_url, database)?);
    }
    let site_url = (args.site_url.clone()).unwrap_or_else(|| config.site_url_of(site));
    let target = match &args.output_dir {
        Some(output_dir) => Target::Site(BakeOptions {
            output_dir: output_dir.clone(),
            site_url,
            render,
            progress: !args.quiet && !args.watch && std::io::stderr().is_terminal(),
            state_file: args
                .state
                .clone()
                .or_else(|| default_state_file(output_dir)),
            full: args.full,
            // A bake from the command line cannot vouch for the directory.
            listing_unchanged: false,
            stylesheet: config.bake.stylesheet_file(),
            feeds: match args.feeds {
                true => Some(config.bake.feeds_dir.clone().into()),
                false => config.bake.feeds_dir(),
            },
        }),
        None => Target::Fragments(FragmentOptions {
            // clap requires one of the two.
            dir: args
                .fragments
                .clone()
                .expect("--fragments when there is no OUTPUT_DIR"),
            site_url,
            render,
        }),
    };
    // Each bake opens the source afresh: a source loads its data once.
    let once = || -> Result<Vec<PathBuf>> {
        let mut source = match database {
            Some(database) => store::open_source(database, config.privacy.gravatar, site)?,
            None => open_source(
                &from,
                is_url,
                args.token.clone(),
                (config.privacy.gravatar, site),
                missing_is_empty,
            )?,
        };
        target.bake(source.as_mut())
    };
    if !args.watch {
        return once().map(drop);
    }
    // A URL has no file to watch: it is asked again every --poll seconds.
    let remote = is_url || database.is_some();
    let options = WatchOptions {
        source_files: if remote {
            Vec::new()
        } else {
            vec![PathBuf::from(&from)]
        },
        poll: remote.then(|| Duration::from_secs(args.poll)),
        debounce: Duration::from_millis(300),
    };
    eprintln!(
        "watching {} and {} (Ctrl-C stops)",
        args.output_dir
            .as_deref()
            .map_or_else(|| "nothing else".to_owned(), |d| d.display().to_string()),
        database.map_or_else(|| from.clone(), |d| d.describe())
    );
    watch::run(args.output_dir.as_deref(), &options, once)
}

/// What a bake writes: a built site's pages, or one fragment per thread.
enum Target {
    Site(BakeOptions),
    Fragments(FragmentOptions),
}

impl Target {
    /// Bakes, prints the summary and warnings, and returns the files written.
    fn bake(&self, source: &mut dyn Source) -> Result<Vec<PathBuf>> {
        let (warnings, line, written) = match self {
            Target::Site(options) => {
                let summary = kiln_bake::bake(source, options)
                    .with_context(|| format!("cannot bake {}", options.output_dir.display()))?;
                (
                    summary.warnings.clone(),
                    summary.to_string(),
                    summary.written,
                )
            }
            Target::Fragments(options) => {
                let summary = kiln_bake::bake_fragments(source, options).with_context(|| {
                    format!("cannot write fragments to {}", options.dir.display())
                })?;
                (summary.warnings.clone(), summary.to_string(), Vec::new())
            }
        };
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        println!("{line}");
        Ok(written)
    }
}

/// The source named by `--from`. `gravatar` (`privacy.gravatar`) lets a
/// bake from the database put Gravatar hashes in the comments it reads.
/// With `missing_is_empty`, a file that does not exist yet is a source
/// with no comments, said in one line.
fn open_source(
    from: &str,
    is_url: bool,
    token: Option<String>,
    (gravatar, site): (bool, &str),
    missing_is_empty: bool,
) -> Result<Box<dyn Source>> {
    if is_url {
        let receiver = Receiver::new(from.trim_end_matches('/'), token);
        return Ok(Box::new(if site == store::DEFAULT_SITE {
            receiver
        } else {
            receiver.for_site(site)
        }));
    }
    let path = Path::new(from);
    if missing_is_empty && !path.exists() {
        // A new site builds before its receiver ever ran: bake the threads
        // empty, with their forms, rather than fail the site's build.
        eprintln!(
            "kiln: no comments yet: {} does not exist (the receiver creates it when `kiln serve` first runs); threads are baked empty",
            path.display()
        );
        return Ok(Box::new(NoComments {
            looked_for: path.display().to_string(),
        }));
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .with_context(|| format!("cannot read the comment source {}", path.display()))?;
    if store::is_database(&head[..read]) {
        Ok(store::open_source(path, gravatar, site)?)
    } else {
        Ok(Box::new(ExportFile::new(path)))
    }
}

/// The key and expiry of signed forms (`spam.form_token`). The key is
/// `server.secret` when set; otherwise the one the receiver keeps in its
/// database, which a bake from that database (the file, or PostgreSQL,
/// read-only) reads; a bake from a URL or an export file needs
/// `server.secret`. Tokens expire at the end of a whole day, so they, and
/// with them the pages, change once a day rather than on every bake.
fn form_tokens(
    config: &Config,
    from: &str,
    is_url: bool,
    database: Option<Location>,
) -> Result<FormTokens> {
    let signer = if !config.server.secret.is_empty() {
        Signer::new(config.server.secret.as_bytes())
    } else if let Some(database) = database {
        let mut store = store::open_at(database, Mode::ReadOnly)?;
        kiln_receiver::mail::signer(config, store.as_mut()).with_context(|| {
            format!(
                "`spam.form_token` is on, but {} holds no key to sign forms with yet: start the receiver on it once, or set server.secret (KILN_SERVER_SECRET) to the receiver's",
                database.describe()
            )
        })?
    } else if !is_url && is_sqlite(Path::new(from)) {
        let mut store = store::open(Path::new(from), Mode::ReadWrite)?;
        kiln_receiver::mail::signer(config, store.as_mut())?
    } else {
        bail!(
            "`spam.form_token` is on, but this bake has no key to sign forms with: set server.secret (KILN_SERVER_SECRET) to the receiver's, or bake from the receiver's database"
        );
    };
    let today = time::OffsetDateTime::now_utc().unix_timestamp() / 86_400;
    Ok(FormTokens {
        signer,
        expires_at: (today + 1 + i64::from(config.spam.form_token_days)) * 86_400,
    })
}

fn is_sqlite(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .is_ok_and(|read| store::is_database(&head[..read]))
}

/// Bake remembers what it wrote in the user's cache directory, one file per
/// output directory, so the site's output holds nothing but the site.
fn default_state_file(output_dir: &Path) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let canonical = output_dir.canonicalize().ok()?;
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Some(cache.join("kiln").join(format!("bake-{name}.json")))
}
