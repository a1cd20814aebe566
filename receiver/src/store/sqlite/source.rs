//! bake's view of the SQLite database: the `Source` trait implemented over the
//! store, so a re-bake learns which threads changed from one small query.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::Thread;
use kiln_bake::source::{Source, Stamp};

use super::SqliteStore;
use crate::store::sited;

/// Below this many published comments, one connection reads them all.
const SPLIT_FROM: u64 = 20_000;

/// Reads published comments straight from a kiln database file.
pub struct SqliteSource {
    store: SqliteStore,
    avatars: AvatarKeys,
    /// The site whose threads it reads.
    site: String,
    /// Whether to count each comment's likes (see `leave_out_likes`).
    likes: bool,
}

impl SqliteSource {
    /// Opens the database read-only; bake never writes to it. With
    /// `gravatar` (`privacy.gravatar`), comments carry Gravatar hashes too.
    pub fn open(path: &Path, gravatar: bool, site: &str) -> Result<Self> {
        let store = SqliteStore::open_read_only(path)?;
        let avatars = store.avatar_keys(gravatar)?;
        let site = site.to_owned();
        Ok(SqliteSource {
            store,
            avatars,
            site,
            likes: true,
        })
    }
}

impl Source for SqliteSource {
    fn describe(&self) -> String {
        self.store.path().display().to_string()
    }

    fn identity(&mut self) -> Result<String> {
        Ok(sited(
            format!("sqlite:{}", self.store.instance_id()?),
            &self.site,
        ))
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self
            .store
            .thread_stamps(&self.site)?
            .into_iter()
            .map(|(key, version, count)| (key, Stamp { version, count }))
            .collect())
    }

    /// All threads are read in runs side by side, one connection each:
    /// decoding 100,000 rows and keying their avatars is most of a full
    /// bake's time before pages can be written, and it divides.
    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if ids.is_some() || parts < 2 {
            return self.store.published_threads_in(
                &self.site,
                ids,
                None,
                &self.avatars,
                self.likes,
            );
        }
        self.threads_in_runs(parts, SPLIT_FROM)
    }

    fn leave_out_likes(&mut self) {
        self.likes = false;
    }
}

impl SqliteSource {
    /// Every published thread, read in up to `parts` runs side by side, or
    /// by one query when there are fewer than `split_from` comments.
    fn threads_in_runs(&self, parts: usize, split_from: u64) -> Result<Vec<Thread>> {
        let (runs, total) = self.store.published_runs(&self.site, parts)?;
        let likes = self.likes;
        if total < split_from {
            return self
                .store
                .published_threads_in(&self.site, None, None, &self.avatars, likes);
        }
        let Some((first, others)) = runs.split_first() else {
            return Ok(Vec::new());
        };
        let (store, avatars, path) = (&self.store, &self.avatars, self.store.path());
        let site = self.site.as_str();
        let mut threads = std::thread::scope(|scope| -> Result<Vec<Thread>> {
            let loading: Vec<_> = others
                .iter()
                .map(|&run| {
                    scope.spawn(move || {
                        SqliteStore::open_read_only(path)?.published_threads_in(
                            site,
                            None,
                            Some(run),
                            avatars,
                            likes,
                        )
                    })
                })
                .collect();
            let mut threads =
                store.published_threads_in(site, None, Some(*first), avatars, likes)?;
            for part in loading {
                let part = part
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                threads.extend(part);
            }
            Ok(threads)
        })?;
        threads.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(threads)
    }
}

#[cfg(test)]
mod tests {
    // Provided methods (`insert`, `export`, `counts`) live on the trait.
    use super::*;
    use crate::store::Store as _;
    use crate::store::{NewComment, Status};

    #[test]
    fn threads_read_in_runs_are_the_threads_read_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kiln.sqlite3");
        let mut store = SqliteStore::open(&db).unwrap();
        // Threads of very different sizes, one with nothing published.
        for (thread, n) in [("/a/", 1), ("/b/", 40), ("/c/", 3), ("/d/", 0), ("/e/", 7)] {
            for i in 0..n.max(1) {
                let new = NewComment {
                    email: Some(format!("a{i}@example.org")),
                    ..NewComment::sample(
                        thread,
                        &format!("Author {i}"),
                        &format!("Comment {i} on {thread}"),
                    )
                };
                let status = if n == 0 {
                    Status::Pending
                } else {
                    Status::Approved
                };
                store.insert(&new, status, 100 + i).unwrap().unwrap();
            }
        }
        // The first comment on /b/.
        store.like(2, "reader", 200).unwrap();
        drop(store);
        let mut source = SqliteSource::open(&db, false, crate::store::DEFAULT_SITE).unwrap();
        let at_once = source.threads(None).unwrap();
        assert_eq!(at_once.len(), 4);
        for parts in 1..=6 {
            let (runs, total) = source.store.published_runs("default", parts).unwrap();
            assert_eq!(total, 51);
            assert!(runs.len() <= parts.min(4), "{parts}: {runs:?}");
            assert!(runs.windows(2).all(|w| w[0].1 < w[1].0), "{runs:?}");
            assert_eq!(
                source.threads_in_runs(parts, 0).unwrap(),
                at_once,
                "{parts} parts"
            );
        }
        // With likes left out, the runs read the same but for the count.
        let liked = |threads: &[Thread]| -> Vec<u64> {
            threads
                .iter()
                .flat_map(|t| &t.comments)
                .map(|c| c.likes)
                .filter(|&n| n > 0)
                .collect()
        };
        assert_eq!(liked(&at_once), [1]);
        source.leave_out_likes();
        let without = source.threads_in_runs(3, 0).unwrap();
        assert_eq!(liked(&without), [] as [u64; 0]);
        assert_eq!(without.len(), at_once.len());
    }
}
