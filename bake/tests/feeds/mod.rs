//! Bakes with Atom feeds on (`BakeOptions::feeds`), of small sites in
//! temporary directories: what the feeds hold, that their bytes are stable,
//! that a re-bake touches exactly the feeds whose comments moved, and that
//! thread ids never become paths. A module of the `bake` test binary, so
//! that the suite links one binary fewer.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{comment, page, thread, MemorySource};
use kiln_bake::export::CommentStatus;
use kiln_bake::feed::{file_name, SITE_FILE, SITE_LIMIT};
use kiln_bake::{bake, BakeOptions};
use quick_xml::events::Event;
use quick_xml::Reader;

const FEEDS: &str = "comments/feeds";

/// One element of a parsed feed: its path from the root, its attributes
/// and its text.
type El = (String, Vec<(String, String)>, String);

fn site(pages: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, html) in pages {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, html).unwrap();
    }
    dir
}

fn options(root: &Path) -> BakeOptions {
    let mut opts = BakeOptions::new(root);
    opts.site_url = "https://example.org/blog".into();
    opts.render.receiver_url = "https://comments.example.org".into();
    opts.feeds = Some(FEEDS.into());
    opts
}

fn blog() -> (tempfile::TempDir, MemorySource) {
    let dir = site(&[
        (
            "index.html",
            page("Home", "<span data-kiln-count=\"/blog/a/\"></span>"),
        ),
        (
            "a/index.html",
            page("Post A", "<div data-kiln-thread></div>"),
        ),
        (
            "b/index.html",
            page("Post B", "<div data-kiln-thread></div>"),
        ),
        (
            "c/index.html",
            page("Post C", "<div data-kiln-thread></div>"),
        ),
    ]);
    let source = MemorySource::new(vec![
        thread(
            "/blog/a/",
            vec![
                comment(1, None, "Ann", "First on *A*"),
                comment(2, Some(1), "Bo", "Reply <script>x</script>"),
            ],
        ),
        thread("/blog/b/", vec![comment(3, None, "Cy", "On B")]),
    ]);
    (dir, source)
}

/// Every file under `root` with its bytes, by relative path.
fn files(root: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ino = std::os::unix::fs::MetadataExt::ino(&e.metadata().unwrap());
            (relative, (fs::read(e.path()).unwrap(), ino))
        })
        .collect()
}

fn changed(
    before: &BTreeMap<String, (Vec<u8>, u64)>,
    after: &BTreeMap<String, (Vec<u8>, u64)>,
) -> Vec<String> {
    let mut names: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(n) != after.get(n))
        .collect()
}

fn thread_feed(id: &str) -> String {
    format!("{FEEDS}/{}", file_name(id))
}

fn site_feed() -> String {
    format!("{FEEDS}/{SITE_FILE}")
}

/// A feed read with an XML parser that checks end tags: its elements as
/// (path, attributes, text), e.g. `("feed/entry/author/name", [], "Ann")`.
fn parse(xml: &[u8]) -> Vec<El> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<El> = Vec::new();
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).expect("well-formed XML");
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                        (
                            key,
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                out.push((stack.join("/"), attrs, String::new()));
                if empty {
                    stack.pop();
                }
            }
            Event::Text(t) => {
                let text = t.decode().unwrap();
                let text = quick_xml::escape::unescape(&text).unwrap().into_owned();
                if let Some(last) = out.last_mut().filter(|l| l.0 == stack.join("/")) {
                    last.2.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap();
                let c = quick_xml::escape::resolve_predefined_entity(&name).unwrap();
                if let Some(last) = out.last_mut().filter(|l| l.0 == stack.join("/")) {
                    last.2.push_str(c);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    out
}

fn texts(feed: &[El], path: &str) -> Vec<String> {
    feed.iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, _, t)| t.clone())
        .collect()
}

fn attr(el: &El, name: &str) -> Option<String> {
    el.1.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// RFC 4287's rules for what this bake writes: the Atom namespace, exactly
/// one id, title and updated per feed and entry, ids that are absolute
/// IRIs, a self link, every entry with an author, a link and html content.
fn check_atom(feed: &[El]) {
    let root = &feed[0];
    assert_eq!(root.0, "feed");
    assert_eq!(
        attr(root, "xmlns").as_deref(),
        Some("http://www.w3.org/2005/Atom")
    );
    let entries = texts(feed, "feed/entry").len();
    for (scope, n) in [("feed", 1), ("feed/entry", entries)] {
        for el in ["id", "title", "updated"] {
            let found = texts(feed, &format!("{scope}/{el}"));
            assert_eq!(found.len(), n, "{scope}/{el}: {found:?}");
            for text in found.iter().filter(|_| el == "id") {
                let url = url::Url::parse(text).expect("an absolute IRI");
                assert_eq!(url.scheme(), "https", "{text}");
            }
            for text in found.iter().filter(|_| el == "updated") {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| panic!("an RFC 3339 date: {text}"));
            }
        }
    }
    assert_eq!(texts(feed, "feed/entry/author/name").len(), entries);
    assert_eq!(texts(feed, "feed/entry/link").len(), entries);
    let contents: Vec<_> = feed
        .iter()
        .filter(|e| e.0 == "feed/entry/content")
        .collect();
    assert_eq!(contents.len(), entries);
    assert!(contents
        .iter()
        .all(|c| attr(c, "type").as_deref() == Some("html")));
    let feed_id = &texts(feed, "feed/id")[0];
    let self_link = feed
        .iter()
        .find(|e| e.0 == "feed/link" && attr(e, "rel").as_deref() == Some("self"))
        .expect("a self link");
    assert_eq!(attr(self_link, "href").as_ref(), Some(feed_id));
}

#[test]
fn feeds_are_well_formed_atom_with_the_pages_comments() {
    let (dir, mut source) = blog();
    bake(&mut source, &options(dir.path())).unwrap();

    let a = fs::read(dir.path().join(thread_feed("/blog/a/"))).unwrap();
    let a = parse(&a);
    check_atom(&a);
    assert_eq!(
        texts(&a, "feed/id"),
        [format!(
            "https://example.org/blog/{}",
            thread_feed("/blog/a/")
        )]
    );
    assert_eq!(texts(&a, "feed/title"), ["Comments on Post A"]);
    // Newest first; the feed's updated is its newest entry's, not now.
    assert_eq!(texts(&a, "feed/entry/author/name"), ["Bo", "Ann"]);
    assert_eq!(
        texts(&a, "feed/updated"),
        texts(&a, "feed/entry/updated")[..1]
    );
    assert_eq!(
        texts(&a, "feed/entry/id"),
        [
            "https://example.org/blog/a/#kiln-comment-2",
            "https://example.org/blog/a/#kiln-comment-1"
        ]
    );
    assert_eq!(
        texts(&a, "feed/entry/title"),
        ["Bo on Post A", "Ann on Post A"]
    );
    let contents = texts(&a, "feed/entry/content");
    assert_eq!(contents[1], "<p>First on <em>A</em></p>\n");
    assert!(
        !contents[0].contains("<script"),
        "sanitized as on the page: {}",
        contents[0]
    );

    // The page links its feed, under the site's base path.
    let page = fs::read_to_string(dir.path().join("a/index.html")).unwrap();
    let link = format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Comments on Post A\" href=\"/blog/{}\" data-kiln-feed></head>",
        thread_feed("/blog/a/")
    );
    assert!(page.contains(&link), "{page}");
    // A thread with no comment yet has a feed to subscribe to, with none.
    let c = parse(&fs::read(dir.path().join(thread_feed("/blog/c/"))).unwrap());
    check_atom(&c);
    assert!(texts(&c, "feed/entry").is_empty());
    // The list page shows only a count: no link.
    let home = fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(!home.contains("data-kiln-feed"), "{home}");

    let latest = parse(&fs::read(dir.path().join(site_feed())).unwrap());
    check_atom(&latest);
    assert_eq!(
        texts(&latest, "feed/entry/author/name"),
        ["Cy", "Bo", "Ann"]
    );
    assert_eq!(texts(&latest, "feed/entry/title")[0], "Cy on Post B");
    // Exactly the three thread feeds and the site's.
    let written: Vec<String> = files(dir.path())
        .into_keys()
        .filter(|f| f.starts_with(FEEDS))
        .collect();
    assert_eq!(written.len(), 4, "{written:?}");
}

#[test]
fn a_second_bake_changes_no_byte_with_or_without_state() {
    let (dir, mut source) = blog();
    let state = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.state_file = Some(state.path().join("state"));
    bake(&mut source, &opts).unwrap();
    let before = files(dir.path());
    let again = bake(&mut source, &opts).unwrap();
    assert_eq!(again.files_changed, 0, "{again}");
    let full = bake(&mut source, &options(dir.path())).unwrap();
    assert_eq!(full.files_changed, 0, "{full}");
    assert_eq!(changed(&before, &files(dir.path())), Vec::<String>::new());
}

#[test]
fn a_rebake_after_one_approval_rewrites_that_threads_feed_the_site_feed_and_the_page() {
    let (dir, mut source) = blog();
    let mut opts = options(dir.path());
    opts.state_file = Some(dir.path().join(".state"));
    bake(&mut source, &opts).unwrap();
    let before = files(dir.path());
    source.add("/blog/b/", comment(4, None, "Dee", "Approved later"));
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.files_changed, 3, "{summary}");
    assert_eq!(
        changed(&before, &files(dir.path())),
        [
            ".state",
            "b/index.html",
            &thread_feed("/blog/b/"),
            &site_feed()
        ]
    );
    let latest = parse(&fs::read(dir.path().join(site_feed())).unwrap());
    assert_eq!(
        texts(&latest, "feed/entry/author/name"),
        ["Dee", "Cy", "Bo", "Ann"]
    );
    // The same with the publisher's vouched-for listing.
    let before = files(dir.path());
    source.add("/blog/a/", comment(5, None, "Eve", "And another"));
    opts.listing_unchanged = true;
    bake(&mut source, &opts).unwrap();
    assert_eq!(
        changed(&before, &files(dir.path())),
        [
            ".state",
            "a/index.html",
            &thread_feed("/blog/a/"),
            &site_feed(),
            // Its count of A's comments.
            "index.html",
        ]
    );
}

#[test]
fn feeds_someone_removed_are_written_again_though_no_page_changed() {
    let (dir, mut source) = blog();
    let mut opts = options(dir.path());
    opts.state_file = Some(dir.path().join(".state"));
    bake(&mut source, &opts).unwrap();
    let before = files(dir.path());
    fs::remove_dir_all(dir.path().join("comments")).unwrap();
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(
        (summary.pages_skipped, summary.files_changed),
        (4, 4),
        "{summary}"
    );
    assert_eq!(
        before
            .iter()
            .filter(|(name, _)| name.starts_with(FEEDS))
            .map(|(name, (bytes, _))| (name.clone(), bytes.clone()))
            .collect::<Vec<_>>(),
        files(dir.path())
            .into_iter()
            .filter(|(name, _)| name.starts_with(FEEDS))
            .map(|(name, (bytes, _))| (name, bytes))
            .collect::<Vec<_>>()
    );
}

/// A thread shown on two pages links its feed to the first; when that one
/// stops showing it, the feed stays (the other page still links it) and
/// turns to the other page, though that page was not read again.
#[test]
fn a_thread_on_two_pages_keeps_its_feed_when_the_first_lets_go() {
    let dir = site(&[
        (
            "a/index.html",
            page("First", "<div data-kiln-thread=\"t\"></div>"),
        ),
        (
            "b/index.html",
            page("Second", "<div data-kiln-thread=\"t\"></div>"),
        ),
    ]);
    let mut source = MemorySource::new(vec![thread("t", vec![comment(1, None, "Ann", "x")])]);
    let mut opts = options(dir.path());
    opts.state_file = Some(dir.path().join(".state"));
    bake(&mut source, &opts).unwrap();
    let feed = || parse(&fs::read(dir.path().join(thread_feed("t"))).unwrap());
    assert_eq!(texts(&feed(), "feed/title"), ["Comments on First"]);
    fs::write(
        dir.path().join("a/index.html"),
        page("First", "<p>moved</p>"),
    )
    .unwrap();
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.pages_skipped, 1, "{summary}");
    let feed = feed();
    check_atom(&feed);
    assert_eq!(texts(&feed, "feed/title"), ["Comments on Second"]);
    assert_eq!(
        texts(&feed, "feed/entry/id"),
        ["https://example.org/blog/b/#kiln-comment-1"]
    );
    let latest = parse(&fs::read(dir.path().join(site_feed())).unwrap());
    assert_eq!(texts(&latest, "feed/entry/title"), ["Ann on Second"]);
}

#[test]
fn unpublished_and_deleted_comments_leave_both_feeds() {
    let (dir, mut source) = blog();
    let mut opts = options(dir.path());
    opts.state_file = Some(dir.path().join(".state"));
    bake(&mut source, &opts).unwrap();
    // Ann's comment has a reply, so it stays as a deleted marker; Cy's is
    // unpublished outright.
    source.threads.get_mut("/blog/a/").unwrap().comments[0].status = CommentStatus::Deleted;
    source.threads.remove("/blog/b/");
    bake(&mut source, &opts).unwrap();
    let a = parse(&fs::read(dir.path().join(thread_feed("/blog/a/"))).unwrap());
    assert_eq!(texts(&a, "feed/entry/author/name"), ["Bo"]);
    let b = parse(&fs::read(dir.path().join(thread_feed("/blog/b/"))).unwrap());
    check_atom(&b);
    assert!(texts(&b, "feed/entry").is_empty());
    let latest = parse(&fs::read(dir.path().join(site_feed())).unwrap());
    assert_eq!(texts(&latest, "feed/entry/author/name"), ["Bo"]);
    // A page that no longer shows its thread takes the thread's feed along.
    fs::write(
        dir.path().join("c/index.html"),
        page("Post C", "<p>closed</p>"),
    )
    .unwrap();
    bake(&mut source, &opts).unwrap();
    assert!(!dir.path().join(thread_feed("/blog/c/")).exists());
    assert!(dir.path().join(thread_feed("/blog/a/")).exists());
}

/// The site feed keeps the newest `SITE_LIMIT` comments across threads. A
/// re-bake reads only the thread that changed; when a comment leaves the
/// feed, the next older one (in a thread not read) must take its place.
#[test]
fn the_site_feed_refills_from_threads_the_rebake_did_not_read() {
    let pages: Vec<(String, String)> = (0..6)
        .map(|t| {
            (
                format!("t{t}/index.html"),
                page(&format!("T{t}"), "<div data-kiln-thread></div>"),
            )
        })
        .collect();
    let borrowed: Vec<(&str, String)> =
        pages.iter().map(|(p, h)| (p.as_str(), h.clone())).collect();
    let dir = site(&borrowed);
    // 60 comments, ids in posting order, spread over six threads.
    let threads = (0..6)
        .map(|t| {
            let comments = (0..10)
                .map(|i| comment(1 + t + 6 * i, None, &format!("P{}", 1 + t + 6 * i), "hi"))
                .collect();
            thread(&format!("/blog/t{t}/"), comments)
        })
        .collect();
    let mut source = MemorySource::new(threads);
    let mut opts = options(dir.path());
    opts.state_file = Some(dir.path().join(".state"));
    bake(&mut source, &opts).unwrap();
    let authors = |dir: &Path| {
        texts(
            &parse(&fs::read(dir.join(site_feed())).unwrap()),
            "feed/entry/author/name",
        )
    };
    let expected: Vec<String> = (11..=60).rev().map(|i| format!("P{i}")).collect();
    assert_eq!(authors(dir.path()), expected);
    assert_eq!(expected.len(), SITE_LIMIT);

    // The newest comment (60, in thread t5) is unpublished: 10 (thread t3)
    // comes back, though only t5 changed.
    let t5 = source.threads.get_mut("/blog/t5/").unwrap();
    t5.comments.retain(|c| c.id != 60);
    source.loads.clear();
    bake(&mut source, &opts).unwrap();
    let expected: Vec<String> = (10..=59).rev().map(|i| format!("P{i}")).collect();
    assert_eq!(authors(dir.path()), expected);
    assert_eq!(source.loads[0], Some(vec!["/blog/t5/".to_owned()]));

    // A new comment needs no other thread.
    source.add("/blog/t0/", comment(61, None, "P61", "new"));
    source.loads.clear();
    bake(&mut source, &opts).unwrap();
    assert_eq!(source.loads, [Some(vec!["/blog/t0/".to_owned()])]);
    assert_eq!(authors(dir.path())[..2], ["P61", "P59"]);
    assert_eq!(authors(dir.path()).len(), SITE_LIMIT);
}

#[test]
fn hostile_thread_ids_never_become_paths() {
    let long = "/".to_owned() + &"../".repeat(160);
    let dir = site(&[
        (
            "a/index.html",
            page("A", "<div data-kiln-thread=\"/../x\"></div>"),
        ),
        (
            "b/index.html",
            page("B", &format!("<div data-kiln-thread=\"{long}\"></div>")),
        ),
        (
            "c/index.html",
            page("C", "<div data-kiln-thread=\"..\"></div>"),
        ),
    ]);
    let mut source = MemorySource::new(vec![
        thread("/../x", vec![comment(1, None, "Ann", "x")]),
        thread(&long, vec![comment(2, None, "Bo", "y")]),
        thread("..", vec![comment(3, None, "Cy", "z")]),
    ]);
    let summary = bake(&mut source, &options(dir.path())).unwrap();
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    let feeds: Vec<PathBuf> = fs::read_dir(dir.path().join(FEEDS))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(feeds.len(), 4, "{feeds:?}");
    for id in ["/../x", long.as_str(), ".."] {
        let path = dir.path().join(thread_feed(id));
        let feed = parse(&fs::read(&path).unwrap());
        check_atom(&feed);
        assert_eq!(texts(&feed, "feed/entry").len(), 1, "{id}");
    }
    // Every feed sits directly in the feeds directory, and nothing was
    // written anywhere else.
    assert!(feeds
        .iter()
        .all(|f| f.parent() == Some(&dir.path().join(FEEDS))));
    let top: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut top = top;
    top.sort();
    assert_eq!(top, ["a", "b", "c", "comments"]);
}

#[test]
fn feeds_without_a_site_url_are_a_clear_error() {
    let (dir, mut source) = blog();
    let before = files(dir.path());
    for site_url in ["", "/blog", "example.org"] {
        let mut opts = options(dir.path());
        opts.site_url = site_url.into();
        let err = format!("{:#}", bake(&mut source, &opts).unwrap_err());
        assert!(
            err.contains("`bake.feeds`") && err.contains("`bake.site_url`"),
            "{site_url:?}: {err}"
        );
    }
    let mut opts = options(dir.path());
    opts.feeds = Some("../feeds".into());
    let err = format!("{:#}", bake(&mut source, &opts).unwrap_err());
    assert!(err.contains("`bake.feeds_dir`"), "{err}");
    // Refused before anything was written.
    assert_eq!(changed(&before, &files(dir.path())), Vec::<String>::new());
}
