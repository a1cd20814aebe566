//! kiln's bake pipeline: read published comments from a source, render each
//! thread with the templates, and inject the result into a static site's HTML.
//!
//! `source` → `render` (with `markdown`) → `inject`, driven by [`bake`];
//! `walk` finds the pages and `state` lets a re-bake skip pages that cannot
//! have changed. [`bake_fragments`] is the dev-server mode: one file per
//! thread instead of rewritten pages.

pub mod avatar;
pub mod export;
pub mod feed;
mod feed_run;
pub mod fragments;
mod hints;
pub mod i18n;
pub mod inject;
pub mod markdown;
pub mod own_writes;
pub mod render;
pub mod signing;
mod skeleton;
pub mod source;
mod state;
mod walk;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::export::Thread;
use crate::feed::FeedPage;
use crate::feed_run::{FeedRun, FeedsAt};
pub use crate::fragments::{bake_fragments, fragment_name, FragmentOptions, FragmentSummary};
use crate::inject::{rewrite_page, scan_page, write_atomic, FileMeta, PageReport, Placing};
pub use crate::render::{FormContext, FormLimits, FormValues, RenderOptions, Renderer, ThreadArgs};
pub use crate::source::{ExportFile, NoComments, Receiver, Source, Stamp};
use crate::state::{FileState, State};
use crate::walk::PageFile;

/// Past this many new or changed pages, a re-bake loads every thread instead
/// of first scanning those pages for the ids they need.
const SCAN_LIMIT: usize = 200;

/// How to bake.
#[derive(Debug, Clone)]
pub struct BakeOptions {
    /// The static site generator's output (e.g. `public/`).
    pub output_dir: PathBuf,
    /// The site's public URL without a trailing slash (e.g.
    /// `https://example.org`); prefixes each page's path to make the URL the
    /// form posts. Default: empty (a relative URL).
    pub site_url: String,
    pub render: RenderOptions,
    /// Draw a progress bar on stderr. Default: false.
    pub progress: bool,
    /// Where to remember what was baked, for fast re-bakes. Default: none
    /// (every bake reads every page).
    pub state_file: Option<PathBuf>,
    /// Ignore the state file and bake every page. Default: false.
    pub full: bool,
    /// The caller vouches that nothing but bake has written under the output
    /// directory since the last bake with this state (it watches the
    /// directory): the remembered pages are trusted as they are, and only
    /// the pages showing a changed thread are touched, with no walk of the
    /// tree. The in-place publisher sets it. Default: false.
    pub listing_unchanged: bool,
    /// Write the threads' stylesheet to this file (relative to
    /// `output_dir`, e.g. `kiln.css`) and link it from every thread, under
    /// the base path of `site_url`, instead of a `<style>` element in each:
    /// a strict Content-Security-Policy (`style-src 'self'`) refuses those.
    /// Default: none.
    pub stylesheet: Option<PathBuf>,
    /// Write Atom feeds into this directory (relative to `output_dir`, e.g.
    /// `comments/feeds`): one per thread shown on some page, linked from
    /// that page's `<head>`, and `latest.xml`, the latest comments across
    /// threads (see [`feed`]). Needs an absolute `site_url`. Default: none
    /// (no feeds: they are new files in someone's site).
    pub feeds: Option<PathBuf>,
}

impl BakeOptions {
    pub fn new(output_dir: impl Into<PathBuf>) -> Self {
        BakeOptions {
            output_dir: output_dir.into(),
            site_url: String::new(),
            render: RenderOptions::default(),
            progress: false,
            state_file: None,
            full: false,
            listing_unchanged: false,
            stylesheet: None,
            feeds: None,
        }
    }
}

/// What a bake did. `pages_with_threads`, `threads` and `comments` cover the
/// pages read in this bake: a re-bake that skips unchanged pages reports only
/// what it placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// HTML files found under the output directory.
    pub pages_scanned: usize,
    /// Pages not even read, because the state showed them current.
    pub pages_skipped: usize,
    /// Thread placeholders on those pages, current as they are.
    pub threads_skipped: usize,
    /// Pages read that hold at least one thread placeholder.
    pub pages_with_threads: usize,
    /// Thread placeholders filled.
    pub threads: usize,
    /// Comments shown in those placeholders (approved ones).
    pub comments: u64,
    /// Files whose bytes changed and were rewritten.
    pub files_changed: usize,
    /// Their paths, so a watcher can tell its own writes from the SSG's.
    pub written: Vec<PathBuf>,
    /// Things the user should know about, e.g. skipped placeholders.
    pub warnings: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A re-bake with nothing to do reads nothing; "0 threads, 0
        // comments" would read like lost comments.
        if self.files_changed == 0 {
            let threads = self.threads + self.threads_skipped;
            return write!(
                f,
                "nothing changed: {threads} {} up to date (scanned {} pages)",
                plural(threads as u64, "thread", "threads"),
                self.pages_scanned,
            );
        }
        write!(
            f,
            "scanned {} pages: {} {}, {} {} shown, {} {} changed",
            self.pages_scanned,
            self.threads,
            plural(self.threads as u64, "thread", "threads"),
            self.comments,
            plural(self.comments, "comment", "comments"),
            self.files_changed,
            plural(self.files_changed as u64, "file", "files"),
        )?;
        if self.pages_skipped > 0 {
            write!(f, " ({} unchanged pages not read)", self.pages_skipped)?;
        }
        Ok(())
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Bakes the comments from `source` into every page under `opts.output_dir`.
pub fn bake(source: &mut dyn Source, opts: &BakeOptions) -> Result<Summary> {
    let root = opts.output_dir.as_path();
    let site_url = opts.site_url.trim_end_matches('/');
    let base = inject::base_path(site_url);
    let mut render = opts.render.clone();
    let described = source.describe();
    if let Some(mail) = source
        .mail()
        .with_context(|| format!("reading comments from {described}"))?
    {
        render.offer_notify = mail;
    }
    let feeds = match &opts.feeds {
        Some(dir) => Some(FeedsAt::new(dir, site_url, &base)?),
        None => None,
    };
    let stylesheet = match &opts.stylesheet {
        Some(file) => {
            let relative = stylesheet_path(file)?;
            render.stylesheet_url = format!("{base}/{relative}");
            Some(relative)
        }
        None => None,
    };
    // The script beside it, so that reading a page asks the receiver for
    // nothing: same origin, cached with the site.
    let script = match render.script && !render.script_file.is_empty() {
        true => {
            let relative = site_file_path(Path::new(&render.script_file), ".js")
                .context("`bake.script_file`")?;
            render.script_url = format!("{base}/{relative}");
            Some(relative)
        }
        false => None,
    };
    // Parsing templates and parsing the state are independent; on a re-bake
    // every millisecond counts.
    // With reactions off no page shows a like count, and counting them is
    // a lookup per comment in a database source.
    if !render.reactions {
        source.leave_out_likes();
    }
    let (renderer, loaded) = rayon::join(
        || Renderer::new(render),
        || opts.state_file.as_deref().map(State::load),
    );
    let renderer = renderer?;
    let fingerprint = bake_fingerprint(
        &renderer,
        site_url,
        root,
        feeds.as_ref().map_or("", |f| f.dir.as_str()),
    );
    let identity = source
        .identity()
        .with_context(|| format!("reading comments from {described}"))?;

    let mut summary = Summary::default();
    let loaded = loaded.map(|(loaded, warning)| {
        summary.warnings.extend(warning);
        loaded
    });
    let (previous_raw, prior) = match loaded {
        Some(loaded) => (loaded.raw, loaded.state),
        None => (None, None),
    };
    let mut prior = prior.filter(|s| !opts.full && s.matches(&identity, &fingerprint));
    // What the last bake's feeds were made of; empty after a full bake,
    // which reads every page and so places every thread.
    let (known_feeds, known_latest) = prior
        .as_mut()
        .map(|p| (std::mem::take(&mut p.feeds), std::mem::take(&mut p.latest)))
        .unwrap_or_default();

    // Stamps before threads: if a comment is approved in between, the state
    // records the older stamp and the next bake catches up.
    let stamps = source
        .stamps()
        .with_context(|| format!("reading comments from {described}"))?;
    // Threads read while the site was being listed (a full bake).
    let mut preloaded = None;
    let (mut dirs, plan) = match prior.as_mut() {
        Some(prior) if opts.listing_unchanged => {
            let plan = Plan::trusted(root, prior, &stamps)?;
            (std::mem::take(&mut prior.dirs), plan)
        }
        Some(_) => {
            let cached = prior.as_mut().map(|s| std::mem::take(&mut s.dirs));
            let listing = walk::list(root, cached)?;
            let plan = Plan::new(listing.files, prior, &stamps, &base)?;
            (listing.dirs, plan)
        }
        None => {
            // With nothing remembered, every thread is needed whatever the
            // listing finds: read the comments while another thread walks
            // the site, rather than one after the other.
            let (listing, threads) = std::thread::scope(|scope| {
                let walker = scope.spawn(|| walk::list(root, None));
                let threads = source.threads(None);
                let listing = walker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (listing, threads)
            });
            preloaded = Some(threads);
            let listing = listing?;
            let plan = Plan::new(listing.files, None, &stamps, &base)?;
            (listing.dirs, plan)
        }
    };
    summary.pages_scanned = plan.todo.len() + plan.skipped.len();
    summary.pages_skipped = plan.skipped.len();
    summary.threads_skipped = plan.skipped.values().map(|f| f.threads.len()).sum();
    let threads = match (preloaded, &plan.needed) {
        (Some(threads), _) => threads,
        (None, None) => source.threads(None),
        (None, Some(ids)) if ids.is_empty() => Ok(Vec::new()),
        (None, Some(ids)) => source.threads(Some(ids)),
    }
    .with_context(|| format!("reading comments from {described}"))?;
    let threads: HashMap<String, Thread> = threads.into_iter().map(|t| (t.id.clone(), t)).collect();

    let placing = Placing {
        renderer: &renderer,
        threads: &threads,
        stamps: &stamps,
        site_url,
        base: &base,
        feeds: feeds.as_ref().map(|f| f.href_prefix.as_str()),
    };
    let bar = progress_bar(opts.progress, plan.todo.len());
    let results: Vec<Processed> = plan
        .todo
        .par_iter()
        .map(|file| {
            let result = process(file, &placing);
            bar.inc(1);
            result
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();

    let mut state = State::new(identity, fingerprint);
    state.files = plan.skipped;
    let mut count_placeholders = 0;
    // Each thread placed in this bake, with every page (in path order)
    // that shows it: the first is what its feed links to.
    let mut placed = feed_run::Pages::new();
    for (file, done) in plan.todo.iter().zip(results) {
        if let Some(feeds) = feeds.as_ref().filter(|_| !done.report.unparsable) {
            for (id, (url, title)) in done.report.threads.iter().zip(&done.report.shown) {
                let pages = placed.entry(id.clone()).or_default();
                if pages.last().is_none_or(|p| p.relative != file.relative) {
                    pages.push(FeedPage {
                        relative: file.relative.clone(),
                        url: feeds.absolute(url),
                        title: title.clone(),
                    });
                }
            }
        }
        // A skipped placeholder (a bad id) is one too, and has its warning.
        count_placeholders += done.report.counts.len() + done.report.warnings.len();
        summary.threads += done.report.threads.len();
        summary.comments += done.report.comments;
        summary.pages_with_threads += usize::from(!done.report.threads.is_empty());
        summary.warnings.extend(done.report.warnings);
        if done.written {
            summary.files_changed += 1;
            summary.written.push(file.path.clone());
            // Our rename moved the directory's mtime; remember the new one so
            // the next bake can still trust its listing.
            let dir = file.relative.rsplit_once('/').map_or("", |(dir, _)| dir);
            if let Some(entry) = dirs.get_mut(dir) {
                entry.mtime_ns = walk::dir_mtime(root, dir).unwrap_or(0);
            }
        }
        if file.tracked && !done.report.unparsable {
            let recorded = FileState {
                meta: done.meta,
                threads: done.report.threads,
                counts: done.report.counts,
            };
            state.files.insert(file.relative.clone(), recorded);
        }
    }
    let css = match stylesheet {
        Some(relative) => Some((relative, renderer.render_stylesheet()?)),
        None => None,
    };
    let js = script.map(|relative| (relative, Renderer::script().to_owned()));
    for (relative, text) in css.into_iter().chain(js) {
        let path = root.join(&relative);
        // Read back every time: the SSG may have emptied the directory.
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            write_atomic(&path, text.as_bytes(), None)?;
            summary.files_changed += 1;
            summary.written.push(path);
            let dir = relative.rsplit_once('/').map_or("", |(dir, _)| dir);
            if let Some(entry) = dirs.get_mut(dir) {
                entry.mtime_ns = walk::dir_mtime(root, dir).unwrap_or(0);
            }
        }
    }
    if let Some(feeds) = &feeds {
        let run = FeedRun {
            root,
            at: feeds,
            site_url,
            read: plan.todo.iter().map(|f| f.relative.as_str()).collect(),
            placed,
            known: known_feeds,
            latest: known_latest,
            files: &state.files,
            threads: &threads,
            check_files: !opts.listing_unchanged,
        };
        let before = summary.written.len();
        let remembered = run
            .update(source, &mut summary.written, &mut dirs)
            .with_context(|| format!("writing feeds to {}", root.join(&feeds.dir).display()))?;
        summary.files_changed += summary.written.len() - before;
        state.feeds = remembered.pages;
        state.latest = remembered.latest;
    }
    // Every page was read and none has a placeholder: most likely the
    // partial sits in a layout the SSG does not use. Say so rather than
    // report an empty bake as a success.
    if summary.pages_scanned > 0
        && summary.pages_skipped == 0
        && summary.threads == 0
        && count_placeholders == 0
    {
        summary
            .warnings
            .push(no_placeholder_warning(summary.pages_scanned, root));
    }
    state.dirs = dirs;
    state.record_stamps(&stamps);
    if let Some(path) = &opts.state_file {
        state.save(path, previous_raw.as_deref())?;
    }
    // Freeing tens of thousands of small allocations takes milliseconds the
    // caller need not wait for.
    drop(plan.todo);
    let leftovers = (state, threads, stamps, previous_raw);
    std::thread::spawn(move || drop(leftovers));
    Ok(summary)
}

/// What a bake says when no page under `root` has a placeholder.
fn no_placeholder_warning(pages: usize, root: &Path) -> String {
    format!(
        "none of the {pages} {} under {} has an element with `data-kiln-thread` or `data-kiln-count`, so no comments were placed; \
         put the placeholder (e.g. kiln's partial) in the layout your pages are built from. \
         With Hugo 0.146 or later that is often layouts/page.html or layouts/single.html rather than layouts/_default/single.html",
        plural(pages as u64, "page", "pages"),
        root.display()
    )
}

/// [`BakeOptions::stylesheet`] as a `/`-separated path that stays inside the
/// output directory and can be linked as it is.
pub fn stylesheet_path(file: &Path) -> Result<String> {
    site_file_path(file, ".css")
}

/// A file bake writes into the site (the stylesheet, the script) as a
/// `/`-separated path that stays inside the output directory, ends in
/// `extension` and can be linked as it is.
pub fn site_file_path(file: &Path, extension: &str) -> Result<String> {
    safe_relative(file, extension)
}

/// [`BakeOptions::feeds`] as a `/`-separated directory inside the output
/// directory.
pub fn feeds_dir_path(dir: &Path) -> Result<String> {
    safe_relative(dir, "")
}

/// `file` as a `/`-separated relative path that stays inside the output
/// directory, ends in `extension` and can be linked as it is.
fn safe_relative(file: &Path, extension: &str) -> Result<String> {
    let text = file.to_string_lossy();
    let text = match extension {
        // A directory may be written with a trailing slash.
        "" => Cow::Owned(text.trim_end_matches('/').to_owned()),
        _ => text,
    };
    let safe = !text.is_empty()
        && !file.is_absolute()
        && text.ends_with(extension)
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && text
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !safe && extension.is_empty() {
        anyhow::bail!(
            "{text:?} must be a relative directory inside the output directory, made of letters, digits, '.', '_', '-' and '/', such as \"comments/feeds\""
        );
    }
    if !safe {
        anyhow::bail!(
            "{text:?} must be a relative path inside the output directory ending in {extension}, made of letters, digits, '.', '_', '-' and '/', such as \"kiln{extension}\""
        );
    }
    Ok(text.into_owned())
}

/// Reads every page and writes it back unchanged, atomically, with the same
/// walk, parallelism and write path as [`bake`] but no rendering: the floor a
/// full bake is measured against. Returns the number of pages.
pub fn rewrite_floor(output_dir: &Path) -> Result<usize> {
    rewrite_every_page(output_dir, false)
}

/// [`rewrite_floor`] with each page also parsed by lol_html for its
/// placeholders, as a bake parses it, but with nothing rendered: what a
/// bake costs before any comment is involved. Returns the number of pages.
pub fn parse_floor(output_dir: &Path) -> Result<usize> {
    rewrite_every_page(output_dir, true)
}

fn rewrite_every_page(output_dir: &Path, parse: bool) -> Result<usize> {
    let listing = walk::list(output_dir, None)?;
    listing
        .files
        .par_iter()
        .try_for_each(|file| -> Result<()> {
            let bytes = std::fs::read(&file.path)
                .with_context(|| format!("reading {}", file.path.display()))?;
            if parse {
                scan_page(&bytes, &file.relative, "")?;
            }
            write_atomic(&file.path, &bytes, Some(file.meta.permissions()))?;
            Ok(())
        })?;
    Ok(listing.files.len())
}

/// Which pages to read and which threads to load.
struct Plan {
    todo: Vec<PageFile>,
    /// Pages the state shows current, carried over as they were.
    skipped: std::collections::BTreeMap<String, FileState>,
    /// `None`: load every thread.
    needed: Option<Vec<String>>,
}

impl Plan {
    fn new(
        files: Vec<PageFile>,
        prior: Option<State>,
        stamps: &HashMap<String, Stamp>,
        base: &str,
    ) -> Result<Self> {
        let Some(mut prior) = prior else {
            return Ok(Plan {
                todo: files,
                skipped: Default::default(),
                needed: None,
            });
        };
        let mut todo = Vec::new();
        // Positions in `todo` of pages the state does not know.
        let mut unknown = Vec::new();
        let mut skipped = Vec::new();
        let mut needed = BTreeSet::new();
        // Both sides are sorted by relative path: merge rather than look up.
        let mut recorded = std::mem::take(&mut prior.files).into_iter().peekable();
        for file in files {
            while recorded
                .next_if(|(path, _)| *path < file.relative)
                .is_some()
            {}
            let same = recorded
                .next_if(|(path, _)| *path == file.relative)
                .map(|(_, r)| r)
                .filter(|r| file.tracked && r.meta == FileMeta::of(&file.meta));
            match same {
                Some(r) if prior.is_current(&r, stamps) => {
                    skipped.push((file.relative.clone(), r));
                }
                Some(r) => {
                    needed.extend(r.threads);
                    todo.push(file);
                }
                None => {
                    unknown.push(todo.len());
                    todo.push(file);
                }
            }
        }
        let skipped = skipped.into_iter().collect();
        if unknown.len() > SCAN_LIMIT {
            return Ok(Plan {
                todo,
                skipped,
                needed: None,
            });
        }
        let found: Vec<PageReport> = unknown
            .par_iter()
            .map(|&i| {
                let file = &todo[i];
                let bytes = std::fs::read(&file.path)
                    .with_context(|| format!("reading {}", file.path.display()))?;
                scan_page(&bytes, &file.relative, base)
            })
            .collect::<Result<_>>()?;
        for report in found {
            needed.extend(report.threads);
        }
        Ok(Plan {
            todo,
            skipped,
            needed: Some(needed.into_iter().collect()),
        })
    }

    /// The plan when the caller vouches that only bake has written since
    /// the last bake ([`BakeOptions::listing_unchanged`]): the remembered
    /// pages are taken as they are, and only those showing a thread whose
    /// stamp moved are looked at, and loaded. Pages the state does not know
    /// cannot exist, by that promise.
    fn trusted(root: &Path, prior: &mut State, stamps: &HashMap<String, Stamp>) -> Result<Self> {
        let mut todo = Vec::new();
        let mut skipped = std::collections::BTreeMap::new();
        let mut needed = BTreeSet::new();
        for (relative, recorded) in std::mem::take(&mut prior.files) {
            if prior.is_current(&recorded, stamps) {
                skipped.insert(relative, recorded);
                continue;
            }
            let path = root.join(&relative);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    needed.extend(recorded.threads.iter().cloned());
                    todo.push(PageFile {
                        relative,
                        path,
                        meta,
                        tracked: true,
                    });
                }
                // Gone after all: forget it.
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
        }
        Ok(Plan {
            todo,
            skipped,
            needed: Some(needed.into_iter().collect()),
        })
    }
}

/// One page after baking.
struct Processed {
    report: PageReport,
    /// The file as it is now on disk.
    meta: FileMeta,
    written: bool,
}

fn process(file: &PageFile, placing: &Placing<'_>) -> Result<Processed> {
    let bytes =
        std::fs::read(&file.path).with_context(|| format!("reading {}", file.path.display()))?;
    let unchanged = |report| Processed {
        report,
        meta: FileMeta::of(&file.meta),
        written: false,
    };
    let Some((output, report)) = rewrite_page(&bytes, &file.relative, placing)? else {
        return Ok(unchanged(PageReport::default()));
    };
    if report.unparsable || output == bytes {
        return Ok(unchanged(report));
    }
    let meta = write_atomic(&file.path, &output, Some(file.meta.permissions()))?;
    Ok(Processed {
        report,
        meta,
        written: true,
    })
}

fn bake_fingerprint(renderer: &Renderer, site_url: &str, root: &Path, feeds: &str) -> String {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut hash = Sha256::new();
    for part in [
        renderer.fingerprint(),
        site_url,
        &root.to_string_lossy(),
        feeds,
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    render::hex(&hash.finalize())
}

fn progress_bar(enabled: bool, len: usize) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("baking {bar:30} {pos}/{len} pages ({eta})") {
        bar.set_style(style);
    }
    bar
}
