//! Moderation beyond approve/reject/delete, on each backend: spam, not spam,
//! unpublish, edits (held or not), the admin page's search and counts.

use super::{add, by, export, on_each_backend, stamp};
use crate::store::{CommentEdit, Mode, NewComment, Refusal, Search, Status};

#[test]
fn spam_is_all_or_nothing_and_only_for_pending() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "buy now", 1);
        let b = add(store.as_mut(), "/a/", "Bob", "hello", 2);
        store.approve(&[b], 3).unwrap().unwrap();
        assert_eq!(
            store.spam(&[a, b]).unwrap(),
            Err(Refusal::NotPending(b, "approved"))
        );
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
        store.spam(&[a]).unwrap().unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Spam);
        assert_eq!(
            store.counts().unwrap(),
            vec![
                (Status::Pending, 0),
                (Status::Approved, 1),
                (Status::Spam, 1),
                (Status::Deleted, 0)
            ]
        );
        assert_eq!(store.spam(&[77]).unwrap(), Err(Refusal::Unknown(77)));
    });
}

#[test]
fn not_spam_returns_only_spam_to_the_queue() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "looked like spam", 1);
        let b = add(store.as_mut(), "/a/", "Bob", "pending", 2);
        store.spam(&[a]).unwrap().unwrap();
        assert_eq!(
            store.not_spam(&[a, b]).unwrap(),
            Err(Refusal::NotSpam(b, "pending"))
        );
        assert_eq!(
            store.get(a).unwrap().unwrap().status,
            Status::Spam,
            "all or nothing"
        );
        store.not_spam(&[a]).unwrap().unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
    });
}

#[test]
fn unpublish_returns_to_the_queue_unless_replies_are_published() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "parent", 1);
        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(store.as_mut(), "/a/").unwrap();
        store.unpublish(&[a]).unwrap().unwrap();
        let after = stamp(store.as_mut(), "/a/").unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
        assert!(after.0 > before.0, "thread marked changed");
        assert_eq!(after.1, 0, "no longer counted");
        assert_eq!(
            store.unpublish(&[a]).unwrap(),
            Err(Refusal::NotPublished(a, "pending"))
        );

        store.approve(&[a], 3).unwrap().unwrap();
        let reply = NewComment {
            parent: Some(a),
            ..by("/a/", "Bob", "reply")
        };
        let r = store.insert(&reply, Status::Approved, 4).unwrap().unwrap();
        assert_eq!(
            store.unpublish(&[a]).unwrap(),
            Err(Refusal::HasPublishedReplies(a))
        );
        store.unpublish(&[r.id]).unwrap().unwrap();
        // A pending reply does not hold its parent on the page.
        store.unpublish(&[a]).unwrap().unwrap();
        assert_eq!(stamp(store.as_mut(), "/a/").unwrap().1, 0);
    });
}

#[test]
fn edit_replaces_fields_and_html_and_marks_published_threads() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "*old*", 1);
        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(store.as_mut(), "/a/").unwrap();
        let edit = CommentEdit {
            author: "Ann B.".into(),
            email: None,
            website: Some("https://ann.example".into()),
            text: "**new**".into(),
        };
        let edited = store.edit(a, &edit, false).unwrap().unwrap();
        assert_eq!(
            (edited.author.as_str(), edited.email, edited.text.as_str()),
            ("Ann B.", None, "**new**")
        );
        assert_eq!(edited.website.as_deref(), Some("https://ann.example"));
        let after = stamp(store.as_mut(), "/a/").unwrap();
        assert!(after.0 > before.0);
        assert_eq!(after.1, before.1, "still shown once");
        let html = export(store.as_mut()).threads[0].comments[0]
            .html
            .clone()
            .unwrap();
        assert!(html.contains("<strong>new</strong>"), "{html}");
        assert_eq!(
            store.edit(99, &edit, false).unwrap(),
            Err(Refusal::Unknown(99))
        );
        // A pending comment's edit changes no page.
        let p = add(store.as_mut(), "/p/", "Pat", "pending", 3);
        store.edit(p, &edit, false).unwrap().unwrap();
        assert_eq!(stamp(store.as_mut(), "/p/"), None);
        // Deleted markers cannot be edited.
        let reply = NewComment {
            parent: Some(a),
            ..by("/a/", "Bob", "reply")
        };
        store.insert(&reply, Status::Approved, 4).unwrap().unwrap();
        store.delete(&[a]).unwrap().unwrap();
        assert_eq!(
            store.edit(a, &edit, false).unwrap(),
            Err(Refusal::DeletedMarker(a))
        );
    });
}

#[test]
fn a_held_edit_takes_a_published_comment_back_to_the_queue_at_once() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "first", 1);
        let edit = |text: &str| CommentEdit {
            author: "Ann".into(),
            email: None,
            website: None,
            text: text.into(),
        };
        // A pending comment stays pending.
        let edited = store.edit(a, &edit("second"), true).unwrap().unwrap();
        assert_eq!(edited.status, Status::Pending);

        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(store.as_mut(), "/a/").unwrap();
        let edited = store.edit(a, &edit("third"), true).unwrap().unwrap();
        assert_eq!(
            (edited.status, edited.text.as_str()),
            (Status::Pending, "third")
        );
        let after = stamp(store.as_mut(), "/a/").unwrap();
        assert!(after.0 > before.0, "thread marked changed");
        assert_eq!((before.1, after.1), (1, 0), "no longer counted");
        assert!(export(store.as_mut())
            .threads
            .iter()
            .all(|t| t.comments.is_empty()));

        // With a published reply, nothing changes: neither text nor state.
        store.approve(&[a], 3).unwrap().unwrap();
        let reply = NewComment {
            parent: Some(a),
            ..by("/a/", "Bob", "reply")
        };
        store.insert(&reply, Status::Approved, 4).unwrap().unwrap();
        assert_eq!(
            store.edit(a, &edit("fourth"), true).unwrap(),
            Err(Refusal::HasPublishedReplies(a))
        );
        let kept = store.get(a).unwrap().unwrap();
        assert_eq!(
            (kept.status, kept.text.as_str()),
            (Status::Approved, "third")
        );
    });
}

#[test]
fn search_finds_text_author_email_and_thread_newest_first() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = add(store.as_mut(), "/a/", "Ann", "about 100% cotton", 1);
        let b = add(store.as_mut(), "/b/", "Bob", "about wool", 2);
        let c = add(store.as_mut(), "/b/", "Cy", "something else", 3);
        let d = add(store.as_mut(), "/d/", "Dé", "ÄRGER über a\\b", 3);
        store.approve(&[c], 4).unwrap().unwrap();
        let mut ids = |s: Search| -> Vec<i64> {
            store
                .search(&Search { limit: 100, ..s })
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect()
        };
        let words = |w: &str| Search {
            words: Some(w.into()),
            ..Search::default()
        };
        assert_eq!(ids(words("ABOUT")), vec![b, a], "newest first, any case");
        assert_eq!(ids(words("100%")), vec![a]);
        assert_eq!(ids(words("%")), vec![a], "% matches itself");
        assert_eq!(ids(words("_")), Vec::<i64>::new(), "_ matches itself");
        assert_eq!(ids(words("a\\b")), vec![d], "\\ matches itself");
        assert_eq!(ids(words("bob@")), vec![b], "by e-mail");
        assert_eq!(ids(words("Cy")), vec![c], "by author");
        assert_eq!(ids(words("/b/")), vec![c, b], "by thread");
        // Case is ignored for ASCII letters only, on both backends.
        assert_eq!(ids(words("ärger")), Vec::<i64>::new());
        assert_eq!(ids(words("ÄRGER Ü")), Vec::<i64>::new());
        assert_eq!(ids(words("Ärger über")), vec![d]);
        let pending_b = Search {
            status: Some(Status::Pending),
            thread: Some("/b/".into()),
            ..Search::default()
        };
        assert_eq!(ids(pending_b), vec![b]);
        assert_eq!(ids(Search::default()), vec![d, c, b, a]);
        assert_eq!(
            store
                .search(&Search {
                    limit: 2,
                    ..Search::default()
                })
                .unwrap()
                .len(),
            2
        );
    });
}
