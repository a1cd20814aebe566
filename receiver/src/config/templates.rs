//! `[templates]`: the site's own templates, which replace built-in ones of
//! the same name.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Templates {
    /// A directory of templates that override the built-in ones by name
    /// (`thread.html`, `comment.html`, `form.html`, ...). Default: none.
    pub dir: Option<PathBuf>,
}

impl Templates {
    pub fn validate(&self) -> Result<()> {
        if let Some(dir) = &self.dir {
            if !dir.is_dir() {
                bail!("`templates.dir` = {} is not a directory", dir.display());
            }
        }
        Ok(())
    }
}
