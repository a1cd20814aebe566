//! Tests of the `Store` that run one body on every backend, through the
//! factory, so the backends cannot drift apart. Each body runs on a fresh
//! SQLite file, then on a fresh PostgreSQL database when
//! `KILN_TEST_DATABASE_URL` names a server (see `postgres/scratch.rs` for
//! what happens when it does not). Tests that look at rows no method shows
//! (the outbox, a thread left behind) read them through `TestDb`.
//!
//! Here: the keys, the admin password and sessions. Beside this file:
//! comments and their invariants (`comments.rs`), submissions stored in
//! batches (`batch.rs`), imports (`imported.rs`), moderation beyond
//! approve/reject/delete (`review.rs`), threads of several sites
//! (`sites.rs`), the mail that changes queue
//! (`queue.rs`), what the outbox does with it and the abuse lookups
//! (`mail.rs`), one person's data (`privacy.rs`), likes (`reactions.rs`),
//! and what only PostgreSQL
//! has to prove: locks, retries, commit order (`postgres.rs`).

mod backup;
mod batch;
mod comments;
mod identity;
mod imported;
mod mail;
mod postgres_only;
mod privacy;
mod queue;
mod reactions;
mod review;
mod sites;

use kiln_bake::export::Export;

use super::postgres::scratch::ScratchDb;
use super::testing::TestDb;
use super::{open_at, Location, Mode, NewComment, Status, Store};

/// The same body on a fresh SQLite file and a fresh PostgreSQL database.
fn on_each_backend(body: impl Fn(&TestDb)) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = TestDb::sqlite(dir.path().join("kiln.sqlite3"));
    // Printed, so a failure's captured output says which backend failed.
    println!("on sqlite");
    body(&sqlite);
    let Some(postgres) = TestDb::postgres() else {
        return;
    };
    println!("on postgres");
    body(&postgres);
}

/// A store on a scratch PostgreSQL database (for tests that make their own).
fn open_postgres(db: &ScratchDb, mode: Mode) -> Box<dyn Store> {
    open_at(Location::new("unused.sqlite3".as_ref(), &db.url, ""), mode).unwrap()
}

/// A comment by Ann (with an address and a client address) in `thread`.
fn new(thread: &str, parent: Option<i64>, text: &str) -> NewComment {
    NewComment {
        parent,
        email: Some("ann@example.org".into()),
        remote_addr: Some("192.0.2.0".into()),
        ..NewComment::sample(thread, "Ann", text)
    }
}

/// A comment by `author`, whose address is their lower-cased name.
fn by(thread: &str, author: &str, text: &str) -> NewComment {
    NewComment {
        author: author.into(),
        email: Some(format!("{}@example.org", author.to_lowercase())),
        remote_addr: None,
        ..new(thread, None, text)
    }
}

/// Stores a pending comment by `author` at time `at`; its id.
fn add(store: &mut dyn Store, thread: &str, author: &str, text: &str, at: i64) -> i64 {
    store
        .insert(&by(thread, author, text), Status::Pending, at)
        .unwrap()
        .unwrap()
        .id
}

/// Every published comment, with avatars keyed as bake keys them.
/// The whole export, without its clock reading: tests compare exports taken
/// moments apart, and `generated_at` would differ when a second ticks over.
fn export(store: &mut dyn Store) -> Export {
    let keys = store.avatar_keys(false).unwrap();
    let mut export = store.export("default", &keys).unwrap();
    export.generated_at.clear();
    export
}

/// A thread's change sequence and published count, if it ever showed one.
fn stamp(store: &mut dyn Store, thread: &str) -> Option<(u64, u64)> {
    store
        .thread_stamps("default")
        .unwrap()
        .into_iter()
        .find(|(k, _, _)| k == thread)
        .map(|(_, seq, n)| (seq, n))
}

#[test]
fn sessions_expire_end_and_die_with_a_new_password() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        assert_eq!(store.admin_password_hash().unwrap(), None);
        store.set_admin_password_hash("$argon2id$one").unwrap();
        store
            .create_admin_session("s1", "t1", None, 100, 200)
            .unwrap();
        store
            .create_admin_session("s2", "t2", None, 100, 200)
            .unwrap();
        assert_eq!(
            store
                .admin_session("s1", 150)
                .unwrap()
                .map(|s| s.csrf)
                .as_deref(),
            Some("t1")
        );
        assert_eq!(store.admin_session("s1", 200).unwrap(), None, "expired");
        store.end_admin_session("s1").unwrap();
        assert_eq!(store.admin_session("s1", 150).unwrap(), None, "logged out");
        // A session made by one connection is seen by another, as a
        // second receiver on the same database would see it.
        let mut other = db.open(Mode::ReadWrite);
        assert_eq!(
            other
                .admin_session("s2", 150)
                .unwrap()
                .map(|s| s.csrf)
                .as_deref(),
            Some("t2")
        );
        // Expired sessions go when a new one is made.
        store
            .create_admin_session("s3", "t3", None, 300, 400)
            .unwrap();
        assert_eq!(other.admin_session("s2", 150).unwrap(), None);
        other.set_admin_password_hash("$argon2id$two").unwrap();
        assert_eq!(
            store.admin_password_hash().unwrap().as_deref(),
            Some("$argon2id$two")
        );
        assert_eq!(
            store.admin_session("s3", 350).unwrap(),
            None,
            "all logged out"
        );
    });
}

#[test]
fn named_moderators_have_their_own_passwords_and_sessions() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        assert_eq!(store.moderator_password_hash("bea").unwrap(), None);
        assert!(store.moderator_accounts().unwrap().is_empty());
        store
            .set_moderator_password_hash("bea", "$argon2id$bea")
            .unwrap();
        store
            .set_moderator_password_hash("al", "$argon2id$al")
            .unwrap();
        assert_eq!(
            store.moderator_password_hash("bea").unwrap().as_deref(),
            Some("$argon2id$bea")
        );
        // Not the admin password, and not each other's.
        assert_eq!(store.admin_password_hash().unwrap(), None);
        assert_eq!(store.moderator_password_hash("be").unwrap(), None);
        assert_eq!(store.moderator_accounts().unwrap(), ["al", "bea"]);

        store
            .create_admin_session("sb", "tb", Some("bea"), 100, 500)
            .unwrap();
        store
            .create_admin_session("sa", "ta", Some("al"), 100, 500)
            .unwrap();
        store
            .create_admin_session("sm", "tm", None, 100, 500)
            .unwrap();
        let bea = store.admin_session("sb", 150).unwrap().unwrap();
        assert_eq!(
            (bea.csrf.as_str(), bea.moderator.as_deref()),
            ("tb", Some("bea"))
        );
        assert_eq!(
            store.admin_session("sm", 150).unwrap().unwrap().moderator,
            None
        );

        // A new password for bea ends bea's sessions only.
        store
            .set_moderator_password_hash("bea", "$argon2id$bea2")
            .unwrap();
        assert_eq!(store.admin_session("sb", 150).unwrap(), None);
        assert!(store.admin_session("sa", 150).unwrap().is_some());
        assert!(store.admin_session("sm", 150).unwrap().is_some());
        assert_eq!(
            store.moderator_password_hash("bea").unwrap().as_deref(),
            Some("$argon2id$bea2")
        );
    });
}

#[test]
fn the_secret_and_avatar_salt_are_made_once_and_shared() {
    on_each_backend(|db| {
        let mut first = db.open(Mode::ReadWrite);
        let mut second = db.open(Mode::ReadWrite);
        let secret = first.secret().unwrap();
        assert_eq!(secret.len(), 64);
        assert_eq!(second.secret().unwrap(), secret);
        assert_eq!(first.secret().unwrap(), secret);
        let key = |store: &mut Box<dyn Store>| {
            store
                .avatar_keys(false)
                .unwrap()
                .key(Some("someone@example.org"), "Someone")
        };
        assert_eq!(key(&mut first), key(&mut second));
        // Read-only connections read the same, and cannot write.
        let mut reader = db.open(Mode::ReadOnly);
        assert_eq!(key(&mut reader), key(&mut first));
        assert!(reader.set_admin_password_hash("$argon2id$x").is_err());
    });
}
