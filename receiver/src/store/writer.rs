//! Group commit: one thread owns the receiver's one write connection, and
//! every write reaches it through a channel. Each time it wakes it takes
//! every job waiting; submissions that arrived one after another go to the
//! store as one batch (`Store::post_batch`: on SQLite one transaction, one
//! fsync), and each request's answer goes back on its own oneshot only
//! after the batch committed. Any other write (moderation, mail, sessions)
//! is a job of its own, run in arrival order between batches, so nothing
//! else ever holds SQLite's write lock in this process.
//!
//! The writer knows nothing of SQL: it is `SharedStore`'s way of sharing a
//! backend whose writes serialize anyway.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, Context, Result};
use tokio::sync::oneshot;

use super::{Posted, Posting, Store};

/// The most submissions one transaction stores. Under a flood the queue
/// can hold thousands; past this many, the ones already gathered are
/// committed and answered while the rest form the next batch, so no request
/// waits behind an unbounded transaction.
const MAX_BATCH: usize = 256;

/// A cheap handle on the writer thread; it ends when every handle is gone.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet taken by the thread.
    waiting: Arc<AtomicUsize>,
    /// Batches of submissions stored so far (tests count them).
    #[cfg_attr(not(test), allow(dead_code))]
    batches: Arc<AtomicUsize>,
}

/// Work for the writer thread.
enum Job {
    /// A submission, answered once its batch is committed.
    Post(Box<Posting>, oneshot::Sender<Posted>),
    /// Any other store call, which answers through its own channel.
    Run(Call),
}

/// A store call with its answer channel inside.
type Call = Box<dyn FnOnce(&mut dyn Store) + Send>;

/// A submission in the batch being gathered, and where its answer goes.
type Waiting = (Box<Posting>, oneshot::Sender<Posted>);

impl Writer {
    /// Starts the thread that owns `store`.
    pub(super) fn start(store: Box<dyn Store>) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let batches = Arc::new(AtomicUsize::new(0));
        let counts = Counts {
            waiting: waiting.clone(),
            batches: batches.clone(),
        };
        std::thread::Builder::new()
            .name("kiln-writer".into())
            .spawn(move || serve(store, queue, &counts))
            .context("cannot start the database writer thread")?;
        Ok(Writer {
            jobs,
            waiting,
            batches,
        })
    }

    /// Stores `posting` in the next batch; answers once that batch commits.
    pub(super) async fn post(&self, posting: Posting) -> Posted {
        let (answer, answered) = oneshot::channel();
        self.send(Job::Post(Box::new(posting), answer))?;
        answered.await.map_err(|_| gone())?
    }

    /// Runs `f` on the write connection, between batches.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        self.send(Job::Run(Box::new(move |store| {
            // The caller may have gone away; its answer is then nobody's.
            let _ = answer.send(f(store));
        })))?;
        answered.await.map_err(|_| gone())?
    }

    fn send(&self, job: Job) -> Result<()> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.jobs.send(job).map_err(|_| gone())
    }

    /// How many calls wait for the writer now (tests build batches with it).
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// How many batches of submissions the writer has stored.
    #[cfg(test)]
    pub(super) fn batches(&self) -> usize {
        self.batches.load(Ordering::SeqCst)
    }
}

/// The writer thread's side of `Writer::waiting` and `Writer::batches`.
struct Counts {
    waiting: Arc<AtomicUsize>,
    batches: Arc<AtomicUsize>,
}

/// What a caller hears when the writer dropped its job: it panicked.
fn gone() -> anyhow::Error {
    anyhow!("the database writer failed while running this call (see the log)")
}

/// The writer thread: waits for a job, then takes every job waiting.
fn serve(mut store: Box<dyn Store>, queue: mpsc::Receiver<Job>, counts: &Counts) {
    let mut batch: Vec<Waiting> = Vec::new();
    let store_batch = |store: &mut dyn Store, batch: &mut Vec<Waiting>| {
        if !batch.is_empty() {
            counts.batches.fetch_add(1, Ordering::SeqCst);
            commit(store, batch);
        }
    };
    while let Ok(first) = queue.recv() {
        for job in std::iter::once(first).chain(queue.try_iter()) {
            counts.waiting.fetch_sub(1, Ordering::SeqCst);
            match job {
                Job::Post(posting, answer) => {
                    batch.push((posting, answer));
                    if batch.len() == MAX_BATCH {
                        store_batch(store.as_mut(), &mut batch);
                    }
                }
                Job::Run(run) => {
                    // What came before this call is committed before it runs.
                    store_batch(store.as_mut(), &mut batch);
                    if catch_unwind(AssertUnwindSafe(|| run(store.as_mut()))).is_err() {
                        tracing::error!("a store call panicked on the database writer");
                    }
                }
            }
        }
        store_batch(store.as_mut(), &mut batch);
    }
}

/// Stores the waiting submissions as one batch and answers each of them.
fn commit(store: &mut dyn Store, batch: &mut Vec<Waiting>) {
    if batch.is_empty() {
        return;
    }
    let (postings, answers): (Vec<Posting>, Vec<_>) = batch
        .drain(..)
        .map(|(posting, answer)| (*posting, answer))
        .unzip();
    let posted = catch_unwind(AssertUnwindSafe(|| store.post_batch(&postings)));
    match posted {
        Ok(Ok(posted)) if posted.len() == answers.len() => {
            for (answer, posted) in answers.into_iter().zip(posted) {
                let _ = answer.send(posted);
            }
        }
        Ok(Ok(posted)) => {
            let error = format!("{} answers for {} submissions", posted.len(), answers.len());
            fail_all(answers, &error);
        }
        // Nothing of the batch was stored: every request hears why.
        Ok(Err(error)) => fail_all(answers, &format!("{error:#}")),
        Err(_) => fail_all(answers, "storing the batch panicked"),
    }
}

fn fail_all(answers: Vec<oneshot::Sender<Posted>>, error: &str) {
    tracing::error!(
        error,
        submissions = answers.len(),
        "a batch of comments was not stored"
    );
    for answer in answers {
        let _ = answer.send(Err(anyhow!(
            "the batch of comments this one was in was not stored: {error}"
        )));
    }
}

#[cfg(test)]
mod tests;
