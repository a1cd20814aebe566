//! The outbox, subscriptions and abuse lookups of the `Store`, one body per
//! backend: claims that several senders make at once, leases, retries, what
//! an unsubscribe removes, and the duplicate and approved-author checks.
//!
//! The rows these read are set up with plain SQL that both dialects read
//! alike, so that what is tested here does not wait for, or depend on, the
//! comment side of each backend; what a change queues is tested with the
//! comment methods.

use crate::store::postgres::scratch::scratch_db;
use crate::store::testing::TestDb;
use crate::store::{open_at, Location, MailTrouble, Mode, OutboxKind, Store};

/// One backend under test.
struct Db<'a> {
    /// A new connection, as another receiver would open one.
    open: &'a dyn Fn() -> Box<dyn Store>,
    /// Runs a setup statement.
    exec: &'a dyn Fn(&str),
    /// The one integer a query returns.
    int: &'a dyn Fn(&str) -> i64,
}

/// The same body on a fresh SQLite file and a fresh PostgreSQL database,
/// each with its schema made by opening a store.
fn on_each_backend(body: impl Fn(&Db)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    let sqlite = TestDb::sqlite(&path);
    let open = || open_at(Location::Sqlite(&path), Mode::ReadWrite).unwrap();
    drop(open());
    body(&Db {
        open: &open,
        exec: &|sql| {
            sqlite.execute(sql, &[]);
        },
        int: &|sql| sqlite.query_i64(sql, &[]),
    });

    let Some(db) = scratch_db() else { return };
    let open = || super::open_postgres(&db, Mode::ReadWrite);
    drop(open());
    let conn = std::cell::RefCell::new(db.target.connect().unwrap());
    body(&Db {
        open: &open,
        exec: &|sql| {
            conn.borrow_mut().batch_execute(sql).unwrap();
        },
        int: &|sql| conn.borrow_mut().query_one(sql, &[]).unwrap().get(0),
    });
}

/// Queues a message by hand: `kind` about comment `comment`, due at `due`.
fn queue(db: &Db, kind: &str, comment: i64, recipient: Option<&str>, due: i64) {
    let recipient = recipient.map_or("NULL".to_owned(), |r| format!("'{r}'"));
    (db.exec)(&format!(
        "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
         VALUES ('{kind}', {comment}, {recipient}, 1, {due})"
    ));
}

#[test]
fn senders_claiming_at_once_take_each_message_exactly_once() {
    on_each_backend(|db| {
        const MESSAGES: i64 = 300;
        (db.exec)(&format!(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MESSAGES})
             INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             SELECT 'new_comment', i, NULL, 1, i % 7 FROM n"
        ));
        let senders: Vec<Box<dyn Store>> = (0..6).map(|_| (db.open)()).collect();
        let claimed: Vec<(usize, Vec<i64>)> = std::thread::scope(|scope| {
            let running: Vec<_> = senders
                .into_iter()
                .enumerate()
                .map(|(n, mut store)| {
                    scope.spawn(move || {
                        let mut mine = Vec::new();
                        loop {
                            let got = store
                                .claim_mail(10, 1_000, &format!("sender{n}"), 5)
                                .unwrap();
                            if got.is_empty() {
                                return (n, mine);
                            }
                            mine.extend(got.iter().map(|item| item.id));
                        }
                    })
                })
                .collect();
            running.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let mut all: Vec<i64> = claimed.iter().flat_map(|(_, ids)| ids.clone()).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=MESSAGES).collect::<Vec<_>>(),
            "claimed twice or never"
        );
        // Each row names the sender that got it.
        for (n, ids) in &claimed {
            if let Some(id) = ids.first() {
                let holder = (db.int)(&format!(
                    "SELECT count(*) FROM outbox WHERE id = {id} AND claimed_by = 'sender{n}' AND claimed_until = 1000"
                ));
                assert_eq!(holder, 1, "row {id} does not name sender{n}");
            }
        }
        // While the leases last, nobody else gets anything.
        assert!((db.open)()
            .claim_mail(999, 2_000, "late", 100)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn claims_come_oldest_first_and_only_when_due() {
    on_each_backend(|db| {
        queue(db, "reply", 1, Some("a@example.org"), 30);
        queue(db, "confirm", 2, Some("b@example.org"), 10);
        queue(db, "new_comment", 3, None, 10);
        queue(db, "new_comment", 4, None, 50);
        let mut store = (db.open)();
        let got = store.claim_mail(30, 100, "a", 10).unwrap();
        assert_eq!(
            got.iter()
                .map(|i| (
                    i.id,
                    i.kind,
                    i.comment_id,
                    i.recipient.as_deref(),
                    i.attempts
                ))
                .collect::<Vec<_>>(),
            [
                (2, OutboxKind::Confirm, 2, Some("b@example.org"), 0),
                (3, OutboxKind::NewComment, 3, None, 0),
                (1, OutboxKind::Reply, 1, Some("a@example.org"), 0),
            ]
        );
        let later = store.claim_mail(50, 100, "a", 1).unwrap();
        assert_eq!(later.iter().map(|i| i.id).collect::<Vec<_>>(), [4]);
    });
}

#[test]
fn a_claim_whose_lease_ran_out_is_taken_again() {
    on_each_backend(|db| {
        queue(db, "reply", 1, Some("a@example.org"), 5);
        let (mut a, mut b) = ((db.open)(), (db.open)());
        let first = a.claim_mail(10, 20, "a", 10).unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            b.claim_mail(19, 200, "b", 10).unwrap().is_empty(),
            "still held"
        );
        // "a" died mid-way: at the end of its lease "b" takes the message over.
        let again = b.claim_mail(20, 200, "b", 10).unwrap();
        assert_eq!(again, first);
        assert_eq!(
            (db.int)("SELECT count(*) FROM outbox WHERE claimed_by = 'b' AND claimed_until = 200"),
            1
        );
        assert!(a.claim_mail(21, 30, "a", 10).unwrap().is_empty());
    });
}

#[test]
fn sending_or_failing_releases_the_claim() {
    on_each_backend(|db| {
        for comment in 1..=3 {
            queue(db, "new_comment", comment, None, 1);
        }
        let (mut a, mut b) = ((db.open)(), (db.open)());
        let held: Vec<i64> = a
            .claim_mail(10, 1_000, "a", 10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(held, [1, 2, 3]);
        a.mail_failed(1, "connection refused", Some(100), 11)
            .unwrap();
        a.mail_failed(2, "550 mailbox unavailable", None, 12)
            .unwrap();
        a.mail_done(3).unwrap();
        assert_eq!(
            (db.int)("SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL OR claimed_until IS NOT NULL"),
            0,
            "claims left behind"
        );
        // The retry is anybody's once due, long before "a"'s lease would end;
        // the given-up and the sent message are nobody's.
        assert!(b.claim_mail(99, 1_000, "b", 10).unwrap().is_empty());
        let retry = b.claim_mail(100, 1_000, "b", 10).unwrap();
        assert_eq!(
            retry.iter().map(|i| (i.id, i.attempts)).collect::<Vec<_>>(),
            [(1, 1)]
        );
        assert_eq!((db.int)("SELECT count(*) FROM outbox"), 2);
    });
}

#[test]
fn trouble_counts_retries_and_give_ups_with_the_latest_error() {
    on_each_backend(|db| {
        for comment in 1..=3 {
            queue(db, "new_comment", comment, None, 1);
        }
        let mut store = (db.open)();
        assert_eq!(store.mail_trouble().unwrap(), MailTrouble::default());
        let due = store.claim_mail(5, 100, "a", 10).unwrap();
        store
            .mail_failed(due[0].id, "connection refused", Some(100), 10)
            .unwrap();
        store
            .mail_failed(due[1].id, "550 mailbox unavailable", None, 20)
            .unwrap();
        assert_eq!(
            store.mail_trouble().unwrap(),
            MailTrouble {
                retrying: 1,
                given_up: 1,
                last_error: Some("connection refused".into()),
            }
        );
        store.mail_done(due[0].id).unwrap();
        assert_eq!(
            store.mail_trouble().unwrap(),
            MailTrouble {
                retrying: 0,
                given_up: 1,
                last_error: Some("550 mailbox unavailable".into()),
            }
        );
    });
}

#[test]
fn subscriptions_are_confirmed_and_ended_by_address_ignoring_ascii_case() {
    on_each_backend(|db| {
        let mut store = (db.open)();
        // Never seen: anything but reply notifications may go.
        assert!(store.may_mail("ann@example.org", false).unwrap());
        assert!(!store.may_mail("ann@example.org", true).unwrap());
        store.confirm_subscriber("Ann@Example.org", 5).unwrap();
        assert!(store.may_mail("ANN@example.ORG", true).unwrap());
        // Another connection sees the same subscription.
        assert!((db.open)().may_mail("ann@example.org", true).unwrap());
        // Only ASCII folds, as SQLite's NOCASE does, whatever the locale.
        store.confirm_subscriber("Ä@example.org", 5).unwrap();
        assert!(store.may_mail("Ä@example.org", true).unwrap());
        assert!(!store.may_mail("ä@example.org", true).unwrap());

        store.unsubscribe("ANN@example.org", 6).unwrap();
        assert!(!store.may_mail("ann@example.org", false).unwrap());
        assert!(!store.may_mail("Ann@Example.org", true).unwrap());
        // A later confirmation link subscribes again.
        store.confirm_subscriber("ann@example.org", 7).unwrap();
        assert!(store.may_mail("ann@example.org", true).unwrap());
        // One address, one row, however it was written.
        assert_eq!(
            (db.int)("SELECT count(*) FROM subscribers WHERE lower(email) = 'ann@example.org'"),
            1
        );
        // Unsubscribing someone never seen remembers them as unsubscribed.
        store.unsubscribe("new@example.org", 8).unwrap();
        assert!(!store.may_mail("new@example.org", false).unwrap());
    });
}

/// Two threads with comments by Ann, Bob and Cy (see each test).
fn comments(db: &Db) {
    (db.exec)(
        "INSERT INTO threads (id, key, url, created_at)
         VALUES (1, '/a/', 'https://example.org/a/', 1), (2, '/b/', 'https://example.org/b/', 1)",
    );
    (db.exec)(
        "INSERT INTO comments (thread_id, status, author, email, text, page_url, remote_addr,
                               created_at, notify)
         VALUES (1, 'approved', 'Ann', 'Ann@Example.org', 'Thank you!', 'https://example.org/a/',
                 '192.0.2.0', 100, 1 = 1),
                (1, 'deleted', 'Bob', 'bob@example.org', 'Gone', 'https://example.org/a/',
                 '198.51.100.0', 100, 1 = 1),
                (1, 'pending', 'Cy', NULL, 'From afar', 'https://example.org/a/',
                 '203.0.113.0', 100, 1 = 0),
                (2, 'pending', 'Ann', 'ann@example.org', 'Again', 'https://example.org/b/',
                 '192.0.2.0', 100, 1 = 1)",
    );
}

#[test]
fn unsubscribing_stops_replies_and_drops_queued_mail_but_not_the_record_of_failures() {
    on_each_backend(|db| {
        comments(db);
        queue(db, "reply", 1, Some("ann@example.org"), 1);
        queue(db, "confirm", 4, Some("ANN@example.org"), 1);
        queue(db, "reply", 1, Some("bob@example.org"), 1);
        queue(db, "reply", 1, Some("ann@example.org"), 1);
        let mut store = (db.open)();
        store
            .mail_failed(4, "550 mailbox unavailable", None, 2)
            .unwrap();
        store.unsubscribe("Ann@example.org", 5).unwrap();
        assert_eq!(
            (db.int)("SELECT count(*) FROM comments WHERE notify"),
            1,
            "only Bob's comment still asks for replies"
        );
        assert_eq!(
            (db.int)("SELECT count(*) FROM comments WHERE notify AND email = 'bob@example.org'"),
            1
        );
        // Bob's message, and the failure kept for the admin page.
        assert_eq!((db.int)("SELECT count(*) FROM outbox"), 2);
        assert_eq!(
            (db.int)("SELECT count(*) FROM outbox WHERE id IN (3, 4)"),
            2
        );
        assert_eq!(store.mail_trouble().unwrap().given_up, 1);
    });
}

#[test]
fn duplicates_are_the_same_text_in_the_same_thread_from_the_same_person() {
    on_each_backend(|db| {
        comments(db);
        let mut store = (db.open)();
        let mut dup = |thread: &str, text: &str, addr: Option<&str>, email: Option<&str>, since| {
            store
                .is_duplicate("default", thread, text, addr, email, since)
                .unwrap()
        };
        // By address (any case) or by anonymized network, since `since`.
        assert!(dup("/a/", "Thank you!", None, Some("ann@EXAMPLE.org"), 50));
        assert!(dup("/a/", "Thank you!", Some("192.0.2.0"), None, 100));
        assert!(dup(
            "/a/",
            "Thank you!",
            Some("192.0.2.0"),
            Some("x@example.org"),
            50
        ));
        assert!(
            dup("/a/", "From afar", Some("203.0.113.0"), None, 0),
            "pending counts"
        );
        assert!(
            !dup("/a/", "Thank you!", Some("192.0.2.0"), None, 101),
            "too long ago"
        );
        assert!(!dup(
            "/a/",
            "Thank you!",
            Some("192.0.2.1"),
            Some("x@example.org"),
            0
        ));
        assert!(
            !dup("/a/", "Thank you!", None, None, 0),
            "nobody to compare"
        );
        assert!(
            !dup("/a/", "thank you!", Some("192.0.2.0"), None, 0),
            "other text"
        );
        assert!(
            !dup("/b/", "Thank you!", Some("192.0.2.0"), None, 0),
            "other thread"
        );
        assert!(!dup("/nowhere/", "Thank you!", Some("192.0.2.0"), None, 0));
        // The author deleted it, so may post it again.
        assert!(!dup(
            "/a/",
            "Gone",
            Some("198.51.100.0"),
            Some("bob@example.org"),
            0
        ));
    });
}

#[test]
fn an_approved_author_is_known_by_address_ignoring_ascii_case() {
    on_each_backend(|db| {
        comments(db);
        let mut store = (db.open)();
        assert!(store.has_approved_comment("ANN@example.org").unwrap());
        assert!(
            !store.has_approved_comment("bob@example.org").unwrap(),
            "deleted"
        );
        assert!(!store.has_approved_comment("cy@example.org").unwrap());
        assert!(!store.has_approved_comment("Änn@example.org").unwrap());
    });
}

#[test]
fn the_instance_id_is_one_per_database() {
    on_each_backend(|db| {
        let id = (db.open)().instance_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_eq!((db.open)().instance_id().unwrap(), id);
    });
}
