//! `[reactions]`: likes on published comments (issue 18), off by default.
//! A like is a small form under each comment that posts to the receiver;
//! one per reader per comment, known by a keyed hash of the reader's
//! anonymized address, never a cookie. Its own rate limits, apart from the
//! posts' (`spam.*`), so liking never stops anyone from commenting.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Likes and their limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reactions {
    /// Show a like button with its count under each published comment,
    /// and take likes at `/react`. Default: false.
    pub enabled: bool,
    /// Likes accepted from one client address within `window_minutes`;
    /// more get 429. Default: 60.
    pub likes_per_ip: u32,
    /// Likes accepted on one thread within the window. Default: 600.
    pub likes_per_thread: u32,
    /// Likes accepted from everyone within the window. Default: 3000.
    pub likes_global: u32,
    /// The sliding window the like limits count in, in minutes. Default: 10.
    pub window_minutes: u64,
}

impl Default for Reactions {
    fn default() -> Self {
        Reactions {
            enabled: false,
            likes_per_ip: 60,
            likes_per_thread: 600,
            likes_global: 3000,
            window_minutes: 10,
        }
    }
}

impl Reactions {
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("reactions.likes_per_ip", self.likes_per_ip),
            ("reactions.likes_per_thread", self.likes_per_thread),
            ("reactions.likes_global", self.likes_global),
        ] {
            if value == 0 {
                bail!(
                    "`{key}` must be at least 1; to take no likes, set `reactions.enabled = false`"
                );
            }
        }
        if !(1..=24 * 60).contains(&self.window_minutes) {
            bail!("`reactions.window_minutes` must be between 1 and 1440 (a day)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_each_bad_key_is_named() {
        let defaults = Reactions::default();
        assert!(!defaults.enabled);
        defaults.validate().unwrap();
        for (bad, key) in [
            (
                Reactions {
                    likes_per_ip: 0,
                    ..Reactions::default()
                },
                "reactions.likes_per_ip",
            ),
            (
                Reactions {
                    likes_global: 0,
                    ..Reactions::default()
                },
                "reactions.likes_global",
            ),
            (
                Reactions {
                    window_minutes: 0,
                    ..Reactions::default()
                },
                "reactions.window_minutes",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
