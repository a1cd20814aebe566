//! The pipeline over the receiver's group commit (a real SQLite file, the
//! writer thread): a per-thread limit reached by submissions that wait for
//! the same batch admits exactly as many as it allows, and a duplicate that
//! arrives in the batch of the comment it repeats is refused.

use std::sync::Arc;

use super::*;
use crate::abuse::{Counters, RateLimiter};
use crate::store::{open, shared, Location, Mode, SharedStore};

/// What the pipeline consults, shared by the submissions in flight.
struct Receiver {
    config: Config,
    signer: Signer,
    limiter: RateLimiter,
    counters: Counters,
    store: SharedStore,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn new(tune: impl FnOnce(&mut Config)) -> Arc<Receiver> {
        let mut config = Config::default();
        config.moderation.enabled = false;
        tune(&mut config);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let first = open(&path, Mode::ReadWrite).unwrap();
        let store = shared(Location::Sqlite(&path), first, false, 1, 2).unwrap();
        let limits = crate::store::coordination(Location::Sqlite(&path)).unwrap();
        Arc::new(Receiver {
            limiter: RateLimiter::new(&config, limits),
            signer: Signer::new(b"0123456789abcdef0123456789abcdef"),
            counters: Counters::default(),
            store,
            config,
            _dir: dir,
        })
    }

    /// Admits `sent` on a task of its own.
    fn admit(
        self: &Arc<Self>,
        sent: Sent,
    ) -> tokio::task::JoinHandle<std::result::Result<Admitted, Rejection>> {
        let r = self.clone();
        tokio::spawn(async move {
            let admission = Admission {
                config: &r.config,
                signer: &r.signer,
                limiter: &r.limiter,
                counters: &r.counters,
                store: &r.store,
            };
            admission.admit(&sent).await.unwrap()
        })
    }
}

/// A submission to `/a/` from the client `192.0.2.{client}`.
fn sent(client: u8, email: &str, text: &str) -> Sent {
    Sent {
        submission: Submission {
            thread: "/a/".into(),
            url: "http://127.0.0.1:4000/a/".into(),
            name: "Reader".into(),
            email: email.into(),
            text: text.into(),
            ..Submission::default()
        },
        notify: false,
        honeypot: false,
        token: String::new(),
        trusted: false,
        identity_subject: None,
        client: format!("192.0.2.{client}").parse().unwrap(),
        now: 1_800_000_000,
        moment: crate::store::Moment::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_thread_limit_reached_inside_one_batch_admits_exactly_its_number() {
    let r = Receiver::new(|c| c.spam.posts_per_thread = 3);
    let (release, _holder) = r.store.hold_writer().await;
    let tasks: Vec<_> = (1..=5)
        .map(|n| {
            r.admit(sent(
                n,
                &format!("r{n}@example.org"),
                &format!("comment {n}"),
            ))
        })
        .collect();
    // Three pass the limit and wait for the writer together; two are
    // refused without reaching it.
    while r.store.waiting_writes() < 3 || tasks.iter().filter(|t| t.is_finished()).count() < 2 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    let (mut stored, mut limited) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Admitted::Stored { comment, .. }) => {
                assert_eq!(comment.status, Status::Approved);
                stored += 1;
            }
            Err(Rejection::RateLimited {
                limit: Limit::Thread,
                ..
            }) => limited += 1,
            other => panic!("neither stored nor limited by the thread: {other:?}"),
        }
    }
    assert_eq!((stored, limited), (3, 2));
    let count = r.store.read(|s| s.count(Status::Approved)).await.unwrap();
    assert_eq!(count, 3, "the store holds what was answered as stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_in_the_batch_of_the_comment_it_repeats_is_refused() {
    let r = Receiver::new(|_| {});
    let (release, _holder) = r.store.hold_writer().await;
    let first = r.admit(sent(1, "ann@example.org", "Same words"));
    while r.store.waiting_writes() < 1 {
        tokio::task::yield_now().await;
    }
    let again = r.admit(sent(1, "ann@example.org", "Same words"));
    while r.store.waiting_writes() < 2 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    assert!(matches!(first.await.unwrap(), Ok(Admitted::Stored { .. })));
    assert_eq!(again.await.unwrap().unwrap_err(), Rejection::Duplicate);
    assert_eq!(
        r.store.read(|s| s.count(Status::Approved)).await.unwrap(),
        1
    );
}
