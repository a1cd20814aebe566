//! One store shared by the async parts of the receiver: the request
//! handlers and the mail outbox. SQLite calls block, so each runs on tokio's
//! blocking pool, one at a time under the lock. The outbox holds this handle
//! rather than the HTTP state, so mail does not depend on the HTTP layer.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use super::Store;

/// A cheap handle on the one open store.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    pub fn new(store: Store) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Runs a store operation off the async threads.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let shared = self.0.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in one operation must not stop every later one.
            let mut store = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut store)
        })
        .await
        .context("store task failed")?
    }
}
