//! A signed-in author's OpenID subject (migration `identity`, issue 19), on
//! each backend: stored with the comment, kept by an edit that keeps the
//! name and dropped by one that changes it, removed with what a deleted
//! comment's author gave, and carried by `kiln store copy`.

use super::{new, on_each_backend};
use crate::store::{copy, CommentEdit, Status};

fn subject(db: &crate::store::testing::TestDb, id: i64) -> Option<String> {
    db.query_opt_text(
        "SELECT identity_subject FROM comments WHERE id = $1",
        &[id.into()],
    )
}

#[test]
fn the_subject_is_stored_edited_removed_and_copied() {
    on_each_backend(|db| {
        let mut store = db.open(crate::store::Mode::ReadWrite);
        let mut signed = new("/t/", None, "signed in");
        signed.identity_subject = Some("sub-1".into());
        let first = store
            .insert(&signed, Status::Approved, 10)
            .unwrap()
            .unwrap();
        let anonymous = store
            .insert(&new("/t/", None, "anonymous"), Status::Approved, 11)
            .unwrap()
            .unwrap();
        assert_eq!(subject(db, first.id).as_deref(), Some("sub-1"));
        assert_eq!(subject(db, anonymous.id), None);
        // What bake reads: the signed-in comment marked verified, the other not.
        let keys = store.avatar_keys(false).unwrap();
        let threads = store.published_threads("default", None, &keys).unwrap();
        let verified: Vec<(i64, bool)> = threads[0]
            .comments
            .iter()
            .map(|c| (c.id, c.verified))
            .collect();
        assert_eq!(verified, [(first.id, true), (anonymous.id, false)]);

        // Copied along with every other column.
        let target = db.another();
        let mut to = target.open(crate::store::Mode::ReadWrite);
        copy::copy(store.as_mut(), to.as_mut(), false).unwrap();
        assert_eq!(subject(&target, first.id).as_deref(), Some("sub-1"));

        let edit = |author: &str| CommentEdit {
            author: author.into(),
            email: first.email.clone(),
            website: None,
            text: "edited".into(),
        };
        store.edit(first.id, &edit("Ann"), false).unwrap().unwrap();
        assert_eq!(subject(db, first.id).as_deref(), Some("sub-1"), "same name");
        store
            .edit(first.id, &edit("Someone else"), false)
            .unwrap()
            .unwrap();
        assert_eq!(subject(db, first.id), None, "no longer the verified name");

        // A deleted comment kept as a marker for its reply keeps nothing.
        let mut again = new("/t/", None, "signed in again");
        again.identity_subject = Some("sub-2".into());
        let parent = store.insert(&again, Status::Approved, 12).unwrap().unwrap();
        store
            .insert(
                &new("/t/", Some(parent.id), "a reply"),
                Status::Approved,
                13,
            )
            .unwrap()
            .unwrap();
        store.delete(&[parent.id]).unwrap().unwrap();
        assert_eq!(subject(db, parent.id), None);
        assert_eq!(
            db.query_text(
                "SELECT status FROM comments WHERE id = $1",
                &[parent.id.into()]
            ),
            "deleted"
        );
    });
}
