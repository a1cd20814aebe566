//! bake's view of the SQLite database: the `Source` trait implemented over the
//! store, so a re-bake learns which threads changed from one small query.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::Thread;
use kiln_bake::source::{Source, Stamp};

use super::Store;

/// Reads published comments straight from a kiln database file.
pub struct SqliteSource {
    store: Store,
    avatars: AvatarKeys,
}

impl SqliteSource {
    /// Opens the database read-only; bake never writes to it. With
    /// `gravatar` (`privacy.gravatar`), comments carry Gravatar hashes too.
    pub fn open(path: &Path, gravatar: bool) -> Result<Self> {
        let store = Store::open_read_only(path)?;
        let avatars = store.avatar_keys(gravatar)?;
        Ok(SqliteSource { store, avatars })
    }
}

impl Source for SqliteSource {
    fn describe(&self) -> String {
        self.store.path().display().to_string()
    }

    fn identity(&mut self) -> Result<String> {
        Ok(format!("sqlite:{}", self.store.instance_id()?))
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self
            .store
            .thread_stamps()?
            .into_iter()
            .map(|(key, version, count)| (key, Stamp { version, count }))
            .collect())
    }

    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        self.store.published_threads(ids, &self.avatars)
    }
}
