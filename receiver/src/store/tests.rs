//! Tests of the `Store` that run one body on every backend, through the
//! factory, so the backends cannot drift apart: so far the parts PostgreSQL
//! has (the keys, the admin password, sessions; docs/design/postgres.md
//! stage S3a). Each body runs on a fresh SQLite file, then on a fresh
//! PostgreSQL database when `KILN_TEST_DATABASE_URL` names a server (see
//! `postgres/scratch.rs` for what happens when it does not).
//! The rest of the store's tests move here as PostgreSQL gains each part.

use super::postgres::scratch::{scratch_db, ScratchDb};
use super::{open_at, Location, Mode, Status, Store};

/// The same body on a fresh SQLite file and a fresh PostgreSQL database.
fn on_each_backend(body: impl Fn(&dyn Fn(Mode) -> Box<dyn Store>)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    body(&|mode| open_at(Location::new(&path, "", ""), mode).unwrap());
    let Some(db) = scratch_db() else { return };
    body(&|mode| open_postgres(&db, mode));
}

fn open_postgres(db: &ScratchDb, mode: Mode) -> Box<dyn Store> {
    open_at(Location::new("unused.sqlite3".as_ref(), &db.url, ""), mode).unwrap()
}

#[test]
fn sessions_expire_end_and_die_with_a_new_password() {
    on_each_backend(|open| {
        let mut store = open(Mode::ReadWrite);
        assert_eq!(store.admin_password_hash().unwrap(), None);
        store.set_admin_password_hash("$argon2id$one").unwrap();
        store.create_admin_session("s1", "t1", 100, 200).unwrap();
        store.create_admin_session("s2", "t2", 100, 200).unwrap();
        assert_eq!(
            store.admin_session("s1", 150).unwrap().as_deref(),
            Some("t1")
        );
        assert_eq!(store.admin_session("s1", 200).unwrap(), None, "expired");
        store.end_admin_session("s1").unwrap();
        assert_eq!(store.admin_session("s1", 150).unwrap(), None, "logged out");
        // A session made by one connection is seen by another, as a
        // second receiver on the same database would see it.
        let mut other = open(Mode::ReadWrite);
        assert_eq!(
            other.admin_session("s2", 150).unwrap().as_deref(),
            Some("t2")
        );
        // Expired sessions go when a new one is made.
        store.create_admin_session("s3", "t3", 300, 400).unwrap();
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
fn the_secret_and_avatar_salt_are_made_once_and_shared() {
    on_each_backend(|open| {
        let mut first = open(Mode::ReadWrite);
        let mut second = open(Mode::ReadWrite);
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
        let mut reader = open(Mode::ReadOnly);
        assert_eq!(key(&mut reader), key(&mut first));
        assert!(reader.set_admin_password_hash("$argon2id$x").is_err());
    });
}

#[test]
fn concurrent_first_secrets_converge_on_postgres() {
    let Some(db) = scratch_db() else { return };
    drop(open_postgres(&db, Mode::ReadWrite));
    let secrets: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| open_postgres(&db, Mode::ReadWrite).secret().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(secrets.iter().all(|s| *s == secrets[0]), "{secrets:?}");
}

#[test]
fn what_postgres_lacks_yet_is_an_error_not_an_empty_answer() {
    let Some(db) = scratch_db() else { return };
    let mut store = open_postgres(&db, Mode::ReadWrite);
    let err = store.count(Status::Pending).unwrap_err().to_string();
    assert!(err.contains("not on PostgreSQL yet"), "{err}");
    assert!(store.by_status(Status::Approved).is_err());
    assert!(store.change_seq().is_err());
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

mod mail;
