//! What only PostgreSQL has to prove, because only there do writers run side
//! by side: the lock order keeps a reply and a moderation of its parent (or
//! an import answering a comment and its deletion, or published comments
//! posted to one thread at once) from deadlocking, the
//! change sequence follows commit order, a deadlock the
//! server breaks runs the method again, and listeners hear of changes and
//! queued mail only when they commit.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use ::postgres::fallible_iterator::FallibleIterator;

use crate::store::postgres::scratch::scratch_db;
use crate::store::postgres::{Connection, PgStore};
use crate::store::{open_at, Location, Mode, NewComment, Refusal, Status, Store};

fn comment(parent: Option<i64>, title: &str) -> NewComment {
    NewComment {
        page_title: title.into(),
        parent,
        email: Some("ann@example.org".into()),
        ..NewComment::sample("/race/", "Ann", "hi")
    }
}

/// Polls `done` (a query on `conn`) until it holds, for at most 10 s.
fn until(conn: &mut Connection, what: &str, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if conn.query_one(sql, &[]).unwrap().get::<_, bool>(0) {
            return;
        }
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Until exactly `n` sessions of this database wait for a lock.
fn until_waiting(conn: &mut Connection, n: usize) {
    until(
        conn,
        &format!("{n} sessions to wait for a lock"),
        &format!(
            "SELECT count(*) = {n} FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ),
    );
}

/// Published comments posted to one thread at the same moment by several
/// receivers. Each insert's foreign key takes a key-share lock on the
/// thread's row before the store stamps the thread; a stamp that asked for
/// `FOR UPDATE` conflicted with the others' key-share locks, and every pair
/// waited for each other until the server broke the deadlock.
#[test]
fn published_comments_posted_to_one_thread_at_once_never_deadlock() {
    let Some(db) = scratch_db() else { return };
    const WRITERS: usize = 4;
    const ROUNDS: usize = 15;
    // The thread exists before the race, as it does on a busy page.
    let mut setup = PgStore::open(&db.target).unwrap();
    setup
        .insert(&comment(None, ""), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let start = Barrier::new(WRITERS);
    let results: Vec<(usize, u64)> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                s.spawn(|| {
                    let mut store = PgStore::open(&db.target).unwrap();
                    let mut stored = 0;
                    for _ in 0..ROUNDS {
                        start.wait();
                        // No unwrap: a panic would leave the others waiting
                        // at the barrier for ever.
                        if let Ok(Ok(_)) = store.insert(&comment(None, ""), Status::Approved, 2) {
                            stored += 1;
                        }
                    }
                    (stored, store.retried())
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(
        results.iter().all(|&(stored, _)| stored == ROUNDS),
        "every post stored: {results:?}"
    );
    assert!(
        results.iter().all(|&(_, retried)| retried == 0),
        "no deadlock was broken: {results:?}"
    );
    assert_eq!(
        setup
            .approved_counts("default", &["/race/".into()])
            .unwrap(),
        vec![(1 + WRITERS * ROUNDS) as u64]
    );
}

/// Each round, one connection replies to a parent while another unpublishes
/// it, released together. Exactly one of the two may win each round, and
/// neither may ever wait for the other in a circle: the reply locks the
/// parent before the thread (whose title it changes), as the unpublish does.
#[test]
fn a_reply_and_an_unpublish_of_its_parent_never_deadlock_and_never_both_win() {
    let Some(db) = scratch_db() else { return };
    const ROUNDS: usize = 40;
    let mut setup = PgStore::open(&db.target).unwrap();
    let parents: Vec<i64> = (0..ROUNDS)
        .map(|_| {
            setup
                .insert(&comment(None, ""), Status::Approved, 1)
                .unwrap()
                .unwrap()
                .id
        })
        .collect();
    let start = Barrier::new(2);
    let ((replies, reply_retries), (unpublishes, unpublish_retries)) = std::thread::scope(|s| {
        let replier = s.spawn(|| {
            let mut store = PgStore::open(&db.target).unwrap();
            let outcomes: Vec<_> = parents
                .iter()
                .enumerate()
                .map(|(round, &parent)| {
                    start.wait();
                    let reply = comment(Some(parent), &format!("Title {round}"));
                    // No unwrap here: a panic would leave the other
                    // thread waiting at the barrier for ever.
                    store
                        .insert(&reply, Status::Approved, 2)
                        .map(|outcome| outcome.map(|stored| stored.id))
                        .map_err(|e| format!("{e:#}"))
                })
                .collect();
            (outcomes, store.retried())
        });
        let unpublisher = s.spawn(|| {
            let mut store = PgStore::open(&db.target).unwrap();
            let outcomes: Vec<_> = parents
                .iter()
                .map(|&parent| {
                    start.wait();
                    store.unpublish(&[parent]).map_err(|e| format!("{e:#}"))
                })
                .collect();
            (outcomes, store.retried())
        });
        (replier.join().unwrap(), unpublisher.join().unwrap())
    });
    assert_eq!(
        (reply_retries, unpublish_retries),
        (0, 0),
        "a deadlock was broken"
    );
    let mut replied = 0;
    for ((reply, unpublish), &parent) in replies.iter().zip(&unpublishes).zip(&parents) {
        match (reply, unpublish) {
            (Ok(Ok(_)), Ok(Err(Refusal::HasPublishedReplies(p)))) if *p == parent => replied += 1,
            (Ok(Err(Refusal::ParentNotPublished(p))), Ok(Ok(()))) if *p == parent => {}
            other => panic!("parent {parent}: {other:?}"),
        }
    }
    println!("{replied} replies won, {} unpublishes", ROUNDS - replied);
    // What the thread says it shows is what it shows, and no published
    // reply hangs under a parent that is not.
    let mut conn = db.target.connect().unwrap();
    let (counted, shown): (i64, i64) = {
        let row = conn
            .query_one(
                "SELECT (SELECT count(*) FROM comments WHERE status IN ('approved', 'deleted')),
                        (SELECT published_count FROM threads WHERE key = '/race/')",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(counted, shown);
    let orphans: i64 = conn
        .query_one(
            "SELECT count(*) FROM comments r JOIN comments p ON p.id = r.parent_id
             WHERE r.status IN ('approved', 'deleted') AND p.status NOT IN ('approved', 'deleted')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0);
}

/// A transaction that bumped the change sequence first but commits late
/// makes a later one wait, so the later one's number is the higher: the
/// publisher, having seen a number, has seen every change up to it.
#[test]
fn the_change_sequence_follows_commit_order() {
    let Some(db) = scratch_db() else { return };
    let mut store = PgStore::open(&db.target).unwrap();
    let c = store
        .insert(&comment(None, ""), Status::Pending, 1)
        .unwrap()
        .unwrap();
    let mut listener = db.target.connect().unwrap();
    listener.batch_execute("LISTEN kiln_changed").unwrap();
    let mut early = db.target.connect().unwrap();
    let mut watcher = db.target.connect().unwrap();
    let mut slow = early.transaction().unwrap();
    let first: i64 = slow
        .query_one(
            "UPDATE change_seq SET value = value + 1 RETURNING value",
            &[],
        )
        .unwrap()
        .get(0);
    std::thread::scope(|s| {
        let approving = s.spawn(|| store.approve(&[c.id], 2));
        until_waiting(&mut watcher, 1);
        slow.commit().unwrap();
        approving.join().unwrap().unwrap().unwrap();
    });
    assert_eq!(store.change_seq().unwrap(), first as u64 + 1);
    let stamps = store.thread_stamps("default").unwrap();
    assert_eq!(stamps, [("/race/".to_owned(), first as u64 + 1, 1)]);
    // Listeners hear the number once the change committed.
    let heard = listener
        .notifications()
        .timeout_iter(Duration::from_secs(10))
        .next()
        .unwrap()
        .expect("a notification");
    assert_eq!(
        (heard.channel(), heard.payload()),
        ("kiln_changed", (first + 1).to_string().as_str())
    );
}

/// When the server breaks a deadlock by aborting one of the store's
/// transactions, the method runs again and succeeds, and the caller never
/// sees the conflict.
#[test]
fn a_deadlock_the_server_breaks_runs_the_method_again() {
    let Some(db) = scratch_db() else { return };
    // The store's sessions look for deadlocks after 1 s, the other one after
    // a minute, so that the store's transaction is the one the server
    // aborts. A session looks once per wait: the other transaction must
    // close the circle within that second, even on a loaded machine.
    db.execute(
        "DO $$ BEGIN
             EXECUTE format('ALTER DATABASE %I SET deadlock_timeout = %L', current_database(), '1s');
         END $$",
    );
    let mut store = PgStore::open(&db.target).unwrap();
    let c = store
        .insert(&comment(None, ""), Status::Pending, 1)
        .unwrap()
        .unwrap();
    let mut other = db.target.connect().unwrap();
    other
        .batch_execute("SET deadlock_timeout = '1min'")
        .unwrap();
    let mut watcher = db.target.connect().unwrap();
    let mut tx = other.transaction().unwrap();
    tx.execute("UPDATE change_seq SET value = value + 1", &[])
        .unwrap();
    std::thread::scope(|s| {
        // Locks the comment, then waits for the change sequence…
        let approving = s.spawn(|| store.approve(&[c.id], 2));
        until_waiting(&mut watcher, 1);
        // …which is held by a transaction that now waits for the comment.
        let status: String = tx
            .query_one(
                "SELECT status FROM comments WHERE id = $1 FOR UPDATE",
                &[&c.id],
            )
            .unwrap()
            .get(0);
        assert_eq!(status, "pending", "the aborted approval left nothing");
        tx.commit().unwrap();
        approving.join().unwrap().unwrap().unwrap();
    });
    // Once, usually; again when the retry wins the comment's lock back
    // before the other transaction takes it, and closes the circle anew.
    assert!(store.retried() >= 1);
    assert_eq!(store.get(c.id).unwrap().unwrap().status, Status::Approved);
    assert_eq!(store.change_seq().unwrap(), 2);
}

/// Listeners hear of changed pages and queued mail when a change commits,
/// and of nothing a refused change would have done.
#[test]
fn changes_and_queued_mail_are_announced_on_commit_only() {
    let Some(db) = scratch_db() else { return };
    let mut store = super::open_postgres(&db, Mode::ReadWrite);
    store.set_mail_events(true);
    let mut listener = db.target.connect().unwrap();
    listener
        .batch_execute("LISTEN kiln_changed; LISTEN kiln_outbox")
        .unwrap();
    let pending = store
        .insert(&comment(None, ""), Status::Pending, 1)
        .unwrap()
        .unwrap();
    assert!(store.approve(&[pending.id, 404], 2).unwrap().is_err());
    store.reject(&[pending.id]).unwrap().unwrap();
    store
        .insert(&comment(None, "Title"), Status::Approved, 3)
        .unwrap()
        .unwrap();
    let seq = store.change_seq().unwrap().to_string();
    let mut heard = Vec::new();
    let mut notifications = listener.notifications();
    let mut waiting = notifications.timeout_iter(Duration::from_secs(10));
    // The pending comment's mail, then the approved one's page and mail.
    while heard.len() < 3 {
        let n = waiting.next().unwrap().expect("a notification");
        heard.push((n.channel().to_owned(), n.payload().to_owned()));
    }
    assert_eq!(
        heard,
        [
            ("kiln_outbox".to_owned(), String::new()),
            ("kiln_changed".to_owned(), seq),
            ("kiln_outbox".to_owned(), String::new()),
        ]
    );
}

#[test]
fn concurrent_first_secrets_converge() {
    let Some(db) = scratch_db() else { return };
    drop(super::open_postgres(&db, Mode::ReadWrite));
    let secrets: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| super::open_postgres(&db, Mode::ReadWrite).secret().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(secrets.iter().all(|s| *s == secrets[0]), "{secrets:?}");
}

#[test]
fn a_read_only_open_needs_a_migrated_schema() {
    let Some(db) = scratch_db() else { return };
    let err = match open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadOnly) {
        Ok(_) => panic!("opened an empty database read-only"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("no kiln schema yet"), "{err}");
    assert!(
        db.target
            .connect()
            .unwrap()
            .query_one("SELECT to_regclass('kiln_migrations') IS NULL", &[])
            .unwrap()
            .get::<_, bool>(0),
        "a read-only open migrated"
    );
}

/// Each connection keeps its statements prepared. A schema change that
/// alters what one returns makes the server refuse it; the store then
/// prepares its statements anew and runs the method again, in or outside
/// a transaction.
#[test]
fn kept_statements_are_prepared_again_after_a_schema_change() {
    let Some(db) = scratch_db() else { return };
    let mut store = PgStore::open(&db.target).unwrap();
    let parent = store
        .insert(&comment(None, "Title"), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let reply = store
        .insert(&comment(Some(parent.id), ""), Status::Pending, 2)
        .unwrap()
        .unwrap();
    assert_eq!(store.get(reply.id).unwrap().unwrap().page_title, "Title");
    // What a newer kiln's migration might do to columns these statements return.
    db.execute(
        "ALTER TABLE threads ALTER COLUMN key TYPE varchar;
         ALTER TABLE threads ALTER COLUMN title TYPE varchar",
    );
    assert_eq!(store.get(reply.id).unwrap().unwrap().page_title, "Title");
    let again = store
        .insert(&comment(Some(parent.id), ""), Status::Pending, 3)
        .unwrap()
        .unwrap();
    assert_eq!(again.parent, Some(parent.id));
    assert_eq!(store.retried(), 0, "not a conflict");
}

/// Each round, one connection imports a reply to a comment an earlier
/// import brought while another deletes that comment, released together.
/// The import locks the stored parent before the thread, as the delete
/// does, so neither waits for the other in a circle; either the reply is
/// stored and the parent stays as a "deleted" marker, or the parent is gone
/// and the reply is left out, named.
#[test]
fn an_import_answering_a_comment_and_its_deletion_never_deadlock() {
    use crate::store::{ImportBatch, ImportComment, ImportThread};
    let Some(db) = scratch_db() else { return };
    const ROUNDS: usize = 30;
    let batch = |source_id: String, parent: Option<String>| ImportBatch {
        source: "disqus".into(),
        site: crate::store::DEFAULT_SITE.into(),
        threads: vec![ImportThread {
            key: "/race/".into(),
            url: "https://example.org/race/".into(),
            title: String::new(),
            comments: vec![ImportComment {
                source_id,
                parent,
                id: None,
                status: Status::Approved,
                created_at: 1,
                fields: crate::store::ImportFields {
                    author: "Bea".into(),
                    text: "imported".into(),
                    ..Default::default()
                }
                .into(),
            }],
        }],
        spill: None,
    };
    let mut setup = PgStore::open(&db.target).unwrap();
    let parents: Vec<i64> = (0..ROUNDS)
        .map(|n| {
            setup
                .import_batch(&batch(format!("p{n}"), None), true)
                .unwrap()
                .added[0]
                .1
        })
        .collect();
    let start = Barrier::new(2);
    let ((imports, import_retries), (deletes, delete_retries)) = std::thread::scope(|s| {
        let importer = s.spawn(|| {
            let mut store = PgStore::open(&db.target).unwrap();
            let outcomes: Vec<_> = (0..ROUNDS)
                .map(|n| {
                    start.wait();
                    // No unwrap: a panic would leave the other thread at
                    // the barrier for ever.
                    store
                        .import_batch(&batch(format!("r{n}"), Some(format!("p{n}"))), true)
                        .map_err(|e| format!("{e:#}"))
                })
                .collect();
            (outcomes, store.retried())
        });
        let deleter = s.spawn(|| {
            let mut store = PgStore::open(&db.target).unwrap();
            let outcomes: Vec<_> = parents
                .iter()
                .map(|&parent| {
                    start.wait();
                    store.delete(&[parent]).map_err(|e| format!("{e:#}"))
                })
                .collect();
            (outcomes, store.retried())
        });
        (importer.join().unwrap(), deleter.join().unwrap())
    });
    assert_eq!(
        (import_retries, delete_retries),
        (0, 0),
        "a deadlock was broken"
    );
    let mut conn = db.target.connect().unwrap();
    let mut answered = 0;
    for ((import, delete), &parent) in imports.iter().zip(&deletes).zip(&parents) {
        let import = import
            .as_ref()
            .unwrap_or_else(|e| panic!("parent {parent}: {e}"));
        assert_eq!(delete, &Ok(Ok(())), "parent {parent}");
        let left: Option<String> = conn
            .query_opt("SELECT status FROM comments WHERE id = $1", &[&parent])
            .unwrap()
            .map(|row| row.get(0));
        match (import.added.len(), import.unplaced.len(), left.as_deref()) {
            (1, 0, Some("deleted")) => answered += 1,
            (0, 1, None) => {}
            other => panic!("parent {parent}: {other:?} {import:?}"),
        }
    }
    println!("{answered} replies won, {} deletions", ROUNDS - answered);
    let (counted, shown): (i64, i64) = {
        let row = conn
            .query_one(
                "SELECT (SELECT count(*) FROM comments WHERE status IN ('approved', 'deleted')),
                        (SELECT published_count FROM threads WHERE key = '/race/')",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        counted, shown,
        "what the thread says it shows is what it shows"
    );
}

/// The same import started twice at once (two shells, or a retry while the
/// first still runs): the second waits for the first to commit and then
/// finds every comment already imported; neither fails on the `imported`
/// key, and every comment is stored once. The test holds the import lock
/// itself until both are waiting on it, so they really overlap.
#[test]
fn the_same_import_twice_at_once_stores_it_once() {
    use crate::store::postgres::imported::IMPORT_LOCK;
    use crate::store::postgres::migrate::LOCK_CLASS;
    use crate::store::{ImportBatch, ImportComment, ImportFields, ImportThread};
    let Some(db) = scratch_db() else { return };
    const COMMENTS: usize = 40;
    let batch = ImportBatch {
        source: "disqus".into(),
        site: crate::store::DEFAULT_SITE.into(),
        threads: vec![ImportThread {
            key: "/twice/".into(),
            url: "https://example.org/twice/".into(),
            title: "Twice".into(),
            comments: (0..COMMENTS)
                .map(|n| ImportComment {
                    source_id: format!("c{n}"),
                    parent: n.checked_sub(1).map(|p| format!("c{p}")),
                    id: None,
                    status: Status::Approved,
                    created_at: n as i64,
                    fields: ImportFields {
                        author: "Bea".into(),
                        text: format!("comment {n}"),
                        ..Default::default()
                    }
                    .into(),
                })
                .collect(),
        }],
        spill: None,
    };
    // Migrated before the lock is taken.
    drop(PgStore::open(&db.target).unwrap());
    let mut holder = db.target.connect().unwrap();
    holder
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &IMPORT_LOCK],
        )
        .unwrap();
    let waiting = |holder: &mut Connection| -> i64 {
        holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let outcomes = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut store = PgStore::open(&db.target).unwrap();
                    store
                        .import_batch(&batch, true)
                        .map_err(|e| format!("{e:#}"))
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while waiting(&mut holder) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let both_waited = waiting(&mut holder) == 2;
        holder
            .execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&LOCK_CLASS, &IMPORT_LOCK],
            )
            .unwrap();
        assert!(both_waited, "the imports did not wait for the import lock");
        runs.into_iter()
            .map(|run| run.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|e| panic!("an import failed: {e}")))
        .collect();
    outcomes.sort_by_key(|o| o.added.len());
    let (second, first) = (&outcomes[0], &outcomes[1]);
    assert_eq!(
        (first.added.len(), first.already.len(), first.new_threads),
        (COMMENTS, 0, 1),
        "{first:?}"
    );
    assert_eq!(
        (second.added.len(), second.already.len(), second.new_threads),
        (0, COMMENTS, 0),
        "{second:?}"
    );
    assert!(first.unplaced.is_empty() && second.unplaced.is_empty());
    let mut count = |sql: &str| -> i64 { holder.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(count("SELECT count(*) FROM comments"), COMMENTS as i64);
    assert_eq!(count("SELECT count(*) FROM imported"), COMMENTS as i64);
}

/// `forget` takes an address's subscription before its queued mail, as
/// `unsubscribe` and queueing do (the lock order in
/// docs/design/postgres.md), so the two never wait for each other in a
/// circle. Shown by holding the subscription row: `forget` must stop there
/// without having touched the outbox, whose row another connection can then
/// still lock.
#[test]
fn forget_takes_the_subscription_before_the_outbox() {
    let Some(db) = scratch_db() else { return };
    const EMAIL: &str = "ann@example.org";
    let mut store = PgStore::open(&db.target).unwrap();
    let c = store
        .insert(&comment(None, ""), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let mut holder = db.target.connect().unwrap();
    holder
        .execute(
            "INSERT INTO subscribers (email, created_at) VALUES ($1, 1)",
            &[&EMAIL],
        )
        .unwrap();
    holder
        .execute(
            "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             VALUES ('reply', $1, $2, 1, 1)",
            &[&c.id, &EMAIL],
        )
        .unwrap();
    let mut hold = holder.transaction().unwrap();
    hold.execute(
        "SELECT 1 FROM subscribers WHERE email = $1 FOR UPDATE",
        &[&EMAIL],
    )
    .unwrap();
    let mut probe = db.target.connect().unwrap();
    std::thread::scope(|s| {
        let forget = s.spawn(|| store.forget(EMAIL).map_err(|e| format!("{e:#}")));
        // Until forget waits on a row lock (or 20 s have passed).
        let deadline = Instant::now() + Duration::from_secs(20);
        let waiting = |probe: &mut Connection| -> i64 {
            probe
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0)
        };
        while waiting(&mut probe) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let waited = waiting(&mut probe) == 1;
        let outbox_free = {
            let mut tx = probe.transaction().unwrap();
            let locked = tx.query(
                "SELECT id FROM outbox WHERE recipient = $1 FOR UPDATE NOWAIT",
                &[&EMAIL],
            );
            tx.rollback().unwrap();
            locked.map(|rows| rows.len()).map_err(|e| e.to_string())
        };
        hold.rollback().unwrap();
        let forgotten = forget.join().unwrap().unwrap();
        assert!(waited, "forget did not wait for the subscription");
        assert_eq!(
            outbox_free,
            Ok(1),
            "forget held the outbox while it waited for the subscription"
        );
        assert!(forgotten.subscription, "{forgotten:?}");
    });
    let left: i64 = probe
        .query_one("SELECT count(*) FROM outbox", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the queued mail went with the address");
}
