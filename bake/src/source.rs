//! Where a bake gets its comments from. The pipeline only sees the `Source`
//! trait; the SQLite implementation lives with the receiver's store (which owns
//! all SQL), the export-file and receiver-URL implementations live here.

use std::collections::HashMap;

use anyhow::Result;

use crate::export::Thread;

/// What a source says about one thread without loading its comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Changes whenever anything the thread shows changes (a new approval, an
    /// edit, a deletion). Compared only for equality.
    pub version: u64,
    /// Number of published comments, for `data-kiln-count`.
    pub count: u64,
}

/// A provider of published comments.
pub trait Source {
    /// Names the source for messages (a path or a URL, never a token).
    fn describe(&self) -> String;

    /// Identifies the underlying data set, so a bake can tell that the
    /// versions it remembers belong to the same data (e.g. the same database).
    fn identity(&mut self) -> Result<String>;

    /// One stamp for every thread that has published comments.
    /// Must be cheap for sources that can make it so: a re-bake after one
    /// approval calls this and then loads only the threads whose stamp moved.
    fn stamps(&mut self) -> Result<HashMap<String, Stamp>>;

    /// The threads with these ids (all threads when `ids` is `None`).
    /// Unknown ids are simply absent from the answer: an empty thread.
    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>>;
}
