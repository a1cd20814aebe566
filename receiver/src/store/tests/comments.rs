//! Comments and the invariants every caller relies on, on each backend:
//! whole-or-nothing writes, parent rules, change stamps, deletion markers,
//! stored HTML, avatars, import, and bake's read-only source.

use std::collections::HashMap;

use kiln_bake::export::{CommentStatus, Thread};

use super::{by, export, new, on_each_backend};
use crate::store::{open_source, Mode, NewComment, Refusal, Status, Store, StoredComment};

/// Stores a comment the store must accept.
fn stored(store: &mut dyn Store, c: &NewComment, status: Status, at: i64) -> StoredComment {
    store
        .insert(c, status, at)
        .unwrap()
        .unwrap_or_else(|refusal| panic!("refused: {refusal:?}"))
}

#[test]
fn first_comment_creates_the_thread_and_waits_for_approval() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let c = stored(store.as_mut(), &new("/a/", None, "hi"), Status::Pending, 10);
        assert_eq!(c.status, Status::Pending);
        assert_eq!(store.by_status(Status::Pending).unwrap(), vec![c.clone()]);
        assert_eq!(store.get(c.id).unwrap(), Some(c.clone()));
        assert_eq!(store.get(c.id + 1).unwrap(), None);
        assert!(
            export(store.as_mut()).threads.is_empty(),
            "pending is not exported"
        );
        store.approve(&[c.id], 20).unwrap().unwrap();
        let export = export(store.as_mut());
        assert_eq!(export.threads.len(), 1);
        assert_eq!(export.threads[0].comments[0].text, "hi");
    });
}

#[test]
fn replies_need_a_published_parent_in_the_same_thread() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let parent = stored(store.as_mut(), &new("/a/", None, "p"), Status::Pending, 1);
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
            .thread_stamps("default")
            .unwrap()
            .iter()
            .all(|(k, _, _)| k != "/b/"));
        assert_eq!(
            db.query_i64(
                "SELECT count(*) FROM threads WHERE key = $1",
                &["/b/".into()]
            ),
            0,
            "nothing half-stored"
        );
        assert!(store
            .insert(&new("/a/", Some(parent.id), "r"), Status::Pending, 5)
            .unwrap()
            .is_ok());
        // A deleted marker shows, but cannot be answered.
        let reply = stored(
            store.as_mut(),
            &new("/a/", Some(parent.id), "r2"),
            Status::Approved,
            6,
        );
        store.delete(&[parent.id]).unwrap().unwrap();
        assert_eq!(
            store
                .insert(&new("/a/", Some(parent.id), "r3"), Status::Pending, 7)
                .unwrap(),
            Err(Refusal::ParentNotPublished(parent.id))
        );
        assert!(store
            .insert(&new("/a/", Some(reply.id), "r4"), Status::Pending, 8)
            .unwrap()
            .is_ok());
    });
}

#[test]
fn moderation_batches_are_all_or_nothing() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = stored(store.as_mut(), &new("/a/", None, "a"), Status::Pending, 1);
        let b = stored(store.as_mut(), &new("/b/", None, "b"), Status::Pending, 1);
        assert_eq!(
            store.approve(&[a.id, 42], 2).unwrap(),
            Err(Refusal::Unknown(42))
        );
        assert_eq!(
            store.count(Status::Pending).unwrap(),
            2,
            "the batch rolled back"
        );
        let seq = store.change_seq().unwrap();
        // The first refusal in the order given is the one reported, and the
        // change before it is undone, stamps and all.
        store.approve(&[a.id], 2).unwrap().unwrap();
        assert_eq!(
            store.reject(&[b.id, a.id]).unwrap(),
            Err(Refusal::NotPending(a.id, "approved"))
        );
        assert_eq!(store.get(b.id).unwrap().unwrap().status, Status::Pending);
        assert_eq!(
            store.approve(&[b.id, a.id], 3).unwrap(),
            Err(Refusal::NotPending(a.id, "approved"))
        );
        assert_eq!(store.get(b.id).unwrap().unwrap().status, Status::Pending);
        assert_eq!(super::stamp(store.as_mut(), "/b/"), None);
        assert!(store.change_seq().unwrap() > seq);
        // The same id twice: the second sees what the first did.
        assert_eq!(
            store.approve(&[b.id, b.id], 3).unwrap(),
            Err(Refusal::NotPending(b.id, "approved"))
        );
        store.reject(&[b.id]).unwrap().unwrap();
        assert_eq!(store.get(b.id).unwrap(), None);
        assert_eq!(store.delete(&[b.id]).unwrap(), Err(Refusal::Unknown(b.id)));
    });
}

#[test]
fn stamps_move_only_for_changed_threads() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        assert_eq!(store.change_seq().unwrap(), 0);
        let a = stored(store.as_mut(), &new("/a/", None, "a"), Status::Pending, 1);
        let b = stored(store.as_mut(), &new("/b/", None, "b"), Status::Pending, 1);
        assert_eq!(store.change_seq().unwrap(), 0, "nothing shows yet");
        store.approve(&[a.id, b.id], 2).unwrap().unwrap();
        let stamps = |store: &mut dyn crate::store::Store| -> HashMap<_, _> {
            store
                .thread_stamps("default")
                .unwrap()
                .into_iter()
                .map(|(k, v, c)| (k, (v, c)))
                .collect()
        };
        let before = stamps(store.as_mut());
        let seq = store.change_seq().unwrap();
        assert!(before.values().all(|(v, _)| *v <= seq && *v > 0));
        let a2 = stored(
            store.as_mut(),
            &new("/a/", Some(a.id), "a2"),
            Status::Pending,
            3,
        );
        assert_eq!(
            stamps(store.as_mut()),
            before,
            "a pending reply shows nothing"
        );
        store.approve(&[a2.id], 4).unwrap().unwrap();
        let after = stamps(store.as_mut());
        assert_eq!(before["/b/"], after["/b/"]);
        assert_ne!(before["/a/"].0, after["/a/"].0);
        assert_eq!(after["/a/"].1, 2);
        assert!(store.change_seq().unwrap() > seq);
        assert_eq!(after["/a/"].0, store.change_seq().unwrap());
    });
}

#[test]
fn deleting_a_comment_with_replies_keeps_a_marker() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = stored(
            store.as_mut(),
            &new("/a/", None, "secret"),
            Status::Approved,
            1,
        );
        let r = stored(
            store.as_mut(),
            &new("/a/", Some(a.id), "reply"),
            Status::Approved,
            2,
        );
        store.delete(&[a.id]).unwrap().unwrap();
        let thread = &export(store.as_mut()).threads[0];
        assert_eq!(thread.comments.len(), 2);
        assert_eq!(thread.comments[0].status, CommentStatus::Deleted);
        assert_eq!(thread.comments[0].text, "", "the text is gone");
        let marker = store.get(a.id).unwrap().unwrap();
        assert_eq!(
            (
                marker.status,
                marker.author.as_str(),
                marker.email,
                marker.remote_addr
            ),
            (Status::Deleted, "", None, None)
        );
        assert_eq!(store.count(Status::Deleted).unwrap(), 1);
        assert_eq!(super::stamp(store.as_mut(), "/a/").unwrap().1, 2);
        store.delete(&[r.id]).unwrap().unwrap();
        assert_eq!(export(store.as_mut()).threads[0].comments.len(), 1);
        assert_eq!(super::stamp(store.as_mut(), "/a/").unwrap().1, 1);
        // A pending comment with no replies goes entirely.
        let p = stored(
            store.as_mut(),
            &new("/a/", None, "pending"),
            Status::Pending,
            3,
        );
        store.delete(&[p.id]).unwrap().unwrap();
        assert_eq!(store.get(p.id).unwrap(), None);
    });
}

#[test]
fn read_only_source_sees_committed_comments() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = stored(store.as_mut(), &new("/a/", None, "a"), Status::Approved, 1);
        let mut source = open_source(db.location(), false, "default").unwrap();
        assert_eq!(source.stamps().unwrap()["/a/"].count, 1);
        let threads = source
            .threads(Some(&["/a/".to_owned(), "/none/".to_owned()]))
            .unwrap();
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].comments[0].id, a.id);
        let identity = source.identity().unwrap();
        assert!(
            identity.starts_with(&format!("{}:", db.kind())) && identity.len() > 10,
            "{identity}"
        );
        assert_eq!(source.identity().unwrap(), identity, "stable");
        let other = db.another();
        drop(other.open(Mode::ReadWrite));
        assert_ne!(
            open_source(other.location(), false, "default")
                .unwrap()
                .identity()
                .unwrap(),
            identity,
            "another database is another data set"
        );
        // A comment approved after the source opened is seen at the next read.
        let b = stored(store.as_mut(), &new("/b/", None, "b"), Status::Approved, 2);
        assert_eq!(source.threads(None).unwrap()[1].comments[0].id, b.id);
    });
}

#[test]
fn import_round_trips_an_export() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = stored(store.as_mut(), &new("/a/", None, "a"), Status::Approved, 1);
        stored(
            store.as_mut(),
            &new("/a/", Some(a.id), "r"),
            Status::Approved,
            2,
        );
        stored(store.as_mut(), &new("/b/", None, "b"), Status::Approved, 3);
        let original = export(store.as_mut());
        let target = db.another();
        let mut copy = target.open(Mode::ReadWrite);
        copy.import(&original).unwrap();
        // The copy has its own salt and no addresses, but keeps the avatar
        // keys the export carried: a restore shows the same identicons.
        assert_eq!(export(copy.as_mut()).threads, original.threads);
        assert_eq!(copy.thread_stamps("default").unwrap().len(), 2);
        copy.import(&original).unwrap();
        assert_eq!(
            export(copy.as_mut()).threads,
            original.threads,
            "the same export again adds nothing"
        );
        // An id that another comment holds fails the whole load.
        let third = db.another();
        let mut other = third.open(Mode::ReadWrite);
        stored(other.as_mut(), &new("/z/", None, "z"), Status::Approved, 9);
        let before = export(other.as_mut()).threads;
        let err = other.import(&original).unwrap_err();
        assert!(err.to_string().contains("already taken"), "{err}");
        assert_eq!(
            export(other.as_mut()).threads,
            before,
            "a failed import changes nothing"
        );
        // New comments get ids after the imported ones.
        let next = stored(
            copy.as_mut(),
            &new("/c/", None, "after"),
            Status::Pending,
            4,
        );
        let highest = original
            .threads
            .iter()
            .flat_map(|t| &t.comments)
            .map(|c| c.id)
            .max()
            .unwrap();
        assert!(next.id > highest, "{} after {highest}", next.id);
    });
}

#[test]
fn avatars_are_keyed_by_address_under_this_databases_salt() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let by = |thread: &str, email: Option<&str>, author: &str| NewComment {
            email: email.map(str::to_owned),
            author: author.into(),
            ..new(thread, None, &format!("{author} on {thread}"))
        };
        let ids: Vec<i64> = [
            by("/a/", Some("ann@example.org"), "Ann"),
            by("/b/", Some(" ANN@Example.org"), "Ann again"),
            by("/a/", Some("bob@example.org"), "Ann"),
            by("/b/", None, "Cy"),
            by("/b/", None, ""),
        ]
        .iter()
        .map(|c| stored(store.as_mut(), c, Status::Approved, 1).id)
        .collect();
        let avatar = |threads: &[Thread], id: i64| {
            threads
                .iter()
                .flat_map(|t| &t.comments)
                .find(|c| c.id == id)
                .unwrap()
                .avatar
                .clone()
        };
        let threads = export(store.as_mut()).threads;
        assert!(avatar(&threads, ids[0]).is_some());
        assert_eq!(
            avatar(&threads, ids[0]),
            avatar(&threads, ids[1]),
            "one address, one avatar, any thread"
        );
        assert_ne!(
            avatar(&threads, ids[0]),
            avatar(&threads, ids[2]),
            "same name, another address"
        );
        assert!(
            avatar(&threads, ids[3]).is_some(),
            "keyed by name without an address"
        );
        assert_eq!(avatar(&threads, ids[4]), None, "neither address nor name");
        let json = serde_json::to_string(&export(store.as_mut())).unwrap();
        assert!(
            !json.contains('@') && !json.contains("gravatar"),
            "no address: {json}"
        );

        // Gravatar hashes only when asked for.
        let keys = store.avatar_keys(true).unwrap();
        let with = store.export("default", &keys).unwrap();
        let hashed = &with.threads[0].comments[0];
        assert_eq!(
            hashed.avatar,
            avatar(&threads, ids[0]),
            "the key does not change"
        );
        assert_eq!(hashed.gravatar.as_ref().map(String::len), Some(64));

        // A bake straight from the database sees the same keys.
        let mut source = open_source(db.location(), false, "default").unwrap();
        assert_eq!(source.threads(None).unwrap(), threads);

        // Deleted markers keep no avatar; another database keys differently.
        let dee = NewComment {
            parent: Some(ids[0]),
            ..by("/a/", None, "Dee")
        };
        stored(store.as_mut(), &dee, Status::Approved, 2);
        store.delete(&[ids[0]]).unwrap().unwrap();
        assert_eq!(avatar(&export(store.as_mut()).threads, ids[0]), None);
        // Kept until the end: a PostgreSQL test database goes with it.
        let another = db.another();
        let mut other = another.open(Mode::ReadWrite);
        let ann = by("/a/", Some("ann@example.org"), "Ann");
        let theirs = stored(other.as_mut(), &ann, Status::Approved, 1);
        assert_ne!(
            avatar(&export(other.as_mut()).threads, theirs.id),
            avatar(&threads, ids[1])
        );
    });
}

#[test]
fn rendered_html_is_stored_but_never_exported_and_only_trusted_from_this_version() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let c = stored(
            store.as_mut(),
            &new("/a/", None, "*hi* <b>"),
            Status::Approved,
            1,
        );
        let keys = store.avatar_keys(false).unwrap();
        let thread = &store.published_threads("default", None, &keys).unwrap()[0];
        assert_eq!(
            thread.comments[0].html.as_deref(),
            Some(kiln_bake::markdown::to_html("*hi* <b>").as_str())
        );
        let json = serde_json::to_string(&export(store.as_mut())).unwrap();
        assert!(!json.contains("\"html\""), "{json}");
        db.execute(
            "UPDATE comments SET html = '<script>x</script>', html_version = 'old' WHERE id = $1",
            &[c.id.into()],
        );
        assert_eq!(
            store.published_threads("default", None, &keys).unwrap()[0].comments[0].html,
            None,
            "other versions are rendered again"
        );
    });
}

#[test]
fn published_threads_by_key_and_approved_counts_count_what_a_reader_sees() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let mut insert = |thread: &str, parent: Option<i64>, status| {
            let new = NewComment {
                parent,
                ..by(thread, "Ann", "hi")
            };
            stored(store.as_mut(), &new, status, 10).id
        };
        let first = insert("/a/", None, Status::Approved);
        insert("/a/", Some(first), Status::Approved);
        insert("/a/", None, Status::Pending);
        insert("/b/", None, Status::Approved);
        insert("/c/", None, Status::Approved);
        store.delete(&[first]).unwrap().unwrap();
        let keys = ["/a/", "/b/", "/none/"].map(String::from);
        assert_eq!(
            store.approved_counts("default", &keys).unwrap(),
            vec![1, 1, 0]
        );
        assert_eq!(
            store.approved_counts("default", &[]).unwrap(),
            Vec::<u64>::new()
        );
        // In the order asked for, repeats included.
        let keys = ["/none/", "/a/", "/b/", "/a/"].map(String::from);
        assert_eq!(
            store.approved_counts("default", &keys).unwrap(),
            vec![0, 1, 1, 1]
        );

        let avatars = store.avatar_keys(false).unwrap();
        let some = store
            .published_threads(
                "default",
                Some(&["/c/".into(), "/a/".into(), "/none/".into()]),
                &avatars,
            )
            .unwrap();
        let ids: Vec<&str> = some.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["/a/", "/c/"], "by key, unknown keys absent");
        assert_eq!(some[0].comments.len(), 2, "the marker and its reply");
        assert_eq!(some[0].url, "https://example.org/a/");
        let all = store.published_threads("default", None, &avatars).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], some[0]);
    });
}
