//! `[limits]`: the longest name, email, website and text a comment may
//! have, each bounded by a ceiling so a typo cannot make a field unbounded.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Absolute ceilings for configured limits, so a typo cannot make a field
/// unbounded.
const MAX_TEXT: usize = 100_000;
const MAX_FIELD: usize = 2_000;

/// Field limits, in characters (Unicode scalar values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Default: 100.
    pub name: usize,
    /// Default: 254 (the longest address SMTP allows).
    pub email: usize,
    /// Default: 300.
    pub website: usize,
    /// Default: 10000.
    pub text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            name: 100,
            email: 254,
            website: 300,
            text: 10_000,
        }
    }
}

impl Limits {
    pub fn validate(&self) -> Result<()> {
        let limits = [
            ("limits.name", self.name, MAX_FIELD),
            ("limits.email", self.email, MAX_FIELD),
            ("limits.website", self.website, MAX_FIELD),
            ("limits.text", self.text, MAX_TEXT),
        ];
        for (key, value, max) in limits {
            if value == 0 || value > max {
                bail!("`{key}` must be between 1 and {max}");
            }
        }
        Ok(())
    }

    /// The largest form body a submission within these limits can make. A
    /// percent-encoded form can take up to 9 bytes per character (three %XX
    /// triples for a 3-byte UTF-8 sequence), plus room for the other fields.
    pub fn worst_case_body(&self) -> usize {
        9 * (self.text + self.name + self.website) + 3 * self.email + 8 * 1024
    }
}
