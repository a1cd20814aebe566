//! Group commit on a real SQLite file, through `SharedStore` as the
//! receiver builds it (`open::shared`). To make a batch the tests hold the
//! writer thread in a call of their own (`SharedStore::hold_writer`), queue
//! submissions until `waiting_writes` says they all wait, and let it go: it
//! then takes them all at once.

use std::time::Duration;

use crate::store::{
    open, shared, Location, Mode, NewComment, Posting, Refusal, SharedStore, Status,
};

/// Long enough for any machine; only a stuck writer or reader waits this long.
const STUCK: Duration = Duration::from_secs(60);

/// The receiver's store on a new file in `dir`, with two readers.
fn group_commit(dir: &tempfile::TempDir) -> SharedStore {
    let path = dir.path().join("kiln.sqlite3");
    let first = open(&path, Mode::ReadWrite).unwrap();
    shared(Location::Sqlite(&path), first, false, 1, 2).unwrap()
}

/// Waits (without a clock) until `n` calls wait for the writer.
async fn until_waiting(store: &SharedStore, n: usize) {
    while store.waiting_writes() < n {
        tokio::task::yield_now().await;
    }
}

fn comment(thread: &str, parent: Option<i64>, author: &str, text: &str) -> NewComment {
    NewComment {
        parent,
        email: Some(format!("{}@example.org", author.to_lowercase())),
        ..NewComment::sample(thread, author, text)
    }
}

fn posting(comment: NewComment) -> Posting {
    Posting {
        comment,
        notify: false,
        status: Status::Approved,
        approve_known: false,
        duplicate_since: Some(0),
        now: 1_000,
        html: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_waiting_together_are_one_batch_answered_after_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = group_commit(&dir);
    let older = store
        .post(posting(comment("/a/", None, "Ann", "before")))
        .await
        .unwrap()
        .unwrap();
    let (release, holder) = store.hold_writer().await;
    let first_id = older.id + 1;
    let batch = [
        posting(comment("/a/", None, "Bea", "a question")),
        posting(comment("/a/", Some(first_id), "Cy", "an answer to it")),
        posting(comment("/a/", None, "Bea", "a question")),
        posting(comment("/b/", Some(older.id), "Dee", "to another thread")),
        posting(comment("/a/", None, "Eve", "another")),
    ];
    let mut answers = Vec::new();
    for p in batch {
        let each = store.clone();
        answers.push(tokio::spawn(async move { each.post(p).await }));
        // In order: each is queued before the next is sent.
        until_waiting(&store, answers.len()).await;
    }
    assert!(
        answers.iter().all(|a| !a.is_finished()),
        "nothing is answered before its batch commits"
    );
    release.send(()).unwrap();
    holder.await.unwrap();
    let mut got = Vec::new();
    for answer in answers {
        got.push(
            tokio::time::timeout(STUCK, answer)
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
        );
    }
    let question = got[0].clone().unwrap();
    assert_eq!(question.id, first_id);
    assert_eq!(got[1].clone().unwrap().parent, Some(first_id));
    assert_eq!(got[2], Err(Refusal::Duplicate));
    assert_eq!(got[3], Err(Refusal::ParentInOtherThread(older.id)));
    assert_eq!(got[4].clone().unwrap().author, "Eve");
    // What was answered is there for a reader, and only that.
    let count = store.read(|s| s.count(Status::Approved)).await.unwrap();
    assert_eq!(count, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_answered_while_the_writer_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let store = group_commit(&dir);
    let stored = store
        .post(posting(comment("/a/", None, "Ann", "hello")))
        .await
        .unwrap()
        .unwrap();
    let (release, holder) = store.hold_writer().await;
    // A write queues behind the held writer…
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.with_store(|s| s.count(Status::Pending)).await }
    });
    until_waiting(&store, 1).await;
    // …while reads, on the read-only connections, go on.
    let reads = async {
        let (a, b) = tokio::join!(
            store.read(|s| s.approved_counts("default", &["/a/".into()])),
            store.read(move |s| s.get(stored.id)),
        );
        (a.unwrap(), b.unwrap())
    };
    let (counts, found) = tokio::time::timeout(STUCK, reads).await.unwrap();
    assert_eq!(counts, vec![1]);
    assert_eq!(found.map(|c| c.text), Some("hello".to_owned()));
    assert!(
        !waiting.is_finished(),
        "the write still waits for the writer"
    );
    release.send(()).unwrap();
    holder.await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_panics_on_the_writer_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = group_commit(&dir);
    let failed = store
        .with_store(|_| -> anyhow::Result<()> { panic!("a bug in a store call") })
        .await
        .unwrap_err();
    assert!(
        failed.to_string().contains("database writer failed"),
        "{failed:#}"
    );
    let stored = store
        .post(posting(comment("/a/", None, "Ann", "still works")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Approved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_stored_in_batches_of_at_most_max_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = group_commit(&dir);
    let (release, holder) = store.hold_writer().await;
    let total = super::MAX_BATCH + 5;
    let mut answers = Vec::new();
    for n in 0..total {
        let each = store.clone();
        let text = format!("flood {n}");
        answers.push(tokio::spawn(async move {
            each.post(posting(comment("/a/", None, "Ann", &text))).await
        }));
    }
    until_waiting(&store, total).await;
    assert_eq!(store.batches_committed(), 0);
    release.send(()).unwrap();
    holder.await.unwrap();
    for answer in answers {
        let posted = tokio::time::timeout(STUCK, answer).await.unwrap().unwrap();
        posted.unwrap().unwrap();
    }
    // One full batch, then the five left over.
    assert_eq!(store.batches_committed(), 2);
    let count = store.read(|s| s.count(Status::Approved)).await.unwrap();
    assert_eq!(count, total as u64);
}
