//! SqliteStore tests against real SQLite files in temp directories: the
//! invariants every caller relies on (whole-or-nothing writes, parent rules,
//! change stamps, deletion markers, stored HTML).

use super::*;
// Provided methods (`insert`, `export`, `counts`) live on the trait.
use crate::store::Store as _;
use std::collections::HashMap;

fn new(thread: &str, parent: Option<i64>, text: &str) -> NewComment {
    NewComment {
        thread: thread.into(),
        page_url: format!("https://example.org{thread}"),
        page_title: String::new(),
        parent,
        author: "Ann".into(),
        email: Some("ann@example.org".into()),
        website: None,
        text: text.into(),
        remote_addr: Some("192.0.2.0".into()),
    }
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
    (dir, store)
}

fn keys(store: &SqliteStore) -> AvatarKeys {
    store.avatar_keys(false).unwrap()
}

fn export(store: &SqliteStore) -> kiln_bake::export::Export {
    kiln_bake::export::Export::new(store.published_threads(None, &keys(store)).unwrap())
}

#[test]
fn first_comment_creates_the_thread_and_waits_for_approval() {
    let (_dir, mut store) = store();
    let c = store
        .insert(&new("/a/", None, "hi"), Status::Pending, 10)
        .unwrap()
        .unwrap();
    assert_eq!(c.status, Status::Pending);
    assert_eq!(store.by_status(Status::Pending).unwrap(), vec![c.clone()]);
    assert!(export(&store).threads.is_empty(), "pending is not exported");
    store.approve(&[c.id], 20).unwrap().unwrap();
    let export = export(&store);
    assert_eq!(export.threads.len(), 1);
    assert_eq!(export.threads[0].comments[0].text, "hi");
}

#[test]
fn replies_need_a_published_parent_in_the_same_thread() {
    let (_dir, mut store) = store();
    let parent = store
        .insert(&new("/a/", None, "p"), Status::Pending, 1)
        .unwrap()
        .unwrap();
    let refused = store
        .insert(&new("/a/", Some(parent.id), "r"), Status::Pending, 2)
        .unwrap();
    assert_eq!(refused, Err(Refusal::ParentNotPublished(parent.id)));
    store.approve(&[parent.id], 3).unwrap().unwrap();
    let refused = store
        .insert(&new("/b/", Some(parent.id), "r"), Status::Pending, 4)
        .unwrap();
    assert_eq!(refused, Err(Refusal::ParentInOtherThread(parent.id)));
    let refused = store
        .insert(&new("/a/", Some(999), "r"), Status::Pending, 4)
        .unwrap();
    assert_eq!(refused, Err(Refusal::ParentMissing(999)));
    // The refused reply to thread /b/ must not have left the thread behind.
    assert!(store
        .thread_stamps()
        .unwrap()
        .iter()
        .all(|(k, _, _)| k != "/b/"));
    let count: i64 = store
        .conn
        .query_row("SELECT count(*) FROM threads WHERE key = '/b/'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(count, 0, "nothing half-stored");
    assert!(store
        .insert(&new("/a/", Some(parent.id), "r"), Status::Pending, 5)
        .unwrap()
        .is_ok());
}

#[test]
fn moderation_batches_are_all_or_nothing() {
    let (_dir, mut store) = store();
    let a = store
        .insert(&new("/a/", None, "a"), Status::Pending, 1)
        .unwrap()
        .unwrap();
    assert_eq!(
        store.approve(&[a.id, 42], 2).unwrap(),
        Err(Refusal::Unknown(42))
    );
    assert_eq!(
        store.count(Status::Pending).unwrap(),
        1,
        "the batch rolled back"
    );
    store.approve(&[a.id], 2).unwrap().unwrap();
    assert_eq!(
        store.approve(&[a.id], 3).unwrap(),
        Err(Refusal::NotPending(a.id, "approved"))
    );
    assert_eq!(
        store.reject(&[a.id]).unwrap(),
        Err(Refusal::NotPending(a.id, "approved"))
    );
}

#[test]
fn stamps_move_only_for_changed_threads() {
    let (_dir, mut store) = store();
    let a = store
        .insert(&new("/a/", None, "a"), Status::Pending, 1)
        .unwrap()
        .unwrap();
    let b = store
        .insert(&new("/b/", None, "b"), Status::Pending, 1)
        .unwrap()
        .unwrap();
    store.approve(&[a.id, b.id], 2).unwrap().unwrap();
    let before: HashMap<_, _> = store
        .thread_stamps()
        .unwrap()
        .into_iter()
        .map(|(k, v, c)| (k, (v, c)))
        .collect();
    let a2 = store
        .insert(&new("/a/", Some(a.id), "a2"), Status::Pending, 3)
        .unwrap()
        .unwrap();
    store.approve(&[a2.id], 4).unwrap().unwrap();
    let after: HashMap<_, _> = store
        .thread_stamps()
        .unwrap()
        .into_iter()
        .map(|(k, v, c)| (k, (v, c)))
        .collect();
    assert_eq!(before["/b/"], after["/b/"]);
    assert_ne!(before["/a/"].0, after["/a/"].0);
    assert_eq!(after["/a/"].1, 2);
}

#[test]
fn deleting_a_comment_with_replies_keeps_a_marker() {
    let (_dir, mut store) = store();
    let a = store
        .insert(&new("/a/", None, "secret"), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let r = store
        .insert(&new("/a/", Some(a.id), "reply"), Status::Approved, 2)
        .unwrap()
        .unwrap();
    store.delete(&[a.id]).unwrap().unwrap();
    let thread = &export(&store).threads[0];
    assert_eq!(thread.comments.len(), 2);
    assert_eq!(
        thread.comments[0].status,
        kiln_bake::export::CommentStatus::Deleted
    );
    assert_eq!(thread.comments[0].text, "", "the text is gone");
    store.delete(&[r.id]).unwrap().unwrap();
    assert_eq!(export(&store).threads[0].comments.len(), 1);
}

#[test]
fn read_only_source_sees_committed_comments() {
    let (dir, mut store) = store();
    let a = store
        .insert(&new("/a/", None, "a"), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let mut source = SqliteSource::open(&dir.path().join("kiln.sqlite3"), false).unwrap();
    use kiln_bake::source::Source;
    assert_eq!(source.stamps().unwrap()["/a/"].count, 1);
    let threads = source
        .threads(Some(&["/a/".to_owned(), "/none/".to_owned()]))
        .unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].comments[0].id, a.id);
    assert!(source.identity().unwrap().starts_with("sqlite:"));
}

#[test]
fn import_round_trips_an_export() {
    let (_dir, mut store) = store();
    let a = store
        .insert(&new("/a/", None, "a"), Status::Approved, 1)
        .unwrap()
        .unwrap();
    store
        .insert(&new("/a/", Some(a.id), "r"), Status::Approved, 2)
        .unwrap()
        .unwrap();
    store
        .insert(&new("/b/", None, "b"), Status::Approved, 3)
        .unwrap()
        .unwrap();
    let original = export(&store);
    let (_dir2, mut copy) = self::store();
    copy.import(&original).unwrap();
    // An export holds no addresses and the copy has its own salt: its
    // avatars are keyed by name, and differ. Everything else is the same.
    let without_avatars = |mut threads: Vec<kiln_bake::export::Thread>| {
        for c in threads.iter_mut().flat_map(|t| t.comments.iter_mut()) {
            assert!(c.avatar.is_some());
            c.avatar = None;
        }
        threads
    };
    let copied = export(&copy).threads;
    assert_ne!(
        copied[0].comments[0].avatar,
        original.threads[0].comments[0].avatar
    );
    assert_eq!(
        without_avatars(copied),
        without_avatars(original.threads.clone())
    );
    assert_eq!(copy.thread_stamps().unwrap().len(), 2);
    assert!(copy.import(&original).is_err(), "ids already taken");
    assert_eq!(
        without_avatars(export(&copy).threads),
        without_avatars(original.threads),
        "a failed import changes nothing"
    );
}

#[test]
fn avatars_are_keyed_by_address_under_this_databases_salt() {
    let (dir, mut store) = store();
    let by = |thread: &str, email: Option<&str>, author: &str| NewComment {
        email: email.map(str::to_owned),
        author: author.into(),
        ..new(thread, None, &format!("{author} on {thread}"))
    };
    for c in [
        by("/a/", Some("ann@example.org"), "Ann"),
        by("/b/", Some(" ANN@Example.org"), "Ann again"),
        by("/a/", Some("bob@example.org"), "Ann"),
        by("/b/", None, "Cy"),
        by("/b/", None, ""),
    ] {
        store.insert(&c, Status::Approved, 1).unwrap().unwrap();
    }
    let avatar = |threads: &[kiln_bake::export::Thread], id: i64| {
        threads
            .iter()
            .flat_map(|t| &t.comments)
            .find(|c| c.id == id)
            .unwrap()
            .avatar
            .clone()
    };
    let threads = export(&store).threads;
    assert!(avatar(&threads, 1).is_some());
    assert_eq!(
        avatar(&threads, 1),
        avatar(&threads, 2),
        "one address, one avatar, any thread"
    );
    assert_ne!(
        avatar(&threads, 1),
        avatar(&threads, 3),
        "same name, another address"
    );
    assert!(
        avatar(&threads, 4).is_some(),
        "keyed by name without an address"
    );
    assert_eq!(avatar(&threads, 5), None, "neither address nor name");
    let json = serde_json::to_string(&export(&store)).unwrap();
    assert!(
        !json.contains('@') && !json.contains("gravatar"),
        "no address: {json}"
    );

    // Gravatar hashes only when asked for.
    let with = store.export(&store.avatar_keys(true).unwrap()).unwrap();
    let hashed = &with.threads[0].comments[0];
    assert_eq!(
        hashed.avatar,
        avatar(&threads, 1),
        "the key does not change"
    );
    assert_eq!(hashed.gravatar.as_ref().map(String::len), Some(64));

    // A bake straight from the file sees the same keys.
    use kiln_bake::source::Source;
    let mut source = SqliteSource::open(&dir.path().join("kiln.sqlite3"), false).unwrap();
    assert_eq!(source.threads(None).unwrap(), threads);

    // Deleted markers keep no avatar; another database keys differently.
    store
        .insert(
            &NewComment {
                parent: Some(1),
                ..by("/a/", None, "Dee")
            },
            Status::Approved,
            2,
        )
        .unwrap()
        .unwrap();
    store.delete(&[1]).unwrap().unwrap();
    assert_eq!(avatar(&export(&store).threads, 1), None);
    let (_dir2, mut other) = self::store();
    other
        .insert(
            &by("/a/", Some("ann@example.org"), "Ann"),
            Status::Approved,
            1,
        )
        .unwrap()
        .unwrap();
    assert_ne!(avatar(&export(&other).threads, 1), avatar(&threads, 2));
}

#[test]
fn rendered_html_is_stored_but_never_exported_and_only_trusted_from_this_version() {
    let (_dir, mut store) = store();
    let c = store
        .insert(&new("/a/", None, "*hi* <b>"), Status::Approved, 1)
        .unwrap()
        .unwrap();
    let thread = &store.published_threads(None, &keys(&store)).unwrap()[0];
    assert_eq!(
        thread.comments[0].html.as_deref(),
        Some(kiln_bake::markdown::to_html("*hi* <b>").as_str())
    );
    let json = serde_json::to_string(&export(&store)).unwrap();
    assert!(!json.contains("\"html\""), "{json}");
    store
        .conn
        .execute(
            "UPDATE comments SET html = '<script>x</script>', html_version = 'old' WHERE id = ?1",
            [c.id],
        )
        .unwrap();
    assert_eq!(
        store.published_threads(None, &keys(&store)).unwrap()[0].comments[0].html,
        None,
        "other versions are rendered again"
    );
}

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
