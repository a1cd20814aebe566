//! `Store::post_batch`, the store's half of the receiver's group commit, on
//! each backend: every submission is answered as it would be alone, one
//! that is refused leaves nothing behind and stops nothing, and a later
//! submission sees the earlier ones of the same batch (a reply to one, a
//! duplicate of one, an author approved by one).

use super::{by, new, on_each_backend};
use crate::store::{Mode, NewComment, Posting, Refusal, Status, StoredComment};

/// A submission as the receiver makes it with moderation off and the
/// duplicate check on (`spam.duplicate_days`).
fn posting(comment: NewComment, now: i64) -> Posting {
    Posting {
        comment,
        notify: false,
        status: Status::Approved,
        approve_known: false,
        duplicate_since: Some(now - 86_400),
        now,
        html: None,
    }
}

/// What each answer came to: the stored comment or the refusal.
fn outcomes(
    answers: Vec<crate::store::Posted>,
) -> Vec<std::result::Result<StoredComment, Refusal>> {
    answers
        .into_iter()
        .map(|a| a.expect("no submission fails outright"))
        .collect()
}

#[test]
fn a_refused_submission_leaves_nothing_and_the_rest_of_the_batch_commits() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let first = store
            .post(&posting(new("/a/", None, "first"), 100))
            .unwrap()
            .unwrap();
        let batch = [
            posting(by("/b/", "Bea", "fine"), 200),
            // The same text from the same address on the same thread.
            posting(new("/a/", None, "first"), 200),
            // A reply to a comment that does not exist, on a new thread: the
            // thread it would have created must not stay behind.
            posting(new("/c/", Some(first.id + 1000), "to nobody"), 200),
            // A reply to a comment of another thread.
            posting(new("/d/", Some(first.id), "wrong thread"), 200),
            posting(by("/a/", "Cy", "also fine"), 200),
        ];
        let got = outcomes(store.post_batch(&batch).unwrap());
        assert_eq!(got.len(), 5);
        assert_eq!(got[1], Err(Refusal::Duplicate));
        assert_eq!(got[2], Err(Refusal::ParentMissing(first.id + 1000)));
        assert_eq!(got[3], Err(Refusal::ParentInOtherThread(first.id)));
        let (bea, cy) = (got[0].clone().unwrap(), got[4].clone().unwrap());
        assert_eq!((bea.author.as_str(), bea.thread.as_str()), ("Bea", "/b/"));
        assert_eq!((cy.author.as_str(), cy.thread.as_str()), ("Cy", "/a/"));
        // Stored, and readable as such, from another connection too.
        let mut other = db.open(Mode::ReadOnly);
        assert_eq!(other.get(bea.id).unwrap(), Some(bea));
        assert_eq!(other.get(cy.id).unwrap(), Some(cy));
        assert_eq!(
            db.count_rows("comments"),
            3,
            "the refused three left no comment"
        );
        assert_eq!(
            db.query_i64(
                "SELECT count(*) FROM threads WHERE key IN ('/c/', '/d/')",
                &[]
            ),
            0,
            "the refused replies left no thread"
        );
        assert_eq!(
            other.approved_counts("default", &["/a/".into()]).unwrap(),
            vec![2]
        );
    });
}

#[test]
fn a_later_submission_sees_the_earlier_ones_of_its_batch() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        // Comments are numbered from the last id, so the first of the batch
        // gets the next one: a reply can name it before it exists.
        let before = store
            .post(&posting(by("/x/", "Dee", "an older thread"), 50))
            .unwrap()
            .unwrap();
        let next = before.id + 1;
        let batch = [
            posting(new("/a/", None, "the question"), 100),
            posting(by("/a/", "Bea", "the answer").with_parent(next), 100),
            // The question again, in the same batch: a duplicate of the first.
            posting(new("/a/", None, "the question"), 100),
        ];
        let got = outcomes(store.post_batch(&batch).unwrap());
        let question = got[0].clone().unwrap();
        assert_eq!(question.id, next);
        let answer = got[1]
            .clone()
            .expect("the reply finds its parent in the batch");
        assert_eq!(answer.parent, Some(question.id));
        assert_eq!(got[2], Err(Refusal::Duplicate));
        assert_eq!(db.count_rows("comments"), 3);
    });
}

#[test]
fn an_author_approved_earlier_in_the_batch_is_known_later_in_it() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let held = |comment: NewComment| Posting {
            status: Status::Pending,
            approve_known: true,
            ..posting(comment, 100)
        };
        let batch = [
            // Ann is not known yet: held.
            held(new("/a/", None, "one")),
            // Approved as the receiver would with moderation off.
            posting(new("/b/", None, "two"), 100),
            // Now Ann is known: published at once.
            held(new("/c/", None, "three")),
            // A spam rule held this one: it stays pending (`approve_known`
            // is false for it).
            Posting {
                approve_known: false,
                ..held(new("/d/", None, "four"))
            },
        ];
        let statuses: Vec<Status> = outcomes(store.post_batch(&batch).unwrap())
            .into_iter()
            .map(|c| c.unwrap().status)
            .collect();
        assert_eq!(
            statuses,
            [
                Status::Pending,
                Status::Approved,
                Status::Approved,
                Status::Pending
            ]
        );
        assert_eq!(store.count(Status::Approved).unwrap(), 2);
    });
}

#[test]
fn a_batch_queues_each_stored_comments_mail_and_none_for_a_refused_one() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store.set_mail_events(true);
        let notify = |comment: NewComment| Posting {
            notify: true,
            ..posting(comment, 100)
        };
        let got = outcomes(
            store
                .post_batch(&[
                    notify(by("/a/", "Bea", "one")),
                    notify(by("/a/", "Bea", "one")),
                    notify(by("/b/", "Cy", "two")),
                ])
                .unwrap(),
        );
        assert_eq!(got[1], Err(Refusal::Duplicate));
        // A new-comment message each, and one confirmation per new subscriber.
        assert_eq!(
            db.query_i64(
                "SELECT count(*) FROM outbox WHERE kind = 'new_comment'",
                &[]
            ),
            2
        );
        assert_eq!(
            db.query_i64("SELECT count(*) FROM outbox WHERE kind = 'confirm'", &[]),
            2
        );
    });
}

/// A reply: `self` answering comment `parent`.
trait WithParent {
    fn with_parent(self, parent: i64) -> NewComment;
}

impl WithParent for NewComment {
    fn with_parent(self, parent: i64) -> NewComment {
        NewComment {
            parent: Some(parent),
            ..self
        }
    }
}
