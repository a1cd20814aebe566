//! The store shared by the async parts of the receiver (the request handlers
//! and the mail outbox). Store calls block, and PostgreSQL's synchronous
//! client even panics on an async worker thread, so no call runs on an
//! async thread. Two shapes, chosen by `open::shared`:
//!
//! - PostgreSQL: a pool of `database.max_connections` connections, each a
//!   `Box<dyn Store>`. The connection is taken from the pool first,
//!   asynchronously, so a request waiting for one holds no thread; the call
//!   then runs on tokio's blocking pool. A connection the server or the
//!   network ended (`Store::is_broken`) leaves the pool, and is dropped on
//!   the blocking thread rather than handed out again. When a method's
//!   first statement finds the connection gone (`ConnectionLost`), nothing
//!   of it happened, so it runs once more on a fresh connection; no other
//!   error is retried.
//! - SQLite: group commit. The one write connection belongs to the writer
//!   thread (`writer.rs`), which stores waiting submissions as one batch,
//!   one fsync; every other write goes there too. Reads (`read`) go to a
//!   pool of read-only connections (`database.read_connections`), which WAL
//!   lets read while the writer writes, so they never wait for it.
//!
//! The outbox holds this handle rather than the HTTP state, so mail does
//! not depend on the HTTP layer.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use deadpool::managed::{self, Manager, Metrics, Object, Pool, PoolError, RecycleResult};
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{Export, Thread};

use super::writer::Writer;
use super::{
    store_methods, CommentEdit, ConnectionLost, Forgotten, ImportBatch, ImportOutcome, MailTrouble,
    NewComment, OutboxItem, Posted, Posting, Refusal, Search, Status, Store, StoredComment,
};

/// Opens one more connection; called on the blocking pool.
type Open = dyn Fn() -> Result<Box<dyn Store>> + Send + Sync;

/// A cheap handle on the pool, and on the writer when there is one.
#[derive(Clone)]
pub struct SharedStore {
    /// Every call when there is no writer; with one, only `read`s, on
    /// read-only connections.
    pool: Pool<Opener>,
    /// SQLite's group commit: the thread that owns the write connection.
    writer: Option<Writer>,
}

impl SharedStore {
    /// A pool of `store` alone, which cannot be replaced if it breaks: for
    /// SQLite in tests, whose connection never does.
    pub fn new(store: Box<dyn Store>) -> Self {
        SharedStore::pool(store, 1, || {
            Err(anyhow!(
                "the database connection was lost and this store cannot open another"
            ))
        })
    }

    /// A pool of up to `size` connections: `first`, opened by the caller
    /// (which has used it to start up, and so knows the database is there),
    /// then as many more from `open` as calls need at once.
    pub fn pool(
        first: Box<dyn Store>,
        size: usize,
        open: impl Fn() -> Result<Box<dyn Store>> + Send + Sync + 'static,
    ) -> Self {
        SharedStore {
            pool: pool_of(Some(first), size, open),
            writer: None,
        }
    }

    /// Group commit: `writer`, the one connection that writes, on a thread
    /// of its own (see `writer.rs`), and up to `readers` read-only
    /// connections from `open_reader`, opened as reads need them.
    pub fn group_commit(
        writer: Box<dyn Store>,
        readers: usize,
        open_reader: impl Fn() -> Result<Box<dyn Store>> + Send + Sync + 'static,
    ) -> Result<Self> {
        Ok(SharedStore {
            pool: pool_of(None, readers, open_reader),
            writer: Some(Writer::start(writer)?),
        })
    }

    /// Runs a store operation off the async threads: on the writer when
    /// there is one, else on a connection of its own for as long as it runs.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => self.pooled(f).await,
        }
    }

    /// `with_store` for calls that only read: with a writer, they run on a
    /// read-only connection beside it and never wait for its writes.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.pooled(f).await
    }

    /// Stores a submission (`Store::post`): with a writer, in its next
    /// batch, answered once that batch is committed.
    pub async fn post(&self, posting: Posting) -> Posted {
        match &self.writer {
            Some(writer) => writer.post(posting).await,
            None => self.pooled(move |store| store.post(&posting)).await,
        }
    }

    /// Runs `f` on a pooled connection, on the blocking pool.
    async fn pooled<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // Waiting here, for a connection, holds no thread.
        let store = self.pool.get().await.map_err(pool_error)?;
        let mut view = Retrying {
            store: Some(store),
            pool: self.pool.clone(),
            runtime: tokio::runtime::Handle::current(),
            retried: false,
        };
        tokio::task::spawn_blocking(move || f(&mut view))
            .await
            .context("store task failed")?
    }

    /// Calls waiting for the writer now (0 without one), for tests that
    /// make a batch: block the writer, queue, wait for this, release.
    #[cfg(test)]
    pub(crate) fn waiting_writes(&self) -> usize {
        self.writer.as_ref().map_or(0, Writer::waiting)
    }

    /// Holds the writer thread in a call of the test's own until the
    /// returned sender is dropped or sent to; returns once the writer is
    /// inside the call. Submissions queued meanwhile form one batch.
    #[cfg(test)]
    pub(crate) async fn hold_writer(
        &self,
    ) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (inside, entered) = tokio::sync::oneshot::channel::<()>();
        let store = self.clone();
        let holder = tokio::spawn(async move {
            store
                .with_store(move |_| {
                    inside.send(()).unwrap();
                    let _ = released.recv();
                    Ok(())
                })
                .await
                .unwrap()
        });
        entered.await.unwrap();
        (release, holder)
    }

    /// Batches of submissions the writer has stored (0 without one).
    #[cfg(test)]
    pub(crate) fn batches_committed(&self) -> usize {
        self.writer.as_ref().map_or(0, Writer::batches)
    }

    /// Connections open now, for tests of the pool's size.
    #[cfg(test)]
    fn open_connections(&self) -> usize {
        self.pool.status().size
    }
}

/// A pool of up to `size` connections: `first`, when there is one, then as
/// many more from `open` as calls need at once.
fn pool_of(
    first: Option<Box<dyn Store>>,
    size: usize,
    open: impl Fn() -> Result<Box<dyn Store>> + Send + Sync + 'static,
) -> Pool<Opener> {
    let opener = Opener {
        first: Mutex::new(first),
        open: Arc::new(open),
    };
    Pool::builder(opener)
        .max_size(size.max(1))
        .build()
        .expect("a pool without timeouts needs no runtime")
}

/// What a pool error says: a failed connect is the backend's own message,
/// which names the database without its password.
fn pool_error(err: PoolError<anyhow::Error>) -> anyhow::Error {
    match err {
        PoolError::Backend(err) => err,
        other => anyhow!("cannot get a database connection: {other}"),
    }
}

/// The pool's way of making and checking connections.
struct Opener {
    /// The connection the caller opened at start, handed out first (none
    /// for group commit's readers: that one is the writer).
    first: Mutex<Option<Box<dyn Store>>>,
    open: Arc<Open>,
}

impl Manager for Opener {
    type Type = Box<dyn Store>;
    type Error = anyhow::Error;

    async fn create(&self) -> Result<Box<dyn Store>> {
        let first = self
            .first
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(store) = first {
            return Ok(store);
        }
        let open = self.open.clone();
        tokio::task::spawn_blocking(move || open())
            .await
            .context("opening a database connection failed")?
    }

    async fn recycle(
        &self,
        store: &mut Box<dyn Store>,
        _: &Metrics,
    ) -> RecycleResult<anyhow::Error> {
        // `Retrying` takes broken connections out on the blocking thread; a
        // connection that broke anyway is refused here (its backend's `Drop`
        // copes with being dropped on an async thread).
        if store.is_broken() {
            Err(managed::RecycleError::message("the connection is closed"))
        } else {
            Ok(())
        }
    }
}

/// What `with_store`'s closure holds: a pooled connection that is replaced
/// once if a method finds it gone, and taken out of the pool, on this
/// blocking thread, if it broke.
struct Retrying {
    /// `None` only if no fresh connection could be had after a loss.
    store: Option<Object<Opener>>,
    pool: Pool<Opener>,
    /// To wait for a fresh connection from this blocking thread.
    runtime: tokio::runtime::Handle,
    retried: bool,
}

impl Retrying {
    /// Runs one method, and runs it again on a fresh connection if its
    /// first statement found the connection gone: once per `with_store`.
    fn call<T>(&mut self, mut method: impl FnMut(&mut dyn Store) -> Result<T>) -> Result<T> {
        let store = self
            .store
            .as_mut()
            .ok_or_else(|| anyhow!("no database connection"))?;
        match method(&mut ***store) {
            Err(err) if !self.retried && err.chain().any(|c| c.is::<ConnectionLost>()) => {
                self.retried = true;
                tracing::warn!(error = %err, "trying once more on a new database connection");
                if let Some(lost) = self.store.take() {
                    drop(Object::take(lost));
                }
                let fresh = self.runtime.block_on(self.pool.get()).map_err(pool_error)?;
                method(&mut ***self.store.insert(fresh))
            }
            done => done,
        }
    }
}

impl Retrying {
    /// The connection as it is, for the methods that cannot be run twice.
    fn connection(&mut self) -> Result<&mut dyn Store> {
        let store = self
            .store
            .as_mut()
            .ok_or_else(|| anyhow!("no database connection"))?;
        Ok(&mut ***store)
    }
}

impl Drop for Retrying {
    fn drop(&mut self) {
        // Runs on the blocking thread, also when the closure panicked. A
        // healthy connection goes back to the pool as the object drops.
        if let Some(store) = self.store.take() {
            if store.is_broken() {
                drop(Object::take(store));
            }
        }
    }
}

/// A `Store` method through `Retrying::call`.
macro_rules! retrying {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) -> $ret {
            self.call(|store| store.$name($($arg),*))
        })*
    };
}

impl Store for Retrying {
    fn set_mail_events(&mut self, on: bool) {
        if let Some(store) = self.store.as_mut() {
            store.set_mail_events(on);
        }
    }

    fn is_broken(&self) -> bool {
        self.store.as_ref().is_none_or(|store| store.is_broken())
    }

    store_methods!(retrying);

    // A copy consumes its rows as it goes, so it cannot be run again; it
    // goes to the connection as it is (`kiln store copy` opens its own).
    fn copy_out(&mut self, each: &mut dyn FnMut(super::copy::Row) -> Result<()>) -> Result<()> {
        self.connection()?.copy_out(each)
    }

    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<super::copy::Row>>,
        replace: bool,
    ) -> Result<super::copy::Tally> {
        self.connection()?.copy_in(rows, replace)
    }
}

#[cfg(test)]
mod tests;
