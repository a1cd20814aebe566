//! `kiln bake --watch`: bake again whenever the site's output or the comments
//! change, until interrupted.
//!
//! - The output directory is watched recursively with notify, and its parent
//!   too, so the directory can be deleted and built again (`rm -rf public &&
//!   hugo`) without losing the watch.
//! - A comment source on disk (the SQLite file with its WAL, or an export
//!   file) is watched through its directory; a receiver URL is polled.
//! - Events are debounced: a burst (an SSG writing hundreds of pages) makes one
//!   bake, started once the burst has been quiet for a moment.
//! - Bake's own writes never trigger a bake: temp files are ignored, and a
//!   page bake just wrote is ignored while it still has the size, mtime and
//!   inode bake left it with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kiln_bake::inject::FileMeta;
use kiln_bake::own_writes::{self, OwnWrites};
use notify::{EventKind, RecursiveMode, Watcher};

/// What to watch besides the output.
pub struct WatchOptions {
    /// Files whose changes mean the comments changed.
    pub source_files: Vec<PathBuf>,
    /// How often to bake anyway, for sources that cannot be watched (a
    /// receiver's URL).
    pub poll: Option<Duration>,
    /// How long events must be quiet before baking.
    pub debounce: Duration,
}

/// A burst that never goes quiet still gets a bake this often.
const MAX_WAIT_FACTOR: u32 = 10;

/// Runs `bake` once, then again after every relevant change, forever.
/// `output_dir` is `None` in fragments mode (only the source is watched).
/// `bake` returns the files it wrote; its errors are reported and the watch
/// goes on, so a half-built site or an unreachable receiver is not fatal.
pub fn run(
    output_dir: Option<&Path>,
    options: &WatchOptions,
    mut bake: impl FnMut() -> Result<Vec<PathBuf>>,
) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
    let output = output_dir.map(absolute).transpose()?;
    let mut watched_dirs = Vec::new();
    if let Some(out) = &output {
        if let Some(parent) = out.parent() {
            watch_dir(
                &mut watcher,
                parent,
                RecursiveMode::NonRecursive,
                &mut watched_dirs,
            )?;
        }
    }
    let sources: Vec<PathBuf> = options
        .source_files
        .iter()
        .map(|p| absolute(p))
        .collect::<Result<_>>()?;
    for source in &sources {
        if let Some(parent) = source.parent() {
            watch_dir(
                &mut watcher,
                parent,
                RecursiveMode::NonRecursive,
                &mut watched_dirs,
            )?;
        }
    }
    let mut output_watched = false;

    // Files bake wrote, as it left them.
    let mut ours = OwnWrites::default();
    // The source files as the last bake left them: reading a database
    // writes to it too (SQLite checkpoints its WAL when a reader closes).
    let mut seen_sources: HashMap<PathBuf, Option<FileMeta>> = HashMap::new();
    let mut pending = true; // bake once at start
    let mut last_bake = Instant::now();
    loop {
        if let Some(out) = &output {
            // The watch on a deleted directory dies with it: attach again
            // whenever the directory exists, and bake what was built.
            let exists = out.is_dir();
            if exists && !output_watched {
                output_watched = watcher.watch(out, RecursiveMode::Recursive).is_ok();
                pending = true;
            } else if !exists && output_watched {
                let _ = watcher.unwatch(out);
                output_watched = false;
            }
        }
        if pending {
            debounce(&rx, options.debounce);
            pending = false;
            last_bake = Instant::now();
            match output.as_deref() {
                Some(out) if !out.is_dir() => {
                    eprintln!("waiting for {} to be built", out.display());
                }
                _ => match bake() {
                    Ok(written) => ours.record(&written),
                    Err(err) => eprintln!("warning: bake failed, still watching: {err:#}"),
                },
            }
            seen_sources = sources
                .iter()
                .flat_map(|s| companions(s))
                .map(|p| {
                    let meta = std::fs::metadata(&p).ok().map(|m| FileMeta::of(&m));
                    (p, meta)
                })
                .collect();
            continue;
        }

        let wait = match options.poll {
            Some(poll) => poll.saturating_sub(last_bake.elapsed()),
            None => Duration::from_secs(3600),
        };
        let event = match rx.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                pending = options.poll.is_some();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        // Reads (bake's own walk opens every directory) change nothing.
        let Ok(event) = event else { continue };
        if matches!(event.kind, EventKind::Access(_)) {
            continue;
        }
        for path in &event.paths {
            let output_change = output.as_deref().is_some_and(|out| {
                path == out || (path.starts_with(out) && ours.is_foreign_change(path))
            });
            let source_change = sources.iter().any(|s| is_source_file(path, s))
                && seen_sources.get(path)
                    != Some(&std::fs::metadata(path).ok().map(|m| FileMeta::of(&m)));
            if output_change || source_change {
                pending = true;
            }
        }
    }
}

/// Waits until no event has come for `quiet`, or for ten times that when
/// events keep coming.
fn debounce<T>(rx: &mpsc::Receiver<T>, quiet: Duration) {
    let started = Instant::now();
    while started.elapsed() < quiet * MAX_WAIT_FACTOR {
        if rx.recv_timeout(quiet).is_err() {
            return;
        }
    }
}

/// `source` and the files SQLite writes beside it first (`-wal`,
/// `-journal`).
fn companions(source: &Path) -> Vec<PathBuf> {
    let mut all = vec![source.to_owned()];
    for suffix in ["-wal", "-journal"] {
        let mut name = source.as_os_str().to_owned();
        name.push(suffix);
        all.push(PathBuf::from(name));
    }
    all
}

fn is_source_file(path: &Path, source: &Path) -> bool {
    companions(source).iter().any(|c| c == path)
}

fn watch_dir(
    watcher: &mut impl Watcher,
    dir: &Path,
    mode: RecursiveMode,
    watched: &mut Vec<PathBuf>,
) -> Result<()> {
    if watched.iter().any(|d| d == dir) {
        return Ok(());
    }
    watcher
        .watch(dir, mode)
        .with_context(|| format!("watching {}", dir.display()))?;
    watched.push(dir.to_owned());
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(own_writes::absolute(path))
}
