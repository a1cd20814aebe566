//! One person's data, on each backend: everything kept about an address, and
//! forgetting it with the same "deleted" markers as any deletion. Addresses
//! match ignoring ASCII case only, as SQLite's NOCASE does.

use serde_json::json;

use super::{export, on_each_backend, stamp};
use crate::store::{Forgotten, Mode, NewComment, Status};

fn by(email: Option<&str>, parent: Option<i64>, text: &str) -> NewComment {
    NewComment {
        parent,
        email: email.map(str::to_owned),
        website: Some("https://example.org/me".into()),
        remote_addr: Some("192.0.2.0".into()),
        ..NewComment::sample(
            "/a/",
            email.map_or("Nobody", |e| e.split('@').next().unwrap()),
            text,
        )
    }
}

#[test]
fn personal_data_holds_every_comment_and_the_subscription_of_one_address() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_mail_events(true);
        let first = store
            .insert_opted(
                &by(Some("Ann@example.org"), None, "one"),
                true,
                Status::Pending,
                86_400,
            )
            .unwrap()
            .unwrap();
        store.approve(&[first.id], 86_401).unwrap().unwrap();
        let second = store
            .insert(
                &by(Some("ANN@EXAMPLE.ORG"), None, "two"),
                Status::Pending,
                86_402,
            )
            .unwrap()
            .unwrap();
        store.spam(&[second.id]).unwrap().unwrap();
        store
            .insert(
                &by(Some("bob@example.org"), None, "not hers"),
                Status::Approved,
                3,
            )
            .unwrap()
            .unwrap();
        store
            .insert(
                &by(Some("änn@example.org"), None, "not hers either"),
                Status::Approved,
                3,
            )
            .unwrap()
            .unwrap();

        let data = store.personal_data("ann@example.org").unwrap();
        assert_eq!(data["email"], "ann@example.org");
        assert_eq!(
            data["comments"],
            json!([
                {
                    "id": first.id, "thread": "/a/", "page_url": "https://example.org/a/",
                    "parent": null, "status": "approved", "name": "Ann",
                    "email": "Ann@example.org", "website": "https://example.org/me",
                    "text": "one", "client_address": "192.0.2.0",
                    "created_at": "1970-01-02T00:00:00Z", "approved_at": "1970-01-02T00:00:01Z",
                    "reply_notifications": true,
                },
                {
                    "id": second.id, "thread": "/a/", "page_url": "https://example.org/a/",
                    "parent": null, "status": "spam", "name": "ANN",
                    "email": "ANN@EXAMPLE.ORG", "website": "https://example.org/me",
                    "text": "two", "client_address": "192.0.2.0",
                    "created_at": "1970-01-02T00:00:02Z", "approved_at": null,
                    "reply_notifications": false,
                }
            ])
        );
        assert_eq!(
            data["subscription"],
            json!({ "created_at": "1970-01-02T00:00:00Z", "confirmed_at": null, "unsubscribed_at": null })
        );
        let nobody = store.personal_data("nobody@example.org").unwrap();
        assert_eq!(nobody["comments"], json!([]));
        assert_eq!(nobody["subscription"], json!(null));
    });
}

#[test]
fn forgetting_removes_comments_subscription_and_mail_but_keeps_markers_for_others() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_mail_events(true);
        let ann = Some("ann@example.org");
        // Answered by Bob: stays as a marker. Answered only by herself: goes.
        let answered = store
            .insert_opted(&by(ann, None, "answered"), true, Status::Approved, 1)
            .unwrap()
            .unwrap();
        let bobs = store
            .insert(
                &by(Some("bob@example.org"), Some(answered.id), "bob's reply"),
                Status::Approved,
                2,
            )
            .unwrap()
            .unwrap();
        let own = store
            .insert(&by(ann, None, "own thread"), Status::Approved, 3)
            .unwrap()
            .unwrap();
        store
            .insert(
                &by(Some("ANN@example.org"), Some(own.id), "to myself"),
                Status::Approved,
                4,
            )
            .unwrap()
            .unwrap();
        store
            .insert(&by(ann, None, "pending"), Status::Pending, 5)
            .unwrap()
            .unwrap();
        let not_hers = store
            .insert(
                &by(Some("änn@example.org"), None, "another person"),
                Status::Pending,
                6,
            )
            .unwrap()
            .unwrap();
        let mail_before = db.count_rows("outbox");
        let to_her = db.query_i64(
            "SELECT count(*) FROM outbox WHERE recipient = $1",
            &["ann@example.org".into()],
        );
        assert_eq!(to_her, 1, "the confirmation");
        let before = stamp(store.as_mut(), "/a/").unwrap();

        let done = store.forget("Ann@Example.ORG").unwrap();
        assert_eq!(
            done,
            Forgotten {
                removed: 3,
                kept_as_deleted: 1,
                subscription: true,
                queued_mail: 0,
            },
            "the confirmation was about her own comment, and went with it"
        );
        let marker = store.get(answered.id).unwrap().unwrap();
        assert_eq!(
            (marker.status, marker.author.as_str(), marker.text.as_str()),
            (Status::Deleted, "", "")
        );
        assert_eq!(
            (marker.email, marker.website, marker.remote_addr),
            (None, None, None)
        );
        assert_eq!(store.get(bobs.id).unwrap().unwrap().text, "bob's reply");
        assert_eq!(store.get(own.id).unwrap(), None);
        assert_eq!(
            store.get(not_hers.id).unwrap().unwrap().status,
            Status::Pending
        );
        let shown: Vec<i64> = export(store.as_mut()).threads[0]
            .comments
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(shown, [answered.id, bobs.id]);
        let after = stamp(store.as_mut(), "/a/").unwrap();
        assert!(after.0 > before.0, "the thread is re-rendered");
        assert_eq!((before.1, after.1), (4, 2));
        assert_eq!(db.count_rows("subscribers"), 0);
        assert!(db.count_rows("outbox") < mail_before);
        assert_eq!(
            db.query_i64(
                "SELECT count(*) FROM outbox WHERE comment_id IN (SELECT id FROM comments WHERE text = '')",
                &[]
            ),
            0
        );
        let data = store.personal_data("ann@example.org").unwrap();
        assert_eq!(
            (data["comments"].clone(), data["subscription"].clone()),
            (json!([]), json!(null))
        );

        // Mail queued to an address is dropped with it, even about others' comments.
        store.set_mail_events(false);
        db.execute(
            "INSERT INTO outbox (kind, comment_id, recipient, created_at, next_attempt_at)
             VALUES ('reply', $1, 'Cy@example.org', 7, 7)",
            &[bobs.id.into()],
        );
        let done = store.forget("cy@example.org").unwrap();
        assert_eq!(
            done,
            Forgotten {
                queued_mail: 1,
                ..Forgotten::default()
            }
        );
        assert_eq!(
            store.forget("nobody@example.org").unwrap(),
            Forgotten::default()
        );
    });
}
