//! Likes on each backend: one per reader per comment, only on published
//! comments, counted into the export and marking the thread changed, and
//! gone with their comment whichever way it goes.

use super::{add, export, on_each_backend, stamp};
use kiln_bake::source::Source;

use crate::store::{Liked, Mode, Status};

#[test]
fn one_like_per_reader_counts_in_the_export_and_moves_the_thread() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let liked = add(store.as_mut(), "/a/", "Ann", "like me", 10);
        let other = add(store.as_mut(), "/a/", "Bo", "or me", 11);
        let pending = add(store.as_mut(), "/a/", "Cy", "waiting", 12);
        store.approve(&[liked, other], 20).unwrap().unwrap();
        let before = stamp(store.as_mut(), "/a/").unwrap();

        assert_eq!(
            store.like(liked, "reader-1", 30).unwrap(),
            Liked::Counted(1)
        );
        let after = stamp(store.as_mut(), "/a/").unwrap();
        assert!(
            after.0 > before.0,
            "the thread changed: {before:?} {after:?}"
        );
        assert_eq!(after.1, before.1, "a like shows no more comments");
        // The same reader again: nothing changes, not even the thread.
        assert_eq!(
            store.like(liked, "reader-1", 31).unwrap(),
            Liked::Already(1)
        );
        assert_eq!(stamp(store.as_mut(), "/a/").unwrap(), after);
        // Another reader, and the same reader on another comment.
        assert_eq!(
            store.like(liked, "reader-2", 32).unwrap(),
            Liked::Counted(2)
        );
        assert_eq!(
            store.like(other, "reader-1", 33).unwrap(),
            Liked::Counted(1)
        );
        assert_eq!(db.count_rows("reactions"), 3);

        // Only published comments.
        assert_eq!(
            store.like(pending, "reader-1", 34).unwrap(),
            Liked::NotPublished(Status::Pending)
        );
        assert_eq!(store.like(9_999, "reader-1", 34).unwrap(), Liked::Missing);
        assert_eq!(db.count_rows("reactions"), 3, "nothing stored for those");

        let counts: Vec<(i64, u64)> = export(store.as_mut()).threads[0]
            .comments
            .iter()
            .map(|c| (c.id, c.likes))
            .collect();
        assert_eq!(counts, [(liked, 2), (other, 1)]);
        assert_eq!(
            store.likes("default", "/a/").unwrap(),
            [(liked, 2), (other, 1)]
        );
        assert_eq!(store.likes("default", "/nowhere/").unwrap(), []);
        // Another connection sees the same, as another receiver would.
        let mut second = db.open(Mode::ReadWrite);
        assert_eq!(
            second.like(liked, "reader-2", 35).unwrap(),
            Liked::Already(2)
        );
    });
}

#[test]
fn likes_go_with_their_comment_however_it_goes() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let alone = add(store.as_mut(), "/a/", "Ann", "no replies", 10);
        let parent = add(store.as_mut(), "/a/", "Bo", "has a reply", 11);
        store.approve(&[alone, parent], 20).unwrap().unwrap();
        let reply = store
            .insert(
                &super::new("/a/", Some(parent), "a reply"),
                Status::Approved,
                21,
            )
            .unwrap()
            .unwrap()
            .id;
        let forgotten = add(store.as_mut(), "/b/", "Dee", "to be forgotten", 12);
        store.approve(&[forgotten], 22).unwrap().unwrap();
        for id in [alone, parent, reply, forgotten] {
            for reader in ["r1", "r2"] {
                assert!(matches!(
                    store.like(id, reader, 30).unwrap(),
                    Liked::Counted(_)
                ));
            }
        }
        assert_eq!(db.count_rows("reactions"), 8);
        let of = |id: i64| {
            db.query_i64(
                "SELECT count(*) FROM reactions WHERE comment_id = $1",
                &[crate::store::testing::Param::Int(id)],
            )
        };

        // Removed entirely, and kept as a "deleted" marker: no likes either way.
        store.delete(&[alone, parent]).unwrap().unwrap();
        assert_eq!((of(alone), of(parent), of(reply)), (0, 0, 2));
        assert_eq!(
            store.like(parent, "r3", 40).unwrap(),
            Liked::NotPublished(Status::Deleted),
            "a marker cannot be liked"
        );
        let shown = export(store.as_mut());
        let marker = shown.threads[0]
            .comments
            .iter()
            .find(|c| c.id == parent)
            .unwrap();
        assert_eq!(marker.likes, 0);

        // Forgetting a person removes their comments' likes too.
        store.forget("dee@example.org").unwrap();
        assert_eq!(of(forgotten), 0);
        assert_eq!(db.count_rows("reactions"), 2, "only the reply's are left");
    });
}

#[test]
fn bake_reads_every_like_count_unless_it_leaves_likes_out() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let liked = add(store.as_mut(), "/a/", "Ann", "like me", 10);
        let other = add(store.as_mut(), "/a/", "Bo", "or me", 11);
        store.approve(&[liked, other], 20).unwrap().unwrap();
        for (id, reader) in [(liked, "r1"), (liked, "r2"), (other, "r1")] {
            store.like(id, reader, 30).unwrap();
        }
        drop(store);
        let mut source = crate::store::open_source(db.location(), false, "default").unwrap();
        let one = ["/a/".to_owned()];
        let likes = |source: &mut dyn Source, ids: Option<&[String]>| -> Vec<(i64, u64)> {
            source.threads(ids).unwrap()[0]
                .comments
                .iter()
                .map(|c| (c.id, c.likes))
                .collect()
        };
        // Reactions on: what the like buttons show.
        assert_eq!(likes(&mut *source, None), [(liked, 2), (other, 1)]);
        assert_eq!(likes(&mut *source, Some(&one)), [(liked, 2), (other, 1)]);
        // Reactions off: nothing shows a count, so none is made.
        source.leave_out_likes();
        assert_eq!(likes(&mut *source, None), [(liked, 0), (other, 0)]);
        assert_eq!(likes(&mut *source, Some(&one)), [(liked, 0), (other, 0)]);
    });
}
