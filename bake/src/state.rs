//! What a bake remembers for the next one, so that a re-bake after one
//! approval touches one page instead of reading the whole site.
//!
//! The state is only trusted when it was made from the same data set (source
//! identity) with the same templates, options and kiln version (fingerprint).
//! A page is skipped when its length, mtime and inode are what we left
//! behind and the stamps of every thread it shows are unchanged.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::feed::{Entry, FeedPage};
use crate::inject::{write_atomic, FileMeta};
use crate::source::Stamp;
use crate::walk::DirState;

/// Bumped whenever the shape below changes; other versions are ignored.
const FORMAT: u32 = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    /// `Source::identity` of the data the pages were baked from.
    pub source: String,
    /// Hash of the kiln version, templates, render options, site URL and
    /// output directory.
    pub fingerprint: String,
    pub dirs: BTreeMap<String, DirState>,
    /// Every page seen, by relative path.
    pub files: BTreeMap<String, FileState>,
    /// The stamp (`[version, count]`) each thread shown on some page had
    /// when it was rendered.
    pub stamps: BTreeMap<String, (u64, u64)>,
    /// With feeds on, every thread some page shows, and those pages in
    /// path order (the first is what its feed links to).
    pub feeds: BTreeMap<String, Vec<FeedPage>>,
    /// With feeds on, the site feed's entries, newest first: a re-bake
    /// reads only the changed threads, and must still know the others'.
    pub latest: Vec<Entry>,
}

/// Stored as a tuple `(len, mtime_ns, ino, threads, counts)`: there is one
/// per page, and decoding 10,000 of them is a visible part of a re-bake.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "FileRow")]
pub struct FileState {
    pub meta: FileMeta,
    pub threads: Vec<String>,
    pub counts: Vec<String>,
}

type FileRow = (u64, u64, u64, Vec<String>, Vec<String>);

impl From<FileRow> for FileState {
    fn from((len, mtime_ns, ino, threads, counts): FileRow) -> Self {
        FileState {
            meta: FileMeta { len, mtime_ns, ino },
            threads,
            counts,
        }
    }
}

impl Serialize for FileState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut row = serializer.serialize_tuple(5)?;
        row.serialize_element(&self.meta.len)?;
        row.serialize_element(&self.meta.mtime_ns)?;
        row.serialize_element(&self.meta.ino)?;
        row.serialize_element(&self.threads)?;
        row.serialize_element(&self.counts)?;
        row.end()
    }
}

impl FileState {
    /// The ids whose stamps decide whether the page is current.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.threads.iter().chain(&self.counts)
    }
}

/// A state file as read, kept raw so an unchanged state is not rewritten.
pub struct Loaded {
    pub state: Option<State>,
    pub raw: Option<Vec<u8>>,
}

impl State {
    pub fn new(source: String, fingerprint: String) -> Self {
        State {
            format: FORMAT,
            source,
            fingerprint,
            ..State::default()
        }
    }

    /// Reads a state file. A missing, unreadable or foreign file just means
    /// a full bake; the reason is returned for a warning.
    pub fn load(path: &Path) -> (Loaded, Option<String>) {
        let raw = match std::fs::read(path) {
            Ok(raw) => raw,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return (
                    Loaded {
                        state: None,
                        raw: None,
                    },
                    None,
                );
            }
            Err(e) => {
                let why = format!(
                    "could not read bake state {}: {e}; baking everything",
                    path.display()
                );
                return (
                    Loaded {
                        state: None,
                        raw: None,
                    },
                    Some(why),
                );
            }
        };
        match postcard::from_bytes::<State>(&raw) {
            Ok(state) if state.format == FORMAT => (
                Loaded {
                    state: Some(state),
                    raw: Some(raw),
                },
                None,
            ),
            Ok(_) => (
                Loaded {
                    state: None,
                    raw: Some(raw),
                },
                None,
            ),
            Err(e) => {
                let why = format!("ignoring unreadable bake state {}: {e}", path.display());
                (
                    Loaded {
                        state: None,
                        raw: Some(raw),
                    },
                    Some(why),
                )
            }
        }
    }

    /// Whether this state describes pages baked from `source` with `fingerprint`.
    pub fn matches(&self, source: &str, fingerprint: &str) -> bool {
        self.source == source && self.fingerprint == fingerprint
    }

    /// Whether a page recorded here still shows what the source holds.
    pub fn is_current(&self, file: &FileState, stamps: &HashMap<String, Stamp>) -> bool {
        file.ids()
            .all(|id| self.stamps.get(id).copied() == stamps.get(id).map(|s| (s.version, s.count)))
    }

    /// Keeps the stamps of exactly the ids some page shows.
    pub fn record_stamps(&mut self, stamps: &HashMap<String, Stamp>) {
        let mut kept = BTreeMap::new();
        for file in self.files.values() {
            for id in file.ids() {
                if let Some(stamp) = stamps.get(id) {
                    kept.insert(id.clone(), (stamp.version, stamp.count));
                }
            }
        }
        self.stamps = kept;
    }

    /// Writes the state atomically, unless it is byte-identical to `previous`.
    pub fn save(&self, path: &Path, previous: Option<&[u8]>) -> Result<bool> {
        let bytes = postcard::to_stdvec(self).context("serializing the bake state")?;
        if previous == Some(bytes.as_slice()) {
            return Ok(false);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomic(path, &bytes, None)
            .with_context(|| format!("saving bake state {}", path.display()))?;
        Ok(true)
    }
}
