//! `[moderation]`: whether new comments wait for a moderator.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Moderation {
    /// Hold new comments for approval. Default: true. When false, comments
    /// are published as soon as they are received.
    pub enabled: bool,
}

impl Default for Moderation {
    fn default() -> Self {
        Moderation { enabled: true }
    }
}
