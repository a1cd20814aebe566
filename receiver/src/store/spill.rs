//! Where an import's comments wait between reading the source and storing
//! it (issue 14). A big export's texts do not fit in memory, so the
//! importer writes each comment's person and text to an unnamed temporary
//! file as it reads them and keeps only ids, parent links, times and
//! statuses in memory; the store reads each comment's part back when it
//! inserts that comment. The file is private to the process (unnamed, mode
//! 0600 where the system has modes) and gone when the last handle is
//! dropped, stored or not.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A comment's person and text, as it will be stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFields {
    pub author: String,
    pub email: Option<String>,
    pub website: Option<String>,
    /// Markdown.
    pub text: String,
    pub remote_addr: Option<String>,
    /// The avatar key a kiln export carried (restores only).
    pub avatar: Option<String>,
}

/// Where an import comment's [`ImportFields`] are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    /// In memory (small batches, restores, tests, empty markers).
    Held(Box<ImportFields>),
    /// In the batch's [`Spill`], at this offset and length.
    Spilled { at: u64, len: u32 },
}

impl Fields {
    /// Empty fields: what a "deleted" marker stores.
    pub fn empty() -> Fields {
        Fields::Held(Box::default())
    }
}

impl From<ImportFields> for Fields {
    fn from(f: ImportFields) -> Fields {
        Fields::Held(Box::new(f))
    }
}

/// Writes fields to a new spill file as a source is read.
pub struct SpillWriter {
    out: BufWriter<File>,
    at: u64,
}

impl SpillWriter {
    pub fn new() -> Result<SpillWriter> {
        let file = tempfile::tempfile()
            .context("cannot make a temporary file for the comments being imported")?;
        Ok(SpillWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            at: 0,
        })
    }

    /// Appends `fields`; where they are, for [`Spill::read`].
    pub fn put(&mut self, fields: &ImportFields) -> Result<Fields> {
        let bytes = serde_json::to_vec(fields)?;
        let len = u32::try_from(bytes.len()).context("a comment larger than 4 GB")?;
        self.out
            .write_all(&bytes)
            .context("cannot write the comments being imported to a temporary file")?;
        let at = self.at;
        self.at += u64::from(len);
        Ok(Fields::Spilled { at, len })
    }

    /// Done writing: the file, ready to be read back.
    pub fn finish(self) -> Result<Spill> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the comments being imported to a temporary file")?;
        Ok(Spill(Arc::new(Mutex::new(file))))
    }
}

/// A finished spill file, shared by the batch and its clones.
#[derive(Clone)]
pub struct Spill(Arc<Mutex<File>>);

impl Spill {
    fn read(&self, at: u64, len: u32) -> Result<ImportFields> {
        let mut bytes = vec![0; len as usize];
        {
            let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut bytes)?;
        }
        serde_json::from_slice(&bytes)
            .context("a comment in the import's temporary file is damaged")
    }

    /// The fields of a comment, read back when they were spilled.
    pub fn fields<'a>(spill: Option<&Spill>, fields: &'a Fields) -> Result<Cow<'a, ImportFields>> {
        match (fields, spill) {
            (Fields::Held(f), _) => Ok(Cow::Borrowed(&**f)),
            (Fields::Spilled { at, len }, Some(spill)) => Ok(Cow::Owned(spill.read(*at, *len)?)),
            (Fields::Spilled { .. }, None) => {
                anyhow::bail!("an import comment was spilled to a file the batch does not have")
            }
        }
    }
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spill(..)")
    }
}

/// Two batches are equal only if they read the same file.
impl PartialEq for Spill {
    fn eq(&self, other: &Spill) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Spill {}
