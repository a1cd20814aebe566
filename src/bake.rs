//! `kiln bake`: picks the comment source named by `--from`, works out the
//! render options from flags and configuration, and runs bake's pipeline.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kiln_bake::{BakeOptions, ExportFile, FragmentOptions, Receiver, Source};
use kiln_receiver::config::Config;
use kiln_receiver::pages::render_options;
use kiln_receiver::store::SqliteSource;

use crate::cli::BakeArgs;

/// The first bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

pub fn run(config: &Config, args: BakeArgs) -> Result<()> {
    if let Some(dir) = &args.output_dir {
        if !dir.is_dir() {
            bail!(
                "{} is not a directory; build the site first (e.g. `hugo`) and pass its output directory",
                dir.display()
            );
        }
    }
    let from = match &args.from {
        Some(from) => from.clone(),
        None if !config.bake.from.is_empty() => config.bake.from.clone(),
        None => config.database.path.display().to_string(),
    };
    let is_url = from.starts_with("http://") || from.starts_with("https://");
    let mut source = open_source(&from, is_url, args.token.clone())?;

    // Forms post to the receiver: the flag, the configured public URL, or the
    // URL we are baking from, in that order.
    let receiver_url = match (&args.receiver_url, is_url) {
        (Some(url), _) => url.clone(),
        (None, true) if config.server.public_url.is_empty() => from.clone(),
        (None, _) => config.public_url(None),
    };
    let mut render = render_options(config, &receiver_url);
    if let Some(dir) = &args.templates {
        render.templates_dir = Some(dir.clone());
    }
    if let Some(depth) = args.max_depth {
        if !(1..=32).contains(&depth) {
            bail!("--max-depth must be between 1 and 32");
        }
        render.max_depth = depth;
    }
    let site_url = args.site_url.clone().unwrap_or_else(|| config.site_url());
    let Some(output_dir) = args.output_dir else {
        // clap requires one of the two.
        let dir = args
            .fragments
            .expect("--fragments when there is no OUTPUT_DIR");
        let options = FragmentOptions {
            dir: dir.clone(),
            site_url,
            render,
        };
        let summary = kiln_bake::bake_fragments(source.as_mut(), &options)
            .with_context(|| format!("cannot write fragments to {}", dir.display()))?;
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
        println!("{summary}");
        return Ok(());
    };
    let options = BakeOptions {
        output_dir: output_dir.clone(),
        site_url,
        render,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        state_file: args
            .state
            .clone()
            .or_else(|| default_state_file(&output_dir)),
        full: args.full,
    };
    let summary = kiln_bake::bake(source.as_mut(), &options)
        .with_context(|| format!("cannot bake {}", output_dir.display()))?;
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    println!("{summary}");
    Ok(())
}

fn open_source(from: &str, is_url: bool, token: Option<String>) -> Result<Box<dyn Source>> {
    if is_url {
        return Ok(Box::new(Receiver::new(from.trim_end_matches('/'), token)));
    }
    let path = Path::new(from);
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .with_context(|| format!("cannot read the comment source {}", path.display()))?;
    if head[..read] == *SQLITE_MAGIC {
        Ok(Box::new(SqliteSource::open(path)?))
    } else {
        Ok(Box::new(ExportFile::new(path)))
    }
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
