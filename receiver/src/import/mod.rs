//! `kiln import`: bringing comments from Isso, Disqus, WordPress, Remark42,
//! Commento, Comentario, Staticman and kiln's own export (issue 14).
//!
//! Each format has a parser (one file each) that only reads: it turns its
//! source into the neutral model here, [`Parsed`], keeping the source's ids,
//! parents, times, people, text and statuses as the source meant them. One
//! shared pass, [`plan`], then applies kiln's rules the same way for every
//! format: thread keys as the adapters make them, statuses, deleted markers,
//! nesting, order, and a reason for everything left out. The store writes
//! the result in one transaction ([`crate::store::Store::import_batch`]),
//! remembering source ids so a second run adds nothing.
//!
//! Memory does not grow with the comments' text: as a parser hands over
//! each comment ([`Comments::push`]), its person and text are converted and
//! written to a temporary file ([`crate::store::SpillWriter`]), and only ids,
//! parent links, times and statuses stay in memory for the shared pass; the
//! store reads each comment back as it inserts it.

mod commento;
mod disqus;
mod isso;
mod kiln;
mod remark42;
mod staticman;
mod text;
mod wordpress;
mod xml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::store::{
    Fields, ImportBatch, ImportComment, ImportFields, ImportOutcome, ImportThread, Spill,
    SpillWriter, Status, Store,
};

/// The systems kiln imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Isso,
    Disqus,
    Wordpress,
    Remark42,
    Commento,
    Comentario,
    Staticman,
    Kiln,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Isso,
        Format::Disqus,
        Format::Wordpress,
        Format::Remark42,
        Format::Commento,
        Format::Comentario,
        Format::Staticman,
        Format::Kiln,
    ];

    /// The name on the command line, and the source under which ids are
    /// remembered.
    pub fn name(self) -> &'static str {
        match self {
            Format::Isso => "isso",
            Format::Disqus => "disqus",
            Format::Wordpress => "wordpress",
            Format::Remark42 => "remark42",
            Format::Commento => "commento",
            Format::Comentario => "comentario",
            Format::Staticman => "staticman",
            Format::Kiln => "kiln",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Guesses the format of `path` from its first bytes (or, for a
    /// directory, Staticman's data files).
    pub fn detect(path: &Path) -> Result<Format> {
        if path.is_dir() {
            return Ok(Format::Staticman);
        }
        let mut raw = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut raw))
            .with_context(|| format!("cannot read {}", path.display()))?;
        if crate::store::is_database(&raw[..n]) {
            return Ok(Format::Isso);
        }
        let mut head = Vec::new();
        open_text(path)?
            .take(64 * 1024)
            .read_to_end(&mut head)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let head = String::from_utf8_lossy(&head);
        let found = if head.contains("<disqus") {
            Some(Format::Disqus)
        } else if head.contains("wordpress.org/export/") {
            Some(Format::Wordpress)
        } else if head.contains("\"kiln-export\"") {
            Some(Format::Kiln)
        } else if head.contains("\"commenters\"") || head.contains("\"commenterHex\"") {
            Some(commento::which(&head))
        } else if head.trim_start().starts_with('{') && head.contains("\"users\"") {
            Some(Format::Remark42)
        } else {
            None
        };
        found.with_context(|| {
            format!(
                "cannot tell the format of {}; name it: kiln import FORMAT {} (FORMAT is one of {})",
                path.display(),
                path.display(),
                Format::ALL.map(Format::name).join(", ")
            )
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a parser read: threads and comments as the source has them.
#[derive(Debug, Default)]
pub struct Parsed {
    pub threads: Vec<SourceThread>,
    pub comments: Comments,
    /// What the parser itself left out (pingbacks, records it could not
    /// read), with the reason.
    pub skipped: Vec<Skipped>,
}

/// A thread (page) as the source names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceThread {
    /// The source's own id for the thread; comments refer to it.
    pub id: String,
    /// The kiln thread key, when the source has one already (a kiln export).
    pub key: Option<String>,
    /// The page's URL or path; empty when the source has none.
    pub url: String,
    pub title: String,
    /// The source deleted the whole thread.
    pub deleted: bool,
}

/// A comment as the source has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceComment {
    /// The source's id; `None` when it has none (a content hash stands in).
    pub id: Option<String>,
    pub parent: Option<String>,
    /// The `SourceThread::id` it belongs to.
    pub thread: String,
    /// Seconds since the epoch, UTC; `None` when missing or unreadable.
    pub created: Option<i64>,
    pub author: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub text: Text,
    pub status: SourceStatus,
    pub remote_addr: Option<String>,
    /// kiln's own id, kept by a restore.
    pub keep_id: Option<i64>,
    /// The avatar key a kiln export carried.
    pub avatar: Option<String>,
}

impl SourceComment {
    /// A comment with every optional part empty.
    fn new(thread: String, text: Text) -> Self {
        SourceComment {
            id: None,
            parent: None,
            thread,
            created: None,
            author: String::new(),
            email: None,
            website: None,
            text,
            status: SourceStatus::Approved,
            remote_addr: None,
            keep_id: None,
            avatar: None,
        }
    }
}

/// The comments a parser read, in the source's order: what places each one
/// is kept in memory, its person and text are converted at once and wait in
/// a temporary file until the store inserts them.
#[derive(Default)]
pub struct Comments {
    read: Vec<Entry>,
    /// The source thread ids comments name, each kept once.
    thread_ids: Vec<String>,
    thread_index: HashMap<String, u32>,
    spill: Option<SpillWriter>,
    /// The first failure to write the temporary file; reported by `plan`.
    failed: Option<anyhow::Error>,
}

/// One comment as the shared pass needs it.
#[derive(Debug)]
struct Entry {
    /// The source's id, or a content hash for a comment without one.
    id: String,
    parent: Option<String>,
    /// Its source thread id, in `Comments::thread_ids`.
    thread: u32,
    created: Option<i64>,
    status: SourceStatus,
    keep_id: Option<i64>,
    /// Converted; empty for a deleted comment (stored, if at all, as a
    /// marker).
    fields: Fields,
}

impl Comments {
    /// Takes a comment the parser has read.
    pub fn push(&mut self, c: SourceComment) {
        if self.failed.is_some() {
            return;
        }
        match self.entry(c) {
            Ok(entry) => self.read.push(entry),
            Err(e) => self.failed = Some(e),
        }
    }

    fn entry(&mut self, c: SourceComment) -> Result<Entry> {
        let id = c.id.clone().unwrap_or_else(|| content_id(&c));
        let fields = if c.status == SourceStatus::Deleted {
            Fields::empty()
        } else {
            let spill = match &mut self.spill {
                Some(spill) => spill,
                None => self.spill.insert(SpillWriter::new()?),
            };
            spill.put(&import_fields(&c))?
        };
        let thread = match self.thread_index.get(&c.thread) {
            Some(&n) => n,
            None => {
                let n = u32::try_from(self.thread_ids.len()).context("too many threads")?;
                self.thread_index.insert(c.thread.clone(), n);
                self.thread_ids.push(c.thread);
                n
            }
        };
        Ok(Entry {
            id,
            parent: c.parent,
            thread,
            created: c.created,
            status: c.status,
            keep_id: c.keep_id,
            fields,
        })
    }

    /// Everything read, the thread ids it names, and the file the fields
    /// wait in.
    fn finish(self) -> Result<(Vec<Entry>, Vec<String>, Option<Spill>)> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let spill = self.spill.map(SpillWriter::finish).transpose()?;
        Ok((self.read, self.thread_ids, spill))
    }
}

impl fmt::Debug for Comments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Comments")
            .field("read", &self.read.len())
            .field("spilled", &self.spill.is_some())
            .finish()
    }
}

/// A comment's text and how the source rendered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// HTML: sanitized and turned into the Markdown kiln stores.
    Html(String),
    /// Markdown, stored as it is.
    Markdown(String),
}

/// A comment's state in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    Approved,
    Pending,
    Spam,
    Deleted,
    /// A value kiln does not know; `--status-of-unknown` decides.
    Unknown(String),
}

/// Something left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub what: String,
    pub why: String,
}

impl Skipped {
    fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Skipped {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// How the import places and judges what it reads.
#[derive(Debug, Clone)]
pub struct Options {
    /// The old site's URL: page URLs under it lose this origin and base
    /// path; URLs on another host cannot be placed (map them).
    pub site_url: Option<url::Url>,
    /// Thread renames: a source URL, thread key or source thread id → key.
    pub map: BTreeMap<String, String>,
    /// What a status kiln does not know becomes.
    pub unknown_status: Status,
    /// The site (`[[sites.site]]`'s `name`) whose threads the comments join:
    /// `--site`, default `default`. Source ids are remembered per site, so
    /// two sites' old databases (each with its own comment 1) both import.
    pub site: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            site_url: None,
            map: BTreeMap::new(),
            unknown_status: Status::Pending,
            site: crate::store::DEFAULT_SITE.to_owned(),
        }
    }
}

impl Options {
    /// `--site-url`: an http(s) URL with a host.
    pub fn parse_site_url(site: &str) -> Result<url::Url> {
        url::Url::parse(site)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .with_context(|| {
                format!(
                    "--site-url {site:?} is not an http(s) URL such as https://example.org/blog/"
                )
            })
    }

    /// Reads a mapping file: one rename a line, `OLD NEW` separated by
    /// white space; blank lines and lines starting with `#` are ignored.
    pub fn read_map(path: &Path) -> Result<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the mapping file {}", path.display()))?;
        let mut map = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(old), Some(new), None) => {
                    if map.insert(old.to_owned(), new.to_owned()).is_some() {
                        bail!(
                            "{}, line {}: {old} is mapped twice; keep one line for it",
                            path.display(),
                            n + 1
                        );
                    }
                }
                _ => bail!(
                    "{}, line {}: expected `OLD NEW` (a source URL, thread id or key, then the new thread key), found {line:?}",
                    path.display(),
                    n + 1
                ),
            }
        }
        Ok(map)
    }
}

/// What an import did, or with `--dry-run` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub format: Option<Format>,
    pub dry_run: bool,
    /// Comments added, by status.
    pub added: BTreeMap<&'static str, u64>,
    /// Threads comments were added to, and how many of them are new.
    pub threads: u64,
    pub new_threads: u64,
    /// Comments an earlier import already brought.
    pub already: u64,
    /// Left out on purpose (deleted without replies, pingbacks, duplicates…).
    pub skipped: Vec<Skipped>,
    /// Could not be placed: no thread, no known page, a broken chain.
    pub unplaced: Vec<Skipped>,
    /// Imported, but not exactly where the source had them.
    pub moved: Vec<Skipped>,
}

impl Report {
    pub fn added_total(&self) -> u64 {
        self.added.values().sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = self.format.map_or("", Format::name);
        let verb = if self.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        writeln!(
            f,
            "{verb} {} comment(s) from {format} into {} thread(s) ({} new).",
            self.added_total(),
            self.threads,
            self.new_threads
        )?;
        for (status, n) in &self.added {
            writeln!(f, "  {status}: {n}")?;
        }
        if self.already > 0 {
            writeln!(f, "Already imported before, left alone: {}", self.already)?;
        }
        let list = |f: &mut fmt::Formatter<'_>, title: &str, items: &[Skipped]| -> fmt::Result {
            if items.is_empty() {
                return Ok(());
            }
            writeln!(f, "{title}: {}", items.len())?;
            for s in items {
                writeln!(f, "  {}: {}", s.what, s.why)?;
            }
            Ok(())
        };
        list(f, "Skipped", &self.skipped)?;
        list(f, "Moved", &self.moved)?;
        list(f, "Could not be placed (not imported)", &self.unplaced)?;
        if self.dry_run {
            writeln!(f, "Nothing was written (--dry-run).")?;
        }
        Ok(())
    }
}

/// Reads `path` as `format` (detected when `None`), places everything, and
/// stores it in one transaction, or with `dry_run` only reports.
pub fn run(
    store: &mut dyn Store,
    format: Option<Format>,
    path: &Path,
    options: &Options,
    dry_run: bool,
) -> Result<Report> {
    save(store, prepare(format, path, options)?, dry_run)
}

/// A source read and placed, not stored yet.
#[derive(Debug)]
pub struct Planned {
    batch: ImportBatch,
    report: Report,
}

/// Reads and places a source without touching any database, so a source
/// that cannot be read is refused before the database is even opened.
pub fn prepare(format: Option<Format>, path: &Path, options: &Options) -> Result<Planned> {
    let format = match format {
        Some(f) => f,
        None => Format::detect(path)?,
    };
    let (batch, report) = plan(format, parse(format, path)?, options)?;
    Ok(Planned { batch, report })
}

/// Stores what `prepare` made, in one transaction (rolled back with
/// `dry_run`), and completes its report.
pub fn save(store: &mut dyn Store, planned: Planned, dry_run: bool) -> Result<Report> {
    let Planned { batch, mut report } = planned;
    let outcome = store.import_batch(&batch, !dry_run)?;
    report.dry_run = dry_run;
    record(&mut report, &batch, outcome);
    Ok(report)
}

/// Reads a source without storing anything.
pub fn parse(format: Format, path: &Path) -> Result<Parsed> {
    let parsed = match format {
        Format::Isso => isso::parse(path),
        Format::Disqus => disqus::parse(path),
        Format::Wordpress => wordpress::parse(path),
        Format::Remark42 => remark42::parse(path),
        Format::Commento | Format::Comentario => commento::parse(path),
        Format::Staticman => staticman::parse(path),
        Format::Kiln => kiln::parse(path),
    };
    parsed.with_context(|| format!("cannot import {} as {format}", path.display()))
}

/// Opens a file for reading, unpacking it when it is gzipped.
fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
    open_reader(path, false)
}

/// Opens a source to read it through: on a terminal, a progress bar on
/// standard error follows the bytes read (of the file as stored, so of the
/// gzip for a gzipped one). Nothing is drawn when stderr is not a terminal.
fn open_source(path: &Path) -> Result<Box<dyn BufRead>> {
    open_reader(path, true)
}

fn open_reader(path: &Path, progress: bool) -> Result<Box<dyn BufRead>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let read: Box<dyn Read> = if progress {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        // Cleared when the reader is dropped, that is when reading is done.
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::stderr(),
        )
        .with_finish(indicatif::ProgressFinish::AndClear);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "reading {msg} {wide_bar} {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        Box::new(bar.wrap_read(file))
    } else {
        Box::new(file)
    };
    let mut file = BufReader::new(read);
    let gzipped = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzipped {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// A whole (possibly gzipped) file as text.
fn read_text(path: &Path) -> Result<String> {
    let mut text = String::new();
    open_text(path)?
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    Ok(text)
}

/// The thread key for a source URL or path: its path (and query), with
/// `site_url`'s base path taken off, percent-encoded as bake encodes a
/// published path. `Err` says why it cannot be placed.
fn thread_key(url: &str, site_url: Option<&url::Url>) -> std::result::Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("it has no page URL".into());
    }
    let base = url::Url::parse("http://kiln.invalid/").expect("a valid URL");
    let parsed = match url::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
            if let Some(site) = site_url {
                if !same_host(&u, site) {
                    return Err(format!(
                        "{url} is not on --site-url {site}; map it with --map"
                    ));
                }
            }
            u
        }
        Ok(u) => return Err(format!("{url} is a {} URL, not a web page", u.scheme())),
        Err(_) if url.starts_with('/') => base.join(url).map_err(|e| format!("{url}: {e}"))?,
        Err(_) => {
            return Err(format!(
                "{url} is neither a URL nor a path; map it with --map"
            ))
        }
    };
    let mut path = parsed.path().to_owned();
    if let Some(site) = site_url {
        let prefix = site.path().trim_end_matches('/');
        match path.strip_prefix(prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                path = if rest.is_empty() {
                    "/".into()
                } else {
                    rest.into()
                };
            }
            _ => {
                return Err(format!(
                    "{url} is not under --site-url {site}; map it with --map"
                ))
            }
        }
    }
    Ok(match parsed.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    })
}

/// Hosts compared without a `www.` prefix and without the scheme: old
/// exports hold `http://www.` and `https://` URLs for the same site.
fn same_host(a: &url::Url, b: &url::Url) -> bool {
    let host = |u: &url::Url| {
        let h = u.host_str().unwrap_or("").to_ascii_lowercase();
        h.strip_prefix("www.").map(str::to_owned).unwrap_or(h)
    };
    host(a) == host(b)
}

/// A website as kiln keeps it: http(s) only, a bare host gets `http://`
/// (as Isso does), anything else is dropped.
fn website(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    if raw.is_empty() || raw == "undefined" {
        return None;
    }
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let u = url::Url::parse(&with_scheme).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| h.contains('.')))
        .then_some(with_scheme)
}

/// An email as kiln keeps it: trimmed, and only if it looks like one.
fn email(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    (raw.contains('@') && !raw.chars().any(char::is_whitespace)).then(|| raw.to_owned())
}

/// The shared pass: keys threads, maps statuses, turns deleted comments into
/// markers or leaves them out, orders every thread parents first, and says
/// why anything is not imported as the source had it.
pub fn plan(format: Format, parsed: Parsed, options: &Options) -> Result<(ImportBatch, Report)> {
    let mut report = Report {
        format: Some(format),
        skipped: parsed.skipped,
        ..Report::default()
    };
    let (entries, thread_ids, spill) = parsed.comments.finish()?;
    // Thread keys.
    let mut keys: HashMap<&str, std::result::Result<String, String>> = HashMap::new();
    let mut thread_at: HashMap<&str, usize> = HashMap::new();
    for (n, t) in parsed.threads.iter().enumerate() {
        thread_at.entry(&t.id).or_insert(n);
        let mapped = options
            .map
            .get(&t.url)
            .or_else(|| options.map.get(&t.id))
            .cloned();
        let key = match (mapped, &t.key) {
            (Some(k), _) => Ok(k),
            (None, Some(k)) => Ok(options.map.get(k).cloned().unwrap_or_else(|| k.clone())),
            (None, None) => thread_key(&t.url, options.site_url.as_ref())
                .map(|k| options.map.get(&k).cloned().unwrap_or(k)),
        };
        keys.entry(&t.id).or_insert(key);
    }
    // Each thread id the comments name: its thread in the source, if any.
    let named: Vec<Option<usize>> = thread_ids
        .iter()
        .map(|id| thread_at.get(id.as_str()).copied())
        .collect();

    // Comments: duplicates, threads, statuses, times.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut by_thread: BTreeMap<&str, Vec<Prepared>> = BTreeMap::new();
    for (at, c) in entries.iter().enumerate() {
        let what = || format!("comment {}", c.id);
        if !seen.insert(&c.id) {
            report.skipped.push(Skipped::new(
                what(),
                "an earlier comment in the source has the same id; that one was kept",
            ));
            continue;
        }
        let thread_id = &thread_ids[c.thread as usize];
        let Some(thread) = named[c.thread as usize] else {
            report.unplaced.push(Skipped::new(
                what(),
                format!("its thread {thread_id} is not in the source"),
            ));
            continue;
        };
        if parsed.threads[thread].deleted {
            report.skipped.push(Skipped::new(
                what(),
                format!("its thread {thread_id} was deleted in {format}"),
            ));
            continue;
        }
        let key = match &keys[thread_id.as_str()] {
            Ok(k) => k.as_str(),
            Err(why) => {
                report.unplaced.push(Skipped::new(
                    what(),
                    format!("its thread {thread_id} cannot be placed: {why}"),
                ));
                continue;
            }
        };
        let Some(created) = c.created else {
            report
                .unplaced
                .push(Skipped::new(what(), "it has no readable creation time"));
            continue;
        };
        let status = match &c.status {
            SourceStatus::Approved => Status::Approved,
            SourceStatus::Pending => Status::Pending,
            SourceStatus::Spam => Status::Spam,
            SourceStatus::Deleted => Status::Deleted,
            SourceStatus::Unknown(s) => {
                report.moved.push(Skipped::new(
                    what(),
                    format!(
                        "its status {s:?} is unknown; imported as {}",
                        options.unknown_status.as_str()
                    ),
                ));
                options.unknown_status
            }
        };
        by_thread.entry(key).or_default().push(Prepared {
            at,
            status,
            created,
            thread,
        });
    }
    drop(seen);

    let mut batch = ImportBatch {
        source: source_name(format, &options.site),
        site: options.site.clone(),
        threads: Vec::new(),
        spill,
    };
    while let Some((key, comments)) = by_thread.pop_first() {
        let thread = place_thread(
            key,
            comments,
            &entries,
            &parsed.threads,
            options.site_url.as_ref(),
            &mut report,
        );
        if !thread.comments.is_empty() {
            batch.threads.push(thread);
        }
    }
    Ok((batch, report))
}

/// The name source ids are remembered under: the format's for the default
/// site, as imports before sites existed remembered them, else
/// `format@site`, so each site's source has ids of its own.
fn source_name(format: Format, site: &str) -> String {
    if site == crate::store::DEFAULT_SITE {
        format.name().to_owned()
    } else {
        format!("{}@{site}", format.name())
    }
}

/// A comment that passed the first checks, waiting to be ordered.
struct Prepared {
    /// Its entry, which is also its place in the source.
    at: usize,
    status: Status,
    created: i64,
    /// Its thread in `Parsed::threads`.
    thread: usize,
}

/// One thread's comments, parents first: deleted comments without kept
/// replies are left out, those with replies become markers, and a
/// published reply under a comment that is not published moves up to its
/// nearest published ancestor.
fn place_thread(
    key: &str,
    comments: Vec<Prepared>,
    entries: &[Entry],
    threads: &[SourceThread],
    site_url: Option<&url::Url>,
    report: &mut Report,
) -> ImportThread {
    let url = comments
        .iter()
        .map(|c| threads[c.thread].url.as_str())
        .find(|u| u.starts_with("http"))
        .map(str::to_owned)
        .or_else(|| {
            // A path: on the site --site-url names, when there is one.
            let site = site_url?;
            site.join(&format!("{}{key}", site.path().trim_end_matches('/')))
                .ok()
                .map(String::from)
        })
        .unwrap_or_else(|| key.to_owned());
    let title = comments
        .iter()
        .map(|c| threads[c.thread].title.as_str())
        .find(|t| !t.is_empty())
        .unwrap_or("")
        .to_owned();
    let position: HashMap<&str, usize> = comments
        .iter()
        .enumerate()
        .map(|(i, c)| (entries[c.at].id.as_str(), i))
        .collect();
    // Parents within the thread; a parent elsewhere becomes top level.
    let mut parent: Vec<Option<usize>> = vec![None; comments.len()];
    for (i, c) in comments.iter().enumerate() {
        if let Some(p) = &entries[c.at].parent {
            match position.get(p.as_str()) {
                Some(&j) if j != i => parent[i] = Some(j),
                _ => report.moved.push(Skipped::new(
                    format!("comment {}", entries[c.at].id),
                    format!("its parent {p} is not in this thread of the source; imported at the top level"),
                )),
            }
        }
    }
    drop(position);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); comments.len()];
    let mut roots = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some(j) => children[*j].push(i),
            None => roots.push(i),
        }
    }
    let order_key = |&i: &usize| {
        let c = &comments[i];
        (entries[c.at].keep_id, c.created, c.at)
    };
    // Which comments hang from a top-level one (a loop never does).
    let mut reached = vec![false; comments.len()];
    let mut stack = roots;
    while let Some(i) = stack.pop() {
        reached[i] = true;
        stack.extend(children[i].iter().copied());
    }
    // In the order they were written, but every parent before its replies
    // (a reply dated before its parent waits for it).
    let mut by_time: Vec<usize> = (0..comments.len()).filter(|&i| reached[i]).collect();
    by_time.sort_by_key(order_key);
    let mut order = Vec::with_capacity(by_time.len());
    let mut emitted = vec![false; comments.len()];
    for i in by_time {
        let mut chain = vec![i];
        while let Some(p) = parent[*chain.last().expect("never empty")] {
            if emitted[p] {
                break;
            }
            chain.push(p);
        }
        for &j in chain.iter().rev() {
            if !emitted[j] {
                emitted[j] = true;
                order.push(j);
            }
        }
    }
    for (i, c) in comments.iter().enumerate() {
        if !reached[i] {
            report.unplaced.push(Skipped::new(
                format!("comment {}", entries[c.at].id),
                "its chain of parents loops back on itself",
            ));
        }
    }
    // Whether each comment is stored: a deleted one only as a marker with
    // published replies below it (children are decided first).
    let mut keeps = vec![false; comments.len()];
    for &i in order.iter().rev() {
        keeps[i] = comments[i].status != Status::Deleted
            || children[i]
                .iter()
                .any(|&j| keeps[j] && comments[j].status.is_published());
    }
    let mut out = Vec::with_capacity(order.len());
    for &i in &order {
        let c = &comments[i];
        if !keeps[i] {
            report.skipped.push(Skipped::new(
                format!("comment {}", entries[c.at].id),
                "deleted in the source, with no replies to keep",
            ));
            continue;
        }
        // The nearest ancestor that is stored and, for a published
        // comment, published too.
        let fits =
            |j: usize| keeps[j] && (!c.status.is_published() || comments[j].status.is_published());
        let mut p = parent[i];
        while let Some(j) = p {
            if fits(j) {
                break;
            }
            p = parent[j];
        }
        if let (Some(was), true) = (parent[i], p != parent[i]) {
            report.moved.push(Skipped::new(
                format!("comment {}", entries[c.at].id),
                format!(
                    "its parent {} is {}, so it hangs under {} instead",
                    entries[comments[was].at].id,
                    if keeps[was] {
                        comments[was].status.as_str()
                    } else {
                        "left out"
                    },
                    p.map_or("the thread".to_owned(), |j| format!(
                        "comment {}",
                        entries[comments[j].at].id
                    )),
                ),
            ));
        }
        out.push(ImportComment {
            source_id: entries[c.at].id.clone(),
            parent: p.map(|j| entries[comments[j].at].id.clone()),
            id: entries[c.at].keep_id,
            status: c.status,
            created_at: c.created,
            fields: entries[c.at].fields.clone(),
        });
    }
    ImportThread {
        key: key.to_owned(),
        url,
        title,
        comments: out,
    }
}

/// The stored form of a comment's person and text: text as Markdown and
/// people's fields checked. (A deleted comment stores none of it.)
fn import_fields(s: &SourceComment) -> ImportFields {
    let text = match &s.text {
        Text::Markdown(md) => md.replace("\r\n", "\n"),
        Text::Html(html) => text::html_to_markdown(html),
    };
    ImportFields {
        author: s.author.trim().to_owned(),
        email: email(s.email.as_deref()),
        website: website(s.website.as_deref()),
        text,
        remote_addr: s.remote_addr.clone().filter(|a| !a.is_empty()),
        avatar: s.avatar.clone(),
    }
}

/// An id for a comment the source gave none: the same comment gives the
/// same id on every run, so a re-import still adds nothing.
fn content_id(c: &SourceComment) -> String {
    use sha2::{Digest, Sha256};
    let text = match &c.text {
        Text::Html(t) | Text::Markdown(t) => t,
    };
    let mut h = Sha256::new();
    for part in [
        c.thread.as_str(),
        &c.created.unwrap_or_default().to_string(),
        &c.author,
        text,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Adds what the store did to the report. The store lists what it added
/// in the batch's order, so the two are walked side by side.
fn record(report: &mut Report, batch: &ImportBatch, outcome: ImportOutcome) {
    let mut added = outcome.added.iter().peekable();
    for t in &batch.threads {
        let mut any = false;
        for c in &t.comments {
            if added.next_if(|(id, _)| *id == c.source_id).is_some() {
                *report.added.entry(c.status.as_str()).or_default() += 1;
                any = true;
            }
        }
        report.threads += u64::from(any);
    }
    debug_assert!(
        added.next().is_none(),
        "the store added in the batch's order"
    );
    report.new_threads = outcome.new_threads;
    report.already = outcome.already.len() as u64;
    report.unplaced.extend(
        outcome
            .unplaced
            .into_iter()
            .map(|(id, why)| Skipped::new(format!("comment {id}"), why)),
    );
}

/// A time as seconds since the epoch, from RFC 3339 (any offset) or the
/// UTC forms sources write without one (`2024-01-02 03:04:05`,
/// `2024-01-02T03:04:05`, with or without a fraction).
fn parse_utc(raw: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let raw = raw.trim();
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let naive = raw.replacen(' ', "T", 1);
    let naive = naive.trim_end_matches('Z');
    let forms = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ];
    forms
        .iter()
        .find_map(|f| time::PrimitiveDateTime::parse(naive, f).ok())
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests;
