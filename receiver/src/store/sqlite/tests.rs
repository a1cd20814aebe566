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
    let comment = |text: &str| NewComment::sample("/a/", "Ann", text);
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

#[test]
fn the_sites_migration_puts_existing_threads_in_the_default_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    // As the kiln before sites left it: a thread with a reply under a comment.
    let old = SqliteStore::open_at_version(&path, MIGRATIONS.len() - 1).unwrap();
    old.conn
        .execute_batch(
            "INSERT INTO threads (id, key, url, created_at, changed_seq, published_count, title)
                 VALUES (5, '/about/', 'https://a.example/about/', 1, 3, 2, 'About');
             INSERT INTO comments (id, thread_id, parent_id, status, author, text, page_url,
                                   created_at)
                 VALUES (8, 5, NULL, 'approved', 'Ann', 'First', 'https://a.example/about/', 1),
                        (9, 5, 8, 'approved', 'Bob', 'Reply', 'https://a.example/about/', 2);",
        )
        .unwrap();
    drop(old);

    let mut store = SqliteStore::open(&path).unwrap();
    let enforced: bool = store
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert!(enforced, "foreign keys are on again after migrating");
    let row: (i64, String, String, i64, i64) = store
        .conn
        .query_row(
            "SELECT id, site, title, changed_seq, published_count FROM threads",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(row, (5, "default".into(), "About".into(), 3, 2));
    let reply = store.get(9).unwrap().unwrap();
    assert_eq!(
        (reply.site.as_str(), reply.thread.as_str()),
        ("default", "/about/")
    );
    assert_eq!(reply.page_title, "About");
    // The thread's comments still reference it; a new comment of the same
    // key on another site makes a thread of its own.
    let avatars = store.avatar_keys(false).unwrap();
    let threads = store.published_threads("default", None, &avatars).unwrap();
    assert_eq!(threads[0].comments.len(), 2);
    let other = NewComment {
        site: "b".into(),
        page_url: "https://b.example/about/".into(),
        ..NewComment::sample("/about/", "Cy", "On B")
    };
    let stored = store
        .insert_opted(&other, false, Status::Approved, 3)
        .unwrap()
        .unwrap();
    assert_ne!(store.get(stored.id).unwrap().unwrap().site, reply.site);
    // A reference the rebuild lost would fail this.
    let broken: Option<String> = store
        .conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(broken, None);
}
