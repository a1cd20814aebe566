//! Telling bake's own writes from everyone else's, for whatever watches a
//! baked directory (`kiln bake --watch`, the receiver's in-place publisher):
//! bake's temp files never count, a page still exactly as bake left it
//! (size, mtime, inode) is bake's own, and so is a feed bake removed.
//! Anything else under the directory is a change someone else made.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::inject::FileMeta;

/// The pages the last bake wrote, as it left them.
#[derive(Debug, Default)]
pub struct OwnWrites {
    written: HashMap<PathBuf, FileMeta>,
    /// Files the last bake removed (the feeds of threads no page shows).
    removed: HashSet<PathBuf>,
}

impl OwnWrites {
    /// Remembers the files a bake just wrote (`Summary::written`).
    pub fn record(&mut self, written: &[PathBuf]) {
        self.written.clear();
        self.removed.clear();
        for path in written {
            match std::fs::metadata(path) {
                Ok(meta) => {
                    self.written.insert(absolute(path), FileMeta::of(&meta));
                }
                Err(_) => {
                    self.removed.insert(absolute(path));
                }
            }
        }
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
            // Removed: unless bake removed it (its temp files, a feed), a
            // page or a directory (which can no longer be told apart) went.
            Err(_) => !self.removed.contains(path),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_bake_wrote_or_removed_is_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("page.html");
        let feed = dir.path().join("gone.xml");
        std::fs::write(&page, "baked").unwrap();
        let mut ours = OwnWrites::default();
        ours.record(&[page.clone(), feed.clone()]);
        let (page, feed) = (absolute(&page), absolute(&feed));
        assert!(!ours.is_foreign_change(&page));
        assert!(!ours.is_foreign_change(&feed));
        // Someone else's removal, and someone else's write.
        assert!(ours.is_foreign_change(&dir.path().join("other.html")));
        std::fs::write(&page, "rebuilt by the generator").unwrap();
        assert!(ours.is_foreign_change(&page));
    }
}
