//! SqliteStore tests that only make sense for SQLite: its migrator, which
//! counts in `PRAGMA user_version`, and its write transactions beside
//! another connection's. (The store's behaviour is tested on
//! both backends in `store/tests/`.)

use super::*;

#[test]
fn receivers_starting_at_once_on_a_new_file_migrate_it_once() {
    // Four openers released together on a fresh file, a few times over: an
    // unlocked migrator lets two of them run migration 1, and the second
    // fails on a table that already exists.
    const OPENERS: usize = 4;
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let start = std::sync::Arc::new(std::sync::Barrier::new(OPENERS));
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(|store| store.instance_id().unwrap())
                })
            })
            .collect();
        let ids: Vec<String> = openers
            .into_iter()
            .map(|opener| {
                opener
                    .join()
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: {e:#}"))
            })
            .collect();
        assert!(ids.iter().all(|id| id == &ids[0]), "round {round}: {ids:?}");
        let version: usize = SqliteStore::open_read_only(&path)
            .unwrap()
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }
}

#[test]
fn moderation_beside_another_writer_waits_for_the_lock_instead_of_failing() {
    // A moderation command and the receiver write the same file from two
    // connections. A deferred transaction reads first and then finds that
    // the other connection committed in between: SQLite refuses it at once
    // ("database is locked"), busy timeout or not. Every write transaction
    // begins IMMEDIATE, so each waits its turn instead.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    let mut moderator = SqliteStore::open(&path).unwrap();
    let mut receiver = SqliteStore::open(&path).unwrap();
    let comment = |text: &str| NewComment {
        site: "default".into(),
        thread: "/a/".into(),
        page_url: "https://example.org/a/".into(),
        page_title: String::new(),
        parent: None,
        author: "Ann".into(),
        email: None,
        website: None,
        text: text.into(),
        remote_addr: None,
    };
    let first = moderator
        .insert_opted(&comment("first"), false, Status::Pending, 1)
        .unwrap()
        .unwrap()
        .id;
    const ROUNDS: i64 = 300;
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let posting = std::thread::spawn({
        let start = start.clone();
        move || {
            start.wait();
            for n in 0..ROUNDS {
                receiver
                    .insert_opted(
                        &comment(&format!("comment {n}")),
                        false,
                        Status::Approved,
                        n,
                    )
                    .unwrap_or_else(|e| panic!("insert {n}: {e:#}"))
                    .unwrap();
            }
        }
    });
    start.wait();
    for n in 0..ROUNDS {
        let done = if n % 2 == 0 {
            moderator.approve(&[first], n)
        } else {
            moderator.unpublish(&[first])
        };
        done.unwrap_or_else(|e| panic!("moderation {n}: {e:#}"))
            .unwrap();
    }
    posting.join().unwrap();
    assert_eq!(moderator.count(Status::Approved).unwrap(), ROUNDS as u64);
}
