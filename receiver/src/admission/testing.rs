//! What the unit tests of the two pipelines, comments (`admission`) and
//! likes (`reactions`), both start from: a real SQLite store in a temp
//! directory, its coordination, the tests' signing key, and the store
//! called as the receiver calls it.

use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::WithStore;
use crate::signing::Signer;
use crate::store::{coordination, open, Coordination, Location, Mode, Store};

/// The store, one call at a time on tokio's blocking pool, as the receiver
/// calls it: never on the test's async thread, where PostgreSQL's client
/// would panic.
pub struct InPlace(pub Arc<Mutex<Box<dyn Store>>>);

impl InPlace {
    pub fn new(store: Box<dyn Store>) -> InPlace {
        InPlace(Arc::new(Mutex::new(store)))
    }
}

impl WithStore for InPlace {
    fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send {
        let store = self.0.clone();
        async move {
            tokio::task::spawn_blocking(move || f(store.lock().unwrap().as_mut()))
                .await
                .expect("the store call panicked")
        }
    }
}

/// A fresh database and what a pipeline needs beside it.
pub struct Scratch {
    /// Holds the database's directory until the test ends.
    pub dir: tempfile::TempDir,
    pub store: Box<dyn Store>,
    /// What the rate limits count in.
    pub limits: Arc<dyn Coordination>,
    pub signer: Signer,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let store = open(&path, Mode::ReadWrite).unwrap();
        let limits = coordination(Location::Sqlite(&path)).unwrap();
        Scratch {
            dir,
            store,
            limits,
            signer: Signer::new(b"0123456789abcdef0123456789abcdef"),
        }
    }
}
