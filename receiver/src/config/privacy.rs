//! `[privacy]`: what the receiver keeps about commenters beyond what they
//! typed, and whether pages may show Gravatar pictures.

use serde::{Deserialize, Serialize};

/// What the receiver keeps about commenters beyond what they typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// Keep each comment's client address, anonymized (/24 for IPv4, /48
    /// for IPv6), for moderators and the duplicate check. false keeps none;
    /// rate limits still work, in memory. Default: true.
    pub store_ip: bool,
    /// Show Gravatar pictures: the export (and a bake from the database)
    /// carries the SHA-256 of each author's address, which anyone can test
    /// guessed addresses against, and baked pages load each picture from
    /// gravatar.com, falling back to Gravatar's identicon. A bake needs it
    /// on too. Needs `bake.avatars`. Default: false.
    pub gravatar: bool,
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy {
            store_ip: true,
            gravatar: false,
        }
    }
}
