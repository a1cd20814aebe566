//! Finds the HTML pages under the output directory.
//!
//! A re-bake after one approval must not read 10,000 directories, so a
//! listing can reuse the previous bake's: a directory whose mtime has not
//! moved has the same entries (adding, removing or renaming an entry updates
//! it), and only its files are stat'ed again. Symlinks are never followed.
//! A temp file that a killed bake left in a directory it lists is removed.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inject::{is_temp_name, mtime_ns};

/// One HTML page.
#[derive(Debug)]
pub struct PageFile {
    /// Relative to the output directory, `/`-separated.
    pub relative: String,
    pub path: PathBuf,
    pub meta: Metadata,
    /// False when the path is not UTF-8: such a page is baked, but never
    /// remembered, so it is always read.
    pub tracked: bool,
}

/// What a directory held at the last bake, for reuse by the next. Stored as
/// `[mtime_ns, [files], [dirs]]` to keep the state file quick to parse.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "(u64, Vec<String>, Vec<String>)")]
pub struct DirState {
    pub mtime_ns: u64,
    /// Names of the HTML files in it.
    pub files: Vec<String>,
    /// Names of its subdirectories.
    pub dirs: Vec<String>,
}

impl From<(u64, Vec<String>, Vec<String>)> for DirState {
    fn from((mtime_ns, files, dirs): (u64, Vec<String>, Vec<String>)) -> Self {
        DirState {
            mtime_ns,
            files,
            dirs,
        }
    }
}

impl Serialize for DirState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.mtime_ns, &self.files, &self.dirs).serialize(serializer)
    }
}

#[derive(Debug, Default)]
pub struct Listing {
    /// Sorted by relative path.
    pub files: Vec<PageFile>,
    /// Every tracked directory, by relative path (`""` is the root).
    pub dirs: BTreeMap<String, DirState>,
}

/// Lists every page under `root`, reusing `cache` for directories whose
/// mtime is unchanged.
pub fn list(root: &Path, cache: Option<BTreeMap<String, DirState>>) -> Result<Listing> {
    let meta = fs::metadata(root)
        .with_context(|| format!("reading output directory {}", root.display()))?;
    if !meta.is_dir() {
        anyhow::bail!("output directory {} is not a directory", root.display());
    }
    let mut listing = match cache {
        Some(cache) => list_cached(root, cache)?,
        None => visit(root.to_owned(), String::new(), true, None)?,
    };
    listing
        .files
        .sort_unstable_by(|a, b| a.relative.cmp(&b.relative));
    Ok(listing)
}

/// The re-bake path: stat every known directory at once; when none moved
/// (the usual case after an approval) the page list is the cached one, and
/// every page is stat'ed at once. Otherwise walk the tree in memory, listing
/// only the directories that changed.
fn list_cached(root: &Path, cache: BTreeMap<String, DirState>) -> Result<Listing> {
    let known: Vec<(String, DirState)> = cache.into_iter().collect();
    let mtimes: Vec<Option<u64>> = known
        .par_iter()
        .map(|(relative, _)| {
            let meta = fs::symlink_metadata(path_of(root, relative)).ok()?;
            meta.is_dir().then(|| mtime_ns(&meta))
        })
        .collect();
    let all_unchanged = known
        .iter()
        .zip(&mtimes)
        .all(|((_, state), mtime)| Some(state.mtime_ns) == *mtime);

    let mut listing = Listing::default();
    let mut pages: Vec<(String, PathBuf)> = Vec::new();
    if all_unchanged {
        for (relative, state) in &known {
            let dir = path_of(root, relative);
            pages.extend(
                state
                    .files
                    .iter()
                    .map(|name| (join(relative, name), dir.join(name))),
            );
        }
        // Sorted input, so this builds the map in one pass.
        listing.dirs = known.into_iter().collect();
    } else {
        let mut cache: HashMap<String, (DirState, Option<u64>)> = known
            .into_iter()
            .zip(mtimes)
            .map(|((r, s), m)| (r, (s, m)))
            .collect();
        let mut pending = vec![String::new()];
        while let Some(relative) = pending.pop() {
            let dir = path_of(root, &relative);
            let state = match cache.remove(&relative) {
                Some((state, Some(mtime))) if state.mtime_ns == mtime => state,
                stale => {
                    // New or changed: list it afresh, reusing what is known
                    // below it (and its old record if its entries are the same).
                    let mut below: BTreeMap<String, DirState> = BTreeMap::new();
                    if let Some((state, _)) = stale {
                        below.insert(relative.clone(), state);
                    }
                    let prefix = format!("{relative}/");
                    let under: Vec<String> = cache
                        .keys()
                        .filter(|k| relative.is_empty() || k.starts_with(&prefix))
                        .cloned()
                        .collect();
                    for key in under {
                        let (state, _) = cache.remove(&key).expect("listed above");
                        below.insert(key, state);
                    }
                    let sub = visit(dir, relative, true, Some(&below))?;
                    listing.files.extend(sub.files);
                    listing.dirs.extend(sub.dirs);
                    continue;
                }
            };
            pages.extend(
                state
                    .files
                    .iter()
                    .map(|name| (join(&relative, name), dir.join(name))),
            );
            pending.extend(state.dirs.iter().map(|name| join(&relative, name)));
            listing.dirs.insert(relative, state);
        }
    }

    let found: Vec<PageFile> = pages
        .into_par_iter()
        .map(|(relative, path)| match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(PageFile {
                relative,
                path,
                meta,
                tracked: true,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        })
        .filter_map(Result::transpose)
        .collect::<Result<_>>()?;
    listing.files.extend(found);
    Ok(listing)
}

fn path_of(root: &Path, relative: &str) -> PathBuf {
    if relative.is_empty() {
        root.to_owned()
    } else {
        root.join(relative)
    }
}

/// Whether a file name is an HTML page.
pub fn is_html(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("html") || ext.eq_ignore_ascii_case("htm"))
}

fn visit(
    dir: PathBuf,
    relative: String,
    tracked: bool,
    cache: Option<&BTreeMap<String, DirState>>,
) -> Result<Listing> {
    let meta = fs::symlink_metadata(&dir)
        .with_context(|| format!("reading directory {}", dir.display()))?;
    let mtime = mtime_ns(&meta);
    let cached = cache
        .filter(|_| tracked)
        .and_then(|c| c.get(&relative))
        .filter(|d| d.mtime_ns == mtime);
    let (entries, all_utf8) = match cached {
        Some(state) => (cached_entries(&dir, state), true),
        None => read_entries(&dir)?,
    };
    let tracked = tracked && all_utf8;
    // A directory whose mtime moved but whose entries did not (say, the state
    // file was replaced in it) keeps its old record: the next bake lists it
    // again, but the state does not change just for that.
    let previous = cache.filter(|_| tracked).and_then(|c| c.get(&relative));

    let mut listing = Listing::default();
    let mut state = DirState {
        mtime_ns: mtime,
        files: Vec::new(),
        dirs: Vec::new(),
    };
    let mut subdirs = Vec::new();
    for entry in entries {
        let child = join(&relative, &entry.name);
        match entry.kind {
            Kind::Dir => {
                state.dirs.push(entry.name);
                subdirs.push((entry.path, child));
            }
            Kind::File => {
                let meta = match fs::symlink_metadata(&entry.path) {
                    Ok(meta) if meta.is_file() => meta,
                    // Gone or replaced since it was listed: not a page now.
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(e).with_context(|| format!("reading {}", entry.path.display()))
                    }
                };
                state.files.push(entry.name);
                listing.files.push(PageFile {
                    relative: child,
                    path: entry.path,
                    meta,
                    tracked,
                });
            }
        }
    }
    let children: Vec<Listing> = subdirs
        .into_par_iter()
        .map(|(path, child)| visit(path, child, tracked, cache))
        .collect::<Result<_>>()?;
    for child in children {
        listing.files.extend(child.files);
        listing.dirs.extend(child.dirs);
    }
    if tracked {
        let unchanged = previous.filter(|p| p.files == state.files && p.dirs == state.dirs);
        listing
            .dirs
            .insert(relative, unchanged.cloned().unwrap_or(state));
    }
    Ok(listing)
}

enum Kind {
    File,
    Dir,
}

struct Entry {
    name: String,
    path: PathBuf,
    kind: Kind,
}

fn cached_entries(dir: &Path, state: &DirState) -> Vec<Entry> {
    let files = state.files.iter().map(|name| (name, Kind::File));
    let dirs = state.dirs.iter().map(|name| (name, Kind::Dir));
    files
        .chain(dirs)
        .map(|(name, kind)| Entry {
            name: name.clone(),
            path: dir.join(name),
            kind,
        })
        .collect()
}

/// The HTML files and subdirectories of one directory, and whether every
/// name was UTF-8.
fn read_entries(dir: &Path) -> Result<(Vec<Entry>, bool)> {
    let mut entries = Vec::new();
    let mut all_utf8 = true;
    let walker = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.with_context(|| format!("reading directory {}", dir.display()))?;
        let kind = if entry.file_type().is_dir() {
            Kind::Dir
        } else if entry.file_type().is_file() {
            Kind::File
        } else {
            continue;
        };
        let name = match entry.file_name().to_str() {
            Some(name) => name.to_owned(),
            None => {
                all_utf8 = false;
                entry.file_name().to_string_lossy().into_owned()
            }
        };
        if matches!(kind, Kind::File) && is_temp_name(&name) {
            // Left by a bake killed mid-write (see `is_temp_name`).
            match fs::remove_file(entry.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("removing {}", entry.path().display()))
                }
            }
            continue;
        }
        if matches!(kind, Kind::File) && !is_html(&name) {
            continue;
        }
        entries.push(Entry {
            name,
            path: entry.into_path(),
            kind,
        });
    }
    Ok((entries, all_utf8))
}

fn join(relative: &str, name: &str) -> String {
    if relative.is_empty() {
        name.to_owned()
    } else {
        format!("{relative}/{name}")
    }
}

/// The current mtime of a tracked directory, after our own writes moved it.
pub fn dir_mtime(root: &Path, relative: &str) -> Option<u64> {
    let path = if relative.is_empty() {
        root.to_owned()
    } else {
        root.join(relative)
    };
    fs::symlink_metadata(path).ok().map(|m| mtime_ns(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_bakes_temp_file_is_removed_and_never_listed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("index.html"), "page").unwrap();
        let temp = sub.join(".index.html.kiln-tmp-0123456789abcdef");
        fs::write(&temp, "half a page").unwrap();
        let theirs = sub.join(".notes.kiln-tmp-mine");
        fs::write(&theirs, "not ours").unwrap();
        let listing = list(dir.path(), None).unwrap();
        let pages: Vec<_> = listing.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(pages, ["a/index.html"]);
        assert!(!temp.exists(), "the stale temp file is gone");
        assert!(
            theirs.exists(),
            "a file that only looks alike is left alone"
        );
    }
}
