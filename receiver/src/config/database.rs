//! `[database]`: the SQLite file that holds comments, the outbox and the
//! receiver's own keys.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// The SQLite file. Relative paths are relative to the current directory.
    /// Default: `kiln.sqlite3`.
    pub path: PathBuf,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            path: PathBuf::from("kiln.sqlite3"),
        }
    }
}

impl Database {
    pub fn validate(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            bail!("`database.path` is empty; name an SQLite file such as kiln.sqlite3");
        }
        Ok(())
    }
}
