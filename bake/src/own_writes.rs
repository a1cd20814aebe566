//! Telling bake's own writes from everyone else's, for whatever watches a
//! baked directory (`kiln bake --watch`, the receiver's in-place publisher):
//! bake's temp files never count, and a page still exactly as bake left it
//! (size, mtime, inode) is bake's own. Anything else under the directory is
//! a change someone else made.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::inject::FileMeta;

/// The pages the last bake wrote, as it left them.
#[derive(Debug, Default)]
pub struct OwnWrites {
    written: HashMap<PathBuf, FileMeta>,
}

impl OwnWrites {
    /// Remembers the files a bake just wrote (`Summary::written`).
    pub fn record(&mut self, written: &[PathBuf]) {
        self.written = written
            .iter()
            .filter_map(|path| {
                let meta = std::fs::metadata(path).ok()?;
                Some((absolute(path), FileMeta::of(&meta)))
            })
            .collect();
    }

    /// Whether a change notified at `path` (absolute) calls for a bake:
    /// directories and pages count, unless the page is still exactly as
    /// bake wrote it; bake's temp files and other assets (CSS, images) do
    /// not.
    pub fn is_foreign_change(&self, path: &Path) -> bool {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.contains(".kiln-tmp-") {
            return false;
        }
        let is_page = name.ends_with(".html") || name.ends_with(".htm");
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => true,
            Ok(meta) => {
                is_page
                    && self
                        .written
                        .get(path)
                        .is_none_or(|mine| *mine != FileMeta::of(&meta))
            }
            // Removed: bake only ever removes its temp files, so a page or
            // a directory (which can no longer be told apart) went.
            Err(_) => true,
        }
    }
}

/// An absolute path with its directory part canonical, so it matches the
/// paths file watchers report (which resolve symlinked parents).
pub fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|p| p.join(name))
            .unwrap_or_else(|_| path.clone()),
        _ => path,
    }
}
