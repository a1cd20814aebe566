//! Which feeds one bake refreshes, and writing them. A re-bake reads only
//! the pages whose threads changed, yet the feeds must stay right: this
//! module puts together what the pages placed now and what the bake state
//! remembers (every page showing each thread, the site feed's entries),
//! reads the few threads it cannot do without, and writes each feed
//! atomically, only when its bytes change. The feeds' bytes are `feed`'s.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::export::Thread;
use crate::feed::{self, Entry, FeedPage};
use crate::fragments::write_if_changed;
use crate::state::FileState;
use crate::walk::{self, DirState};
use crate::Source;

/// Where a bake's feeds go, checked.
pub struct FeedsAt {
    /// Relative to the output directory, `/`-separated.
    pub dir: String,
    /// What pages link feeds under: the site's base path and `dir`, ending in `/`.
    pub href_prefix: String,
    /// The feeds' absolute URL prefix, ending in `/`.
    url_prefix: String,
    site: url::Url,
}

impl FeedsAt {
    /// `dir` under the site at `site_url` (whose path is `base`). Feeds
    /// need absolute URLs, so a site URL that is not one is refused.
    pub fn new(dir: &Path, site_url: &str, base: &str) -> Result<Self> {
        let dir = crate::feeds_dir_path(dir).context("`bake.feeds_dir`")?;
        let site = url::Url::parse(site_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        let Some(site) = site else {
            if site_url.is_empty() {
                bail!(
                    "`bake.feeds` is on but `bake.site_url` is not set: an Atom feed needs absolute URLs for its ids and links. \
                     Set `bake.site_url` (or `--site-url`) to the site's public URL, such as \"https://example.org\", or turn `bake.feeds` off"
                );
            }
            bail!(
                "`bake.feeds` is on but `bake.site_url` = {site_url:?} is not an absolute http(s) URL, which an Atom feed needs for its ids and links. \
                 Set `bake.site_url` (or `--site-url`) to the site's public URL, such as \"https://example.org\", or turn `bake.feeds` off"
            );
        };
        Ok(FeedsAt {
            href_prefix: format!("{base}/{dir}/"),
            url_prefix: format!("{site_url}/{dir}/"),
            dir,
            site,
        })
    }

    /// A page URL as the thread placed it (`data-kiln-url` may be
    /// relative), made absolute against the site's URL.
    pub fn absolute(&self, page_url: &str) -> String {
        self.site
            .join(page_url)
            .map(String::from)
            .unwrap_or_else(|_| page_url.to_owned())
    }
}

/// Every page showing each thread, in path order.
pub type Pages = BTreeMap<String, Vec<FeedPage>>;

/// One bake's work on the feeds, after the pages are done.
pub struct FeedRun<'a> {
    pub root: &'a Path,
    pub at: &'a FeedsAt,
    pub site_url: &'a str,
    /// The pages this bake read, by relative path.
    pub read: HashSet<&'a str>,
    /// The threads placed on those pages, with each page that shows them.
    pub placed: Pages,
    /// What the last bake's state remembered: every page showing each
    /// thread, and the site feed's entries.
    pub known: Pages,
    pub latest: Vec<Entry>,
    /// Every page the state now records.
    pub files: &'a BTreeMap<String, FileState>,
    pub threads: &'a HashMap<String, Thread>,
    /// Look for thread feeds that went missing (someone emptied the
    /// directory), which a vouched-for listing rules out.
    pub check_files: bool,
}

/// What the state keeps for the next bake.
pub struct Remembered {
    pub pages: Pages,
    pub latest: Vec<Entry>,
}

impl FeedRun<'_> {
    /// Writes the feeds of the threads placed in this bake (and of any the
    /// site feed or a missing file needs), and the site feed, where their
    /// bytes change; removes the feeds of threads no page shows any more.
    /// Adds what it wrote or removed to `written`.
    pub fn update(
        self,
        source: &mut dyn Source,
        written: &mut Vec<PathBuf>,
        dirs: &mut BTreeMap<String, DirState>,
    ) -> Result<Remembered> {
        let pages = self.pages();
        // The page each feed links to: the first showing its thread.
        let first = |id: &str| &pages[id][0];
        let unread = || pages.keys().filter(|id| !self.placed.contains_key(*id));
        let dir = self.root.join(&self.at.dir);
        // Threads not placed now whose feed must be made again all the
        // same: the first page showing them changed, or their file went.
        let present = match self.check_files {
            true => Some(names_in(&dir)?),
            false => None,
        };
        let extra: Vec<String> = unread()
            .filter(|id| {
                let moved = self.known.get(*id).and_then(|p| p.first()) != Some(first(id));
                let file = OsString::from(feed::file_name(id));
                moved || present.as_ref().is_some_and(|names| !names.contains(&file))
            })
            .cloned()
            .collect();

        let mut fresh: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for id in self.placed.keys() {
            fresh.insert(id.clone(), entries(self.threads, id, first(id)));
        }
        let load = |ids: Vec<String>,
                    source: &mut dyn Source,
                    fresh: &mut BTreeMap<String, Vec<Entry>>|
         -> Result<()> {
            if ids.is_empty() {
                return Ok(());
            }
            let loaded: HashMap<String, Thread> = source
                .threads(Some(&ids))
                .with_context(|| format!("reading comments from {}", source.describe()))?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            for id in ids {
                let entries = entries(&loaded, &id, first(&id));
                fresh.insert(id, entries);
            }
            Ok(())
        };
        load(extra, source, &mut fresh)?;
        let mut site = self.site_entries(&pages, &fresh);
        // The remembered entries were the newest `SITE_LIMIT`. If fewer
        // than that are still at least as new as the oldest of them, an
        // older comment of a thread not read may belong in the feed: read
        // every thread some page shows.
        if let Some(oldest) = self.latest.last() {
            let newer = site.iter().filter(|e| e.key() >= oldest.key()).count();
            if self.latest.len() >= feed::SITE_LIMIT && newer < feed::SITE_LIMIT {
                let rest = unread().filter(|id| !fresh.contains_key(*id)).cloned();
                load(rest.collect(), source, &mut fresh)?;
                site = self.site_entries(&pages, &fresh);
            }
        }
        feed::newest_first(&mut site, feed::SITE_LIMIT);

        let before = written.len();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (id, entries) in &fresh {
            let name = feed::file_name(id);
            let url = format!("{}{name}", self.at.url_prefix);
            let bytes = feed::thread_feed(&url, first(id), entries)?;
            let path = dir.join(&name);
            if write_if_changed(&path, &bytes)? {
                written.push(path);
            }
        }
        let url = format!("{}{}", self.at.url_prefix, feed::SITE_FILE);
        let bytes = feed::site_feed(&url, self.site_url, &site)?;
        let path = dir.join(feed::SITE_FILE);
        if write_if_changed(&path, &bytes)? {
            written.push(path);
        }
        // Feeds of threads no page shows any more: only names `feed` made
        // from ids, so nothing else in the directory is touched.
        for id in self.known.keys().filter(|id| !pages.contains_key(*id)) {
            let path = dir.join(feed::file_name(id));
            match std::fs::remove_file(&path) {
                Ok(()) => written.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            }
        }
        // Our writes moved the directory's mtime; remember the new one so
        // the next bake can still trust its listing.
        if written.len() > before {
            if let Some(entry) = dirs.get_mut(&self.at.dir) {
                entry.mtime_ns = walk::dir_mtime(self.root, &self.at.dir).unwrap_or(0);
            }
        }
        Ok(Remembered {
            pages,
            latest: site,
        })
    }

    /// Every page now showing each thread: those this bake read, and the
    /// remembered ones it did not read, which show what they showed.
    fn pages(&self) -> Pages {
        let mut pages = self.placed.clone();
        for (id, remembered) in &self.known {
            for page in remembered {
                let unread = !self.read.contains(page.relative.as_str());
                let shows = self
                    .files
                    .get(&page.relative)
                    .is_some_and(|f| f.threads.contains(id));
                if unread && shows {
                    pages.entry(id.clone()).or_default().push(page.clone());
                }
            }
        }
        for list in pages.values_mut() {
            list.sort_by(|a, b| a.relative.cmp(&b.relative));
            list.dedup_by(|a, b| a.relative == b.relative);
        }
        pages
    }

    /// The site feed's candidates: the remembered entries of threads still
    /// shown and not read again, and the fresh ones.
    fn site_entries(&self, pages: &Pages, fresh: &BTreeMap<String, Vec<Entry>>) -> Vec<Entry> {
        let mut all: Vec<Entry> = self
            .latest
            .iter()
            .filter(|e| pages.contains_key(&e.thread) && !fresh.contains_key(&e.thread))
            .cloned()
            .collect();
        all.extend(
            fresh
                .values()
                .flat_map(|e| e.iter().take(feed::SITE_LIMIT).cloned()),
        );
        all
    }
}

/// A thread's entries for its feed; none when it has no comment.
fn entries(threads: &HashMap<String, Thread>, id: &str, page: &FeedPage) -> Vec<Entry> {
    threads
        .get(id)
        .map(|t| feed::entries(t, page, feed::THREAD_LIMIT))
        .unwrap_or_default()
}

/// The names in `dir`; none when it does not exist.
fn names_in(dir: &Path) -> Result<BTreeSet<OsString>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}
