//! bake's view of a PostgreSQL database (`kiln bake --from postgres://…`):
//! the `Source` trait over a read-only connection, so a re-bake learns which
//! threads changed from the thread stamps, as it does from an SQLite file.

use std::collections::HashMap;

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::Thread;
use kiln_bake::source::{Source, Stamp};

use super::{PgStore, Target};

/// Reads published comments from kiln's PostgreSQL database, never writing.
pub struct PgSource {
    store: PgStore,
    avatars: AvatarKeys,
    /// `user@host:port/dbname`, without the password.
    described: String,
    /// The site whose threads it reads.
    site: String,
    /// Whether to count each comment's likes (see `leave_out_likes`).
    likes: bool,
}

impl PgSource {
    /// Connects read-only. With `gravatar` (`privacy.gravatar`), comments
    /// carry Gravatar hashes too.
    pub fn open(target: &Target, gravatar: bool, site: &str) -> Result<PgSource> {
        let mut store = PgStore::open_read_only(target)?;
        let avatars = store.avatar_keys(gravatar)?;
        Ok(PgSource {
            store,
            avatars,
            described: target.describe().to_owned(),
            site: site.to_owned(),
            likes: true,
        })
    }
}

impl Source for PgSource {
    fn describe(&self) -> String {
        format!("PostgreSQL database {}", self.described)
    }

    fn identity(&mut self) -> Result<String> {
        Ok(crate::store::sited(
            format!("postgres:{}", self.store.instance_id()?),
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

    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        self.store
            .published_threads_counting(&self.site, ids, &self.avatars, self.likes)
    }

    fn leave_out_likes(&mut self) {
        self.likes = false;
    }
}
