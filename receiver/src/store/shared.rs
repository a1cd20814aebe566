//! One store shared by the async parts of the receiver: the request
//! handlers and the mail outbox. Store calls block, so each runs on tokio's
//! blocking pool, one at a time under the lock: SQLite has one connection
//! and one writer anyway. A backend with several connections would put a
//! pool where the lock is. The outbox holds this handle rather than the HTTP
//! state, so mail does not depend on the HTTP layer.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use super::Store;

/// A cheap handle on the one open store.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Box<dyn Store>>>);

impl SharedStore {
    pub fn new(store: Box<dyn Store>) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Runs a store operation off the async threads.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let shared = self.0.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in one operation must not stop every later one.
            let mut store = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(store.as_mut())
        })
        .await
        .context("store task failed")?
    }
}
