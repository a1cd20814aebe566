//! Sites (issue 18) on every backend: a thread is a site's, so the same key
//! on two sites is two threads, and every read by key reads one site's.

use super::*;
use crate::store::{Refusal, Search};

/// Ann's comment on `thread` of `site`.
fn on(site: &str, thread: &str, text: &str) -> NewComment {
    NewComment {
        site: site.into(),
        ..new(thread, None, text)
    }
}

#[test]
fn the_same_thread_id_on_two_sites_is_two_threads() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        let a = store
            .insert(&on("default", "/about/", "On A"), Status::Approved, 10)
            .unwrap()
            .unwrap();
        let b = store
            .insert(&on("blog-b", "/about/", "On B"), Status::Approved, 11)
            .unwrap()
            .unwrap();
        assert_eq!((a.site.as_str(), b.site.as_str()), ("default", "blog-b"));
        assert_eq!(store.get(b.id).unwrap().unwrap().site, "blog-b");
        assert_eq!(
            db.query_i64("SELECT count(*) FROM threads WHERE key = '/about/'", &[]),
            2
        );

        let avatars = store.avatar_keys(false).unwrap();
        let texts = |store: &mut dyn Store, site: &str| -> Vec<String> {
            let threads = store.published_threads(site, None, &avatars).unwrap();
            let one = store
                .published_threads(site, Some(&["/about/".to_owned()]), &avatars)
                .unwrap();
            assert_eq!(threads, one, "{site}: all threads and the one by key agree");
            threads
                .iter()
                .flat_map(|t| t.comments.iter().map(|c| c.text.clone()))
                .collect()
        };
        assert_eq!(texts(store.as_mut(), "default"), ["On A"]);
        assert_eq!(texts(store.as_mut(), "blog-b"), ["On B"]);
        assert!(texts(store.as_mut(), "nobody").is_empty());
        assert_eq!(store.export("blog-b", &avatars).unwrap().threads.len(), 1);

        // A second comment on B's thread: counts and stamps are per site.
        store
            .insert(&on("blog-b", "/about/", "More on B"), Status::Approved, 12)
            .unwrap()
            .unwrap();
        let about = ["/about/".to_owned()];
        assert_eq!(store.approved_counts("default", &about).unwrap(), [1]);
        assert_eq!(store.approved_counts("blog-b", &about).unwrap(), [2]);
        let stamps = |store: &mut dyn Store, site: &str| -> Vec<(String, u64)> {
            let mut s = store.thread_stamps(site).unwrap();
            s.sort();
            s.into_iter().map(|(k, _, n)| (k, n)).collect()
        };
        assert_eq!(stamps(store.as_mut(), "default"), [("/about/".into(), 1)]);
        assert_eq!(stamps(store.as_mut(), "blog-b"), [("/about/".into(), 2)]);

        // A reply names its parent by id: one on the other site's thread of
        // the same key is in another thread.
        let reply = NewComment {
            parent: Some(a.id),
            ..on("blog-b", "/about/", "Reply across sites")
        };
        assert_eq!(
            store.insert(&reply, Status::Approved, 13).unwrap(),
            Err(Refusal::ParentInOtherThread(a.id))
        );

        // The duplicate check looks at one site's thread.
        let same = |store: &mut dyn Store, site: &str| {
            store
                .is_duplicate(site, "/about/", "On A", Some("192.0.2.0"), None, 0)
                .unwrap()
        };
        assert!(same(store.as_mut(), "default"));
        assert!(!same(store.as_mut(), "blog-b"));

        // The admin page's filter.
        let search = |site: Option<&str>| Search {
            site: site.map(str::to_owned),
            limit: 10,
            ..Search::default()
        };
        let sites_of = |found: Vec<crate::store::StoredComment>| -> Vec<String> {
            found.into_iter().map(|c| c.site).collect()
        };
        assert_eq!(
            sites_of(store.search(&search(Some("blog-b"))).unwrap()),
            ["blog-b", "blog-b"]
        );
        assert_eq!(
            sites_of(store.search(&search(Some("default"))).unwrap()),
            ["default"]
        );
        assert_eq!(store.search(&search(None)).unwrap().len(), 3);
    });
}

#[test]
fn bake_reads_one_site_through_its_source() {
    on_each_backend(|db| {
        let mut store = db.open(Mode::ReadWrite);
        for (site, text) in [("default", "On A"), ("b", "On B")] {
            store
                .insert(&on(site, "/about/", text), Status::Approved, 10)
                .unwrap()
                .unwrap();
        }
        drop(store);
        let read = |site: &str| -> (String, Vec<String>) {
            let mut source = super::super::open_source(db.location(), false, site).unwrap();
            let texts = source
                .threads(None)
                .unwrap()
                .iter()
                .flat_map(|t| t.comments.iter().map(|c| c.text.clone()))
                .collect();
            assert_eq!(source.stamps().unwrap().len(), 1, "{site}");
            (source.identity().unwrap(), texts)
        };
        let (default_identity, a) = read("default");
        let (b_identity, b) = read("b");
        assert_eq!((a, b), (vec!["On A".to_owned()], vec!["On B".to_owned()]));
        // Bake's remembered state is kept per source identity: one site's
        // must not pass for another's.
        assert_ne!(default_identity, b_identity);
    });
}
