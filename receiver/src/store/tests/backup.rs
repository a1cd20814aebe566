//! `kiln backup` and `kiln restore` at the store (`store/backup.rs`): a
//! backup taken while another connection keeps writing is one consistent
//! state of the database, it restores into either backend with the same
//! rows and the same export, and the refusals hold (an existing file, a
//! target holding a site, a backup from a newer kiln). A backup from an
//! older kiln is migrated on the way in, never in place.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::*;
use crate::store::backup::{self, Exists, Newer};
use crate::store::copy::{self, NotEmpty, Tally};
use crate::store::sqlite::backup::SCHEMA_VERSION;
use crate::store::sqlite::SqliteStore;

fn tally_of(store: &mut dyn Store) -> Tally {
    copy::tally(store).unwrap()
}

/// Stores an approved comment numbered `n` on one of three threads; its id.
fn approved(store: &mut dyn Store, n: usize) -> i64 {
    let thread = format!("/t{}/", n % 3);
    store
        .insert(
            &by(&thread, "Writer", &format!("comment {n}, *whole*")),
            Status::Approved,
            1_000 + n as i64,
        )
        .unwrap()
        .unwrap()
        .id
}

/// Every comment's id, thread, status, text and HTML, by id.
fn comments(db: &TestDb) -> Vec<Vec<crate::store::testing::Value>> {
    db.rows(
        "SELECT id, thread_id, status, text, html FROM comments ORDER BY id",
        &[],
    )
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_backup_taken_while_comments_arrive_is_one_state_of_the_database() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_admin_password_hash("$argon2id$backup").unwrap();
        let before: Vec<i64> = (0..30).map(|n| approved(store.as_mut(), n)).collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiln.backup");
        let stop = AtomicBool::new(false);
        let (started, writing) = mpsc::channel();
        let (made, written) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let mut store = db.open(Mode::ReadWrite);
                let mut ids = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    ids.push(approved(store.as_mut(), 1_000 + ids.len()));
                    if ids.len() == 1 {
                        started.send(()).unwrap();
                    }
                }
                ids
            });
            writing.recv().unwrap();
            // One page a step on SQLite, so the writer lands between steps.
            let made = backup::backup_in_steps(db.location(), &file, false, 1).unwrap();
            stop.store(true, Ordering::Relaxed);
            (made, writer.join().unwrap())
        });
        println!("{made:?}");
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600, "the backup holds secrets");
        assert_eq!(made.bytes, std::fs::metadata(&file).unwrap().len());
        assert_eq!(made.schema_version, SCHEMA_VERSION);
        assert!(made.checked_against_source);
        if db.kind() == "sqlite" {
            let steps = made.steps.unwrap();
            assert!(steps > 1, "{steps} step(s): the copy went in steps");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing but the backup is left beside it"
        );

        let copy = TestDb::sqlite(&file);
        let held = comments(&copy);
        let ids: Vec<i64> = held.iter().map(|row| row[0].int()).collect();
        // Every comment stored before the backup began is in it; of those
        // stored while it ran, a first part in the order they committed.
        let k = ids.len() - before.len();
        assert!(k <= written.len());
        let expected: Vec<i64> = before.iter().chain(&written[..k]).copied().collect();
        assert_eq!(ids, expected, "the backup holds a prefix of the writes");
        assert!(k < written.len(), "the writer went on after the backup");
        // Each comment is whole: the same as the database holds.
        let source: Vec<_> = comments(db)
            .into_iter()
            .filter(|row| ids.contains(&row[0].int()))
            .collect();
        assert_eq!(held, source);
        // Each thread's count is that of its own comments.
        let threads = copy.rows(
            "SELECT key, published_count,
                    (SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'approved')
             FROM threads t ORDER BY key",
            &[],
        );
        assert_eq!(threads.len(), 3);
        for row in &threads {
            assert_eq!(row[1], row[2], "thread {:?}", row[0]);
        }
        // The file reads back through the store, with the rows it counted.
        let mut opened = SqliteStore::open_read_only(&file).unwrap();
        assert_eq!(Some(tally_of(&mut opened)), made.tally);
        assert_eq!(
            made.tally.as_ref().unwrap().rows(copy::Table::Comments),
            ids.len() as u64
        );
    });
}

#[test]
fn a_backup_restores_into_either_backend_with_the_same_rows_and_export() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let first = approved(store.as_mut(), 1);
        let reply = store
            .insert(&new("/t1/", Some(first), "a reply"), Status::Pending, 2_000)
            .unwrap()
            .unwrap()
            .id;
        store.approve(&[reply], 2_001).unwrap().unwrap();
        add(store.as_mut(), "/t2/", "Waiting", "still pending", 2_002);
        store.set_admin_password_hash("$argon2id$restore").unwrap();
        store
            .create_admin_session("s", "t", None, 100, i64::MAX)
            .unwrap();
        let secret = store.secret().unwrap();
        let source = tally_of(store.as_mut());
        let published = export(store.as_mut());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiln.backup");
        let made = backup::backup(db.location(), &file, false).unwrap();
        assert_eq!(made.tally.as_ref(), Some(&source));

        let mut targets = vec![TestDb::sqlite(dir.path().join("restored.sqlite3"))];
        targets.extend(TestDb::postgres());
        for target in targets {
            println!("restoring into {}", target.kind());
            let from = backup::open_backup(&file).unwrap();
            assert_eq!(from.migrated_from, None);
            let mut backup_store = open_at(from.location(), Mode::ReadOnly).unwrap();
            let mut to = target.open(Mode::ReadWrite);
            let restored = copy::copy(backup_store.as_mut(), to.as_mut(), false).unwrap();
            assert_eq!(restored, source);
            assert_eq!(export(to.as_mut()), published);
            assert_eq!(
                to.secret().unwrap(),
                secret,
                "links in mail sent keep working"
            );
            assert_eq!(
                to.admin_password_hash().unwrap().as_deref(),
                Some("$argon2id$restore")
            );

            // Again: the target holds a site now.
            let again = copy::copy(backup_store.as_mut(), to.as_mut(), false).unwrap_err();
            assert!(again.is::<NotEmpty>(), "{again:#}");
            // Replacing puts back what the backup holds, and only that.
            add(to.as_mut(), "/t9/", "Later", "after the backup", 3_000);
            let replaced = copy::copy(backup_store.as_mut(), to.as_mut(), true).unwrap();
            assert_eq!(replaced, source);
            assert_eq!(
                target.query_i64("SELECT count(*) FROM comments WHERE author = 'Later'", &[]),
                0
            );
        }
    });
}

#[test]
fn an_existing_file_is_replaced_only_with_force_and_only_by_a_whole_backup() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        approved(store.as_mut(), 1);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiln.backup");
        std::fs::write(&file, "an earlier backup").unwrap();
        let refused = backup::backup(db.location(), &file, false).unwrap_err();
        assert!(refused.is::<Exists>(), "{refused:#}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "an earlier backup");

        let made = backup::backup(db.location(), &file, true).unwrap();
        assert_eq!(made.tally.unwrap().rows(copy::Table::Comments), 1);
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    });
    // A database that is not there: no file, and no partial one.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sqlite3");
    let file = dir.path().join("kiln.backup");
    let err = backup::backup(Location::Sqlite(&missing), &file, false).unwrap_err();
    assert!(
        format!("{err:#}").contains("there is no database at"),
        "{err:#}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The database itself is no place for its backup.
    let db = dir.path().join("kiln.sqlite3");
    drop(SqliteStore::open(&db).unwrap());
    let err = backup::backup(Location::Sqlite(&db), &db, true).unwrap_err();
    assert!(
        format!("{err:#}").contains("is the database itself"),
        "{err:#}"
    );
}

#[test]
fn backups_from_a_newer_kiln_are_refused_and_from_an_older_one_migrated() {
    let dir = tempfile::tempdir().unwrap();
    // A backup as kiln's first schema left it: a thread and a comment.
    let old = dir.path().join("old.backup");
    drop(SqliteStore::open_at_version(&old, 1).unwrap());
    let peek = TestDb::sqlite(&old);
    peek.execute(
        "INSERT INTO threads (id, key, url, created_at, changed_seq, published_count)
         VALUES (1, '/old/', 'https://example.org/old/', 10, 1, 1)",
        &[],
    );
    peek.execute(
        "INSERT INTO comments (id, thread_id, status, author, text, page_url, created_at, approved_at)
         VALUES (1, 1, 'approved', 'Old', 'From long ago', 'https://example.org/old/', 10, 11)",
        &[],
    );
    let bytes = std::fs::read(&old).unwrap();
    let from = backup::open_backup(&old).unwrap();
    assert_eq!(from.migrated_from, Some(1));
    let target = TestDb::sqlite(dir.path().join("restored.sqlite3"));
    {
        let mut source = open_at(from.location(), Mode::ReadOnly).unwrap();
        let mut to = target.open(Mode::ReadWrite);
        copy::copy(source.as_mut(), to.as_mut(), false).unwrap();
    }
    assert_eq!(
        target.query_text("SELECT text FROM comments WHERE id = 1", &[]),
        "From long ago"
    );
    drop(from);
    assert_eq!(
        std::fs::read(&old).unwrap(),
        bytes,
        "the backup is not written"
    );

    // A newer kiln's backup: this kiln cannot know what its tables mean.
    let newer = dir.path().join("newer.backup");
    drop(SqliteStore::open(&newer).unwrap());
    TestDb::sqlite(&newer).execute(
        &format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1),
        &[],
    );
    let refused = backup::open_backup(&newer).err().expect("refused");
    let newer_err = refused.downcast_ref::<Newer>().expect("a Newer refusal");
    assert_eq!(newer_err.found, SCHEMA_VERSION + 1);
    assert!(
        refused.to_string().contains("newer than this kiln"),
        "{refused:#}"
    );

    // Anything else is not a backup.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database").unwrap();
    let refused = backup::open_backup(&text).err().expect("refused");
    assert!(
        format!("{refused:#}").contains("is not a kiln backup"),
        "{refused:#}"
    );
    let foreign = dir.path().join("other.sqlite3");
    TestDb::sqlite(&foreign).execute("CREATE TABLE notes (body TEXT)", &[]);
    let refused = backup::open_backup(&foreign).err().expect("refused");
    assert!(
        format!("{refused:#}").contains("is not a kiln backup"),
        "{refused:#}"
    );
}

#[test]
fn kiln_sessions_on_a_postgres_database_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("kiln.sqlite3");
    assert_eq!(
        backup::other_sessions(Location::Sqlite(&sqlite)).unwrap(),
        None
    );
    let Some(db) = TestDb::postgres() else { return };
    let open = db.open(Mode::ReadWrite);
    // At least the one just opened (a session closed before may linger a
    // moment on the server, so not exactly one).
    let others = backup::other_sessions(db.location()).unwrap().unwrap();
    assert!(others >= 1, "{others} other kiln session(s)");
    drop(open);
}
