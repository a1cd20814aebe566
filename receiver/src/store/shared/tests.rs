//! The pool against real stores: SQLite files in temp directories, and a
//! PostgreSQL database whose connections the server ends. Where a lost
//! connection is needed on SQLite, whose file never goes away, a real store
//! is wrapped to lose its connection at its first statement (`Losing`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::store::{open, open_at, Location, Mode};

/// Long enough for any machine; only a broken pool waits this long.
const STUCK: Duration = Duration::from_secs(60);

fn sqlite(dir: &tempfile::TempDir) -> Box<dyn Store> {
    open(&dir.path().join("kiln.sqlite3"), Mode::ReadWrite).unwrap()
}

#[test]
fn waiting_for_a_connection_holds_no_thread() {
    // Two blocking threads in all. One call holds the only connection
    // (SQLite's pool of one) until told to finish; four more wait for it.
    // If waiting took a blocking thread, the second thread would be taken
    // and the unrelated blocking task below could not run.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shared = SharedStore::new(sqlite(&dir));
    runtime.block_on(async {
        let (release, released) = mpsc::channel::<()>();
        let holder = tokio::spawn({
            let shared = shared.clone();
            async move {
                shared
                    .with_store(move |store| {
                        released.recv().unwrap();
                        store.count(Status::Pending)
                    })
                    .await
            }
        });
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let shared = shared.clone();
                tokio::spawn(async move {
                    shared
                        .with_store(|store| store.count(Status::Pending))
                        .await
                })
            })
            .collect();
        while shared.pool.status().waiting < 4 {
            tokio::task::yield_now().await;
        }
        let unrelated = tokio::task::spawn_blocking(|| 42);
        let answered = tokio::time::timeout(STUCK, unrelated).await;
        assert_eq!(
            answered.expect("a blocking thread was free").unwrap(),
            42,
            "an unrelated blocking task runs while calls wait for the connection"
        );
        assert_eq!(shared.pool.status().waiting, 4, "they were still waiting");
        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), 0);
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), 0);
        }
    });
    assert_eq!(shared.open_connections(), 1, "SQLite has one connection");
}

/// What a `Losing` store does at its first statement.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Nothing: it works.
    None,
    /// Its connection is found gone before anything was done.
    Lost,
    /// Its connection breaks with an error that says nothing about what
    /// was done.
    Broken,
}

/// A real SQLite store that suffers `fault` at its first statement.
struct Losing {
    inner: Box<dyn Store>,
    fault: Fault,
    broken: bool,
}

impl Losing {
    fn first_statement(&mut self) -> Result<()> {
        let fault = std::mem::replace(&mut self.fault, Fault::None);
        match fault {
            Fault::None => Ok(()),
            Fault::Lost => {
                self.broken = true;
                Err(ConnectionLost("server closed the connection".into()).into())
            }
            Fault::Broken => {
                self.broken = true;
                Err(anyhow!("server closed the connection unexpectedly"))
            }
        }
    }
}

macro_rules! losing {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) -> $ret {
            self.first_statement()?;
            self.inner.$name($($arg),*)
        })*
    };
}

impl Store for Losing {
    fn set_mail_events(&mut self, on: bool) {
        self.inner.set_mail_events(on);
    }

    fn is_broken(&self) -> bool {
        self.broken
    }

    store_methods!(losing);

    fn copy_out(
        &mut self,
        each: &mut dyn FnMut(crate::store::copy::Row) -> Result<()>,
    ) -> Result<()> {
        self.inner.copy_out(each)
    }

    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<crate::store::copy::Row>>,
        replace: bool,
    ) -> Result<crate::store::copy::Tally> {
        self.inner.copy_in(rows, replace)
    }
}

/// A pool whose connections suffer `faults` in the order they are opened
/// (none once the list runs out), and a count of the connections opened.
fn losing_pool(dir: &tempfile::TempDir, faults: &[Fault]) -> (SharedStore, Arc<AtomicUsize>) {
    let faults = Arc::new(Mutex::new(faults.iter().copied().collect::<VecDeque<_>>()));
    let opened = Arc::new(AtomicUsize::new(0));
    let path = dir.path().join("kiln.sqlite3");
    let open_one = {
        let (faults, opened) = (faults.clone(), opened.clone());
        move || -> Result<Box<dyn Store>> {
            opened.fetch_add(1, Ordering::SeqCst);
            let fault = faults.lock().unwrap().pop_front().unwrap_or(Fault::None);
            Ok(Box::new(Losing {
                inner: open(&path, Mode::ReadWrite)?,
                fault,
                broken: false,
            }))
        }
    };
    let first = open_one().unwrap();
    (SharedStore::pool(first, 2, open_one), opened)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_lost_before_anything_was_done_is_retried_once_on_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, opened) = losing_pool(&dir, &[Fault::Lost]);
    let count = shared
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(opened.load(Ordering::SeqCst), 2, "one more connection");
    assert_eq!(shared.open_connections(), 1, "the lost one left the pool");

    // Once: a second loss in the same call is the caller's.
    let (shared, opened) = losing_pool(&dir, &[Fault::Lost, Fault::Lost]);
    let err = shared
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap_err();
    assert!(err.is::<ConnectionLost>(), "{err:#}");
    assert_eq!(opened.load(Ordering::SeqCst), 2);
    assert_eq!(shared.open_connections(), 0, "both lost ones left the pool");
    // The next call gets a working connection.
    shared
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn other_failures_are_not_retried_but_a_broken_connection_leaves_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, opened) = losing_pool(&dir, &[Fault::Broken]);
    let err = shared
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unexpectedly"), "{err:#}");
    assert_eq!(opened.load(Ordering::SeqCst), 1, "not retried");
    assert_eq!(shared.open_connections(), 0, "the broken one left the pool");
    shared
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap();
    assert_eq!(opened.load(Ordering::SeqCst), 2, "a new one replaced it");
}

/// A runtime like the receiver's, for the PostgreSQL tests: their scratch
/// database is made and dropped outside it, on the test's own thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Opens connections to the scratch database at `url`.
fn postgres_opener(url: &str) -> impl Fn() -> Result<Box<dyn Store>> + Clone + Send + Sync {
    let url = url.to_owned();
    move || {
        open_at(
            Location::new("unused.sqlite3".as_ref(), &url, ""),
            Mode::ReadWrite,
        )
    }
}

#[test]
fn postgres_pools_as_many_connections_as_calls_need_up_to_its_size() {
    let Some(db) = crate::store::scratch::scratch_db() else {
        return;
    };
    let open_one = postgres_opener(&db.url);
    let first = open_one().unwrap();
    runtime().block_on(async {
        let shared = SharedStore::pool(first, 3, open_one);
        // Three calls that each wait for the other two: they can only
        // finish while holding three connections at once.
        let together = Arc::new(std::sync::Barrier::new(3));
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let (shared, together) = (shared.clone(), together.clone());
                tokio::spawn(async move {
                    shared
                        .with_store(move |store| {
                            together.wait();
                            store.secret()
                        })
                        .await
                })
            })
            .collect();
        let mut secrets = Vec::new();
        for call in calls {
            let secret = tokio::time::timeout(STUCK, call)
                .await
                .expect("three connections at once")
                .unwrap()
                .unwrap();
            secrets.push(secret);
        }
        assert!(secrets.iter().all(|s| s == &secrets[0]), "{secrets:?}");
        assert_eq!(shared.open_connections(), 3);
    });
}

#[test]
fn a_postgres_connection_the_server_ended_leaves_the_pool() {
    let Some(db) = crate::store::scratch::scratch_db() else {
        return;
    };
    let open_one = postgres_opener(&db.url);
    let first = open_one().unwrap();
    runtime().block_on(async {
        let shared = SharedStore::pool(first, 2, open_one);
        shared
            .with_store(|store| store.set_admin_password_hash("$argon2id$before"))
            .await
            .unwrap();
        // As a server restart or an administrator would; on a thread of
        // its own, as the sync client must not run on this one.
        std::thread::scope(|s| {
            s.spawn(|| {
                db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
            })
            .join()
            .unwrap()
        });
        // The first call finds the connection gone at its first statement:
        // the store says `ConnectionLost`, and the pool runs it again on a
        // fresh connection. The dead one has left the pool.
        let hash = shared
            .with_store(|store| store.admin_password_hash())
            .await
            .unwrap();
        assert_eq!(hash.as_deref(), Some("$argon2id$before"));
        assert_eq!(shared.open_connections(), 1, "only the new connection");
    });
}

#[test]
fn a_postgres_store_whose_connection_the_server_ended_says_so() {
    let Some(db) = crate::store::scratch::scratch_db() else {
        return;
    };
    let mut store = postgres_opener(&db.url)().unwrap();
    store.set_admin_password_hash("$argon2id$before").unwrap();
    assert!(!store.is_broken());
    // Waits (up to 5 s) until the backend has ended.
    db.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    // Lost at the method's first statement: nothing was done, and the
    // error says so, for the pool to run it again elsewhere.
    let err = store.admin_password_hash().unwrap_err();
    assert!(err.is::<ConnectionLost>(), "{err:#}");
    assert!(store.is_broken(), "the store remembers");
    // Every later call fails too, whatever the driver has noticed.
    let err = store
        .create_admin_session("s", "t", None, 1, 2)
        .unwrap_err()
        .to_string();
    assert!(store.is_broken(), "{err}");
}
