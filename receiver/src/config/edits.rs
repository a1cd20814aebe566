//! `[edits]`: what commenters may do with their own comment after posting
//! it, through the private edit link.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// What commenters may do with their own comment after posting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Edits {
    /// For how many minutes after posting the private edit link works: the
    /// commenter may edit or delete their comment until then. 0 gives no
    /// edit links. Default: 15.
    pub window_minutes: u32,
    /// Whether an edit to a published comment takes it off the page until a
    /// moderator approves it again. An edit that a spam rule holds always
    /// goes back to moderation. Default: true.
    pub remoderate_approved: bool,
}

impl Default for Edits {
    fn default() -> Self {
        Edits {
            window_minutes: 15,
            remoderate_approved: true,
        }
    }
}

impl Edits {
    pub fn validate(&self) -> Result<()> {
        if self.window_minutes > 24 * 60 {
            bail!("`edits.window_minutes` must be between 0 (no edit links) and 1440 (a day)");
        }
        Ok(())
    }
}
