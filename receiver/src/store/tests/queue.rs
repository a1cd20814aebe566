//! The mail that comment changes queue, on each backend: queued in the same
//! transaction as its cause, only with mail on, confirmations asked once,
//! and reply notifications only to confirmed subscribers who are not the
//! reply's author. The outbox is read as rows: sending it is another part.

use crate::store::testing::TestDb;
use crate::store::{CommentEdit, Mode, NewComment, Status};

fn new(parent: Option<i64>, email: &str) -> NewComment {
    NewComment {
        parent,
        email: Some(email.into()),
        ..NewComment::sample("/a/", "Ann", "hi")
    }
}

/// What the outbox holds, oldest first: kind, recipient, comment.
fn queued(db: &TestDb) -> Vec<(String, Option<String>, i64)> {
    db.rows(
        "SELECT kind, recipient, comment_id FROM outbox ORDER BY id",
        &[],
    )
    .iter()
    .map(|row| (row[0].text(), row[1].opt_text(), row[2].int()))
    .collect()
}

/// Empties the outbox, as if everything had been sent.
fn sent(db: &TestDb) {
    db.execute("DELETE FROM outbox", &[]);
}

#[test]
fn an_edit_that_takes_a_comment_off_the_page_tells_the_moderators() {
    super::on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_mail_events(true);
        let c = store
            .insert_opted(&new(None, "x@example.org"), false, Status::Pending, 1)
            .unwrap()
            .unwrap();
        store.approve(&[c.id], 2).unwrap().unwrap();
        sent(db);
        let edit = CommentEdit {
            author: "Ann".into(),
            email: Some("x@example.org".into()),
            website: None,
            text: "changed".into(),
        };
        // Kept on the page: nobody needs telling.
        store.edit(c.id, &edit, false).unwrap().unwrap();
        assert!(queued(db).is_empty());
        store.edit(c.id, &edit, true).unwrap().unwrap();
        assert_eq!(queued(db), [("new_comment".into(), None, c.id)]);
        // Already pending: the moderators know of it.
        store.edit(c.id, &edit, true).unwrap().unwrap();
        assert_eq!(queued(db).len(), 1);
        // With mail off, a held edit queues nothing.
        store.approve(&[c.id], 3).unwrap().unwrap();
        sent(db);
        let mut quiet = db.open(Mode::ReadWrite);
        quiet.edit(c.id, &edit, true).unwrap().unwrap();
        assert!(queued(db).is_empty());
    });
}

#[test]
fn mail_is_queued_with_its_cause_and_only_to_confirmed_subscribers() {
    super::on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        // Mail off: nothing is queued at all, but the wish is kept.
        let first = store
            .insert_opted(&new(None, "x@example.org"), true, Status::Pending, 1)
            .unwrap()
            .unwrap();
        assert!(queued(db).is_empty());
        let notify = |id: i64| {
            db.query_i64(
                "SELECT count(*) FROM comments WHERE id = $1 AND notify",
                &[id.into()],
            )
        };
        assert_eq!(notify(first.id), 1);
        assert_eq!(db.count_rows("subscribers"), 0);

        store.set_mail_events(true);
        let ann = store
            .insert_opted(&new(None, "Ann@Example.org"), true, Status::Pending, 2)
            .unwrap()
            .unwrap();
        assert_eq!(
            queued(db),
            [
                ("new_comment".into(), None, ann.id),
                ("confirm".into(), Some("Ann@Example.org".into()), ann.id)
            ]
        );
        // A second opt-in by the same address, in any ASCII case, asks nobody again.
        store
            .insert_opted(&new(None, "ann@example.org"), true, Status::Pending, 3)
            .unwrap()
            .unwrap();
        assert_eq!(queued(db).len(), 3);
        assert_eq!(db.count_rows("subscribers"), 1);
        // Without an address there is nobody to notify.
        let anonymous = NewComment {
            email: None,
            ..new(None, "")
        };
        let nobody = store
            .insert_opted(&anonymous, true, Status::Pending, 3)
            .unwrap()
            .unwrap();
        assert_eq!(notify(nobody.id), 0);
        sent(db);
        store.approve(&[ann.id], 4).unwrap().unwrap();
        assert!(queued(db).is_empty(), "nobody answered yet");

        // Unconfirmed: a published reply tells nobody.
        store
            .insert(&new(Some(ann.id), "bob@example.org"), Status::Approved, 5)
            .unwrap()
            .unwrap();
        assert_eq!(queued(db).len(), 1);
        assert_eq!(queued(db)[0].0, "new_comment");
        sent(db);

        // Confirmed: the approval of a reply queues the notification, to
        // the address as the parent's author gave it, but not for the
        // author's own reply.
        db.execute("UPDATE subscribers SET confirmed_at = 6", &[]);
        let r2 = store
            .insert(&new(Some(ann.id), "bob@example.org"), Status::Pending, 7)
            .unwrap()
            .unwrap();
        let own = store
            .insert(&new(Some(ann.id), "ANN@example.org"), Status::Pending, 7)
            .unwrap()
            .unwrap();
        sent(db);
        store.approve(&[own.id, r2.id], 8).unwrap().unwrap();
        assert_eq!(
            queued(db),
            [("reply".into(), Some("Ann@Example.org".into()), r2.id)]
        );
        sent(db);
        // A reply approved as it is stored tells the subscriber too.
        let r3 = store
            .insert(&new(Some(ann.id), "cy@example.org"), Status::Approved, 9)
            .unwrap()
            .unwrap();
        assert_eq!(
            queued(db),
            [
                ("new_comment".into(), None, r3.id),
                ("reply".into(), Some("Ann@Example.org".into()), r3.id)
            ]
        );
        sent(db);

        // Unsubscribed: replies tell nobody, and a new opt-in asks again.
        db.execute("UPDATE subscribers SET unsubscribed_at = 10", &[]);
        let r4 = store
            .insert(&new(Some(ann.id), "bob@example.org"), Status::Pending, 11)
            .unwrap()
            .unwrap();
        store.approve(&[r4.id], 12).unwrap().unwrap();
        assert!(queued(db).iter().all(|(kind, _, _)| kind != "reply"));
        sent(db);
        let again = store
            .insert_opted(&new(None, "ANN@EXAMPLE.ORG"), true, Status::Pending, 13)
            .unwrap()
            .unwrap();
        assert_eq!(
            queued(db),
            [
                ("new_comment".into(), None, again.id),
                ("confirm".into(), Some("ANN@EXAMPLE.ORG".into()), again.id)
            ]
        );
        let subscriber = db.row(
            "SELECT created_at, confirmed_at, unsubscribed_at FROM subscribers",
            &[],
        );
        assert_eq!(
            subscriber.map(|r| (r[0].int(), r[1].opt_int(), r[2].opt_int())),
            Some((13, None, None)),
            "asked anew"
        );
    });
}

#[test]
fn a_refused_change_queues_nothing() {
    super::on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_mail_events(true);
        let parent = store
            .insert_opted(&new(None, "ann@example.org"), true, Status::Approved, 1)
            .unwrap()
            .unwrap();
        db.execute("UPDATE subscribers SET confirmed_at = 2", &[]);
        let reply = store
            .insert(&new(Some(parent.id), "bob@example.org"), Status::Pending, 3)
            .unwrap()
            .unwrap();
        sent(db);
        // The reply's approval would queue a notification; the unknown id
        // refuses the batch, and with it the mail.
        assert!(store.approve(&[reply.id, 404], 4).unwrap().is_err());
        assert!(queued(db).is_empty());
        // A refused reply queues no "new comment" either.
        assert!(store
            .insert_opted(&new(Some(404), "bob@example.org"), true, Status::Pending, 5)
            .unwrap()
            .is_err());
        assert!(queued(db).is_empty());
        assert_eq!(db.count_rows("subscribers"), 1);
    });
}
