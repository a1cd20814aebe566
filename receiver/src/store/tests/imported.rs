//! `Store::import_batch` on each backend: what `kiln import` relies on from
//! the store whatever the format (the formats themselves are tested in
//! `import/tests.rs`). Statuses, times and parent links kept, a reply whose
//! parent is nowhere left out and named, a dry run that stores nothing, the
//! same batch again adding nothing, a later batch answering an earlier one
//! but not a comment kiln deleted since, threads marked changed, no mail.

use super::{export, new, on_each_backend, stamp};
use crate::store::{ImportBatch, ImportComment, ImportFields, ImportThread, Mode, Status};

fn comment(source_id: &str, parent: Option<&str>, status: Status, at: i64) -> ImportComment {
    let deleted = status == Status::Deleted;
    ImportComment {
        source_id: source_id.into(),
        parent: parent.map(Into::into),
        id: None,
        status,
        created_at: at,
        fields: ImportFields {
            author: if deleted { "" } else { "Bea" }.into(),
            email: (!deleted).then(|| "bea@example.org".into()),
            website: None,
            text: if deleted {
                String::new()
            } else {
                format!("**{source_id}**")
            },
            remote_addr: None,
            avatar: None,
        }
        .into(),
    }
}

fn batch(threads: Vec<(&str, &str, Vec<ImportComment>)>) -> ImportBatch {
    ImportBatch {
        source: "disqus".into(),
        site: crate::store::DEFAULT_SITE.into(),
        threads: threads
            .into_iter()
            .map(|(key, title, comments)| ImportThread {
                key: key.into(),
                url: format!("https://example.org{key}"),
                title: title.into(),
                comments,
            })
            .collect(),
        spill: None,
    }
}

#[test]
fn a_batch_keeps_its_links_stores_once_and_queues_no_mail() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let own = store
            .insert(&new("/a/", None, "already here"), Status::Approved, 5)
            .unwrap()
            .unwrap();
        // As `kiln serve` has it with mail on: inserts and approvals queue mail.
        store.set_mail_events(true);
        let first = batch(vec![
            (
                "/a/",
                "Page A",
                vec![
                    comment("d1", None, Status::Approved, 100),
                    comment("d2", Some("d1"), Status::Pending, 110),
                    comment("d3", None, Status::Deleted, 120),
                    comment("d4", Some("d3"), Status::Approved, 130),
                    comment("d5", Some("gone"), Status::Approved, 140),
                ],
            ),
            (
                "/b/",
                "",
                vec![
                    comment("b1", None, Status::Spam, 150),
                    comment("b2", Some("d1"), Status::Approved, 160),
                ],
            ),
        ]);
        let before = export(store.as_mut());
        let stamp_before = stamp(store.as_mut(), "/a/");

        let dry = store.import_batch(&first, false).unwrap();
        let added: Vec<&str> = dry.added.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(added, ["d1", "d2", "d3", "d4", "b1"], "{dry:?}");
        let unplaced: Vec<&str> = dry.unplaced.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(unplaced, ["d5", "b2"], "{dry:?}");
        assert!(dry.unplaced[0].1.contains("gone"), "{dry:?}");
        assert!(dry.unplaced[1].1.contains("another thread"), "{dry:?}");
        assert_eq!(dry.new_threads, 1);
        assert_eq!(export(store.as_mut()), before, "a dry run stores nothing");
        assert_eq!(db.count_rows("imported"), 0);
        assert_eq!(stamp(store.as_mut(), "/a/"), stamp_before);

        let done = store.import_batch(&first, true).unwrap();
        assert_eq!(
            (done.added.len(), done.unplaced.len(), done.new_threads),
            (5, 2, 1),
            "{done:?}"
        );
        let id = |s: &str| done.added.iter().find(|(k, _)| k == s).unwrap().1;
        let d2 = store.get(id("d2")).unwrap().unwrap();
        assert_eq!(
            (d2.parent, d2.status, d2.created_at),
            (Some(id("d1")), Status::Pending, 110)
        );
        assert_eq!(d2.page_title, "Page A", "a title fills in an empty one");
        assert_eq!(store.get(id("b1")).unwrap().unwrap().status, Status::Spam);
        let a = export(store.as_mut()).threads.remove(0);
        let shown: Vec<(i64, Option<i64>)> = a.comments.iter().map(|c| (c.id, c.parent)).collect();
        assert_eq!(
            shown,
            [
                (own.id, None),
                (id("d1"), None),
                (id("d3"), None),
                (id("d4"), Some(id("d3")))
            ]
        );
        assert!(a.comments[1]
            .html
            .as_deref()
            .unwrap()
            .contains("<strong>d1</strong>"));
        let (seq, shows) = stamp(store.as_mut(), "/a/").unwrap();
        assert!(
            seq > stamp_before.unwrap().0,
            "the thread is marked changed"
        );
        assert_eq!(shows, 4);
        assert_eq!(stamp(store.as_mut(), "/b/"), None, "spam shows nothing");
        assert!(
            store
                .claim_mail(i64::MAX - 1, i64::MAX, "t", 100)
                .unwrap()
                .is_empty(),
            "an import queues no mail"
        );

        let again = store.import_batch(&first, true).unwrap();
        assert!(again.added.is_empty(), "{again:?}");
        assert_eq!(again.already.len(), 5);
        assert_eq!(again.new_threads, 0);

        // A later batch answers what an earlier one brought, but not a
        // comment kiln deleted since.
        store.delete(&[id("d4")]).unwrap().unwrap();
        let later = store
            .import_batch(
                &batch(vec![(
                    "/a/",
                    "",
                    vec![
                        comment("d6", Some("d1"), Status::Approved, 200),
                        comment("d7", Some("d4"), Status::Approved, 210),
                        comment("d4", Some("d3"), Status::Approved, 130),
                    ],
                )]),
                true,
            )
            .unwrap();
        assert_eq!(later.added.len(), 1, "{later:?}");
        let d6 = store.get(later.added[0].1).unwrap().unwrap();
        assert_eq!(d6.parent, Some(id("d1")));
        assert_eq!(later.unplaced.len(), 1, "{later:?}");
        assert_eq!(
            later.already,
            ["d4"],
            "what kiln deleted is not brought back"
        );
        // New submissions still get fresh ids.
        let next = store
            .insert(&new("/a/", None, "after"), Status::Pending, 300)
            .unwrap()
            .unwrap();
        assert!(next.id > d6.id);
    });
}

/// A batch for another site (issue 18) makes that site's thread, beside the
/// default site's thread of the same key, and joins it the second time.
#[test]
fn a_batch_for_a_site_lands_in_that_sites_thread() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        store
            .insert(
                &new("/a/", None, "on the default site"),
                Status::Approved,
                5,
            )
            .unwrap()
            .unwrap();
        let for_b = |source_id: &str| ImportBatch {
            source: "disqus@b".into(),
            site: "b".into(),
            ..batch(vec![(
                "/a/",
                "Page A",
                vec![comment(source_id, None, Status::Approved, 100)],
            )])
        };
        assert_eq!(
            store.import_batch(&for_b("d1"), true).unwrap().new_threads,
            1
        );
        assert_eq!(
            store.import_batch(&for_b("d2"), true).unwrap().new_threads,
            0
        );
        let avatars = store.avatar_keys(false).unwrap();
        let texts = |store: &mut dyn crate::store::Store, site: &str| -> Vec<String> {
            let threads = store.published_threads(site, None, &avatars).unwrap();
            threads
                .iter()
                .flat_map(|t| t.comments.iter().map(|c| c.text.clone()))
                .collect()
        };
        assert_eq!(texts(store.as_mut(), "default"), ["on the default site"]);
        assert_eq!(texts(store.as_mut(), "b"), ["**d1**", "**d2**"]);
    });
}
