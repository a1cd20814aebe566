//! Each importer on the project's own fixtures (tests/fixtures/import/),
//! which hold the traps real exports have, stored into a real SQLite file.

use std::path::{Path, PathBuf};

use kiln_bake::export::{Comment, CommentStatus, Thread};

use super::*;
use crate::store::{self, Mode, Status, Store, StoredComment};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/import")
        .join(name)
}

fn empty_store() -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&dir.path().join("kiln.sqlite3"), Mode::ReadWrite).unwrap();
    (dir, store)
}

/// Imports `path` as `format` into a fresh database.
fn imported(
    format: Format,
    path: &Path,
    options: &Options,
) -> (tempfile::TempDir, Box<dyn Store>, Report) {
    let (dir, mut store) = empty_store();
    let report = run(store.as_mut(), Some(format), path, options, false).unwrap();
    (dir, store, report)
}

fn published(store: &mut dyn Store) -> Vec<Thread> {
    let avatars = store.avatar_keys(false).unwrap();
    store.published_threads("default", None, &avatars).unwrap()
}

fn thread<'a>(threads: &'a [Thread], key: &str) -> &'a Thread {
    threads.iter().find(|t| t.id == key).unwrap_or_else(|| {
        panic!(
            "no thread {key} in {:?}",
            threads.iter().map(|t| &t.id).collect::<Vec<_>>()
        )
    })
}

fn by_author<'a>(t: &'a Thread, author: &str) -> &'a Comment {
    t.comments
        .iter()
        .find(|c| c.author == author)
        .unwrap_or_else(|| panic!("no comment by {author} in {}", t.id))
}

fn held(store: &mut dyn Store, status: Status) -> Vec<StoredComment> {
    store.by_status(status).unwrap()
}

fn reasons(items: &[Skipped]) -> String {
    items
        .iter()
        .map(|s| format!("{}: {}", s.what, s.why))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A second run of the same import adds nothing and changes nothing.
fn second_run_adds_nothing(
    store: &mut dyn Store,
    format: Format,
    path: &Path,
    options: &Options,
    first: &Report,
) {
    let before = published(store);
    let again = run(store, Some(format), path, options, false).unwrap();
    assert_eq!(again.added_total(), 0, "{again}");
    assert_eq!(again.already, first.added_total(), "{again}");
    assert_eq!(published(store), before);
}

#[test]
fn disqus_keeps_nesting_spam_and_deleted_markers() {
    let path = fixture("disqus.xml");
    let (_dir, mut store, report) = imported(Format::Disqus, &path, &Options::default());
    assert_eq!(report.added.get("approved"), Some(&5), "{report}");
    assert_eq!(report.added.get("spam"), Some(&1), "{report}");
    assert_eq!(report.added.get("deleted"), Some(&1), "{report}");
    assert_eq!(
        report.added.get("pending"),
        Some(&1),
        "the odd flag: {report}"
    );

    let threads = published(store.as_mut());
    let hello = thread(&threads, "/posts/hello-world/");
    assert_eq!(hello.url, "http://www.kiln.example/posts/hello-world/");
    let ada = by_author(hello, "Ada Quill");
    assert_eq!(ada.parent, None);
    assert_eq!(ada.created_at, "2019-04-02T09:30:00Z");
    assert_eq!(
        ada.text,
        "First! A **bold** claim, see [the docs](https://docs.kiln.example/ \"docs\").\n\nSecond paragraph."
    );
    // Entities decoded once per layer: the XML's, then the HTML's.
    let brian = by_author(hello, "Brian O\u{2019}Neil");
    assert_eq!(brian.parent, Some(ada.id));
    assert_eq!(brian.text, "Agreed & noted: 2 < 3.");
    let chidi = by_author(hello, "Chidi Anagonye");
    assert_eq!(chidi.parent, Some(brian.id), "two levels down");
    // The deleted post with a live reply is an empty marker; the reply stays under it.
    let marker = hello
        .comments
        .iter()
        .find(|c| c.status == CommentStatus::Deleted)
        .expect("a deleted marker");
    assert_eq!((marker.author.as_str(), marker.text.as_str()), ("", ""));
    assert_eq!(by_author(hello, "Eli Vance").parent, Some(marker.id));
    assert!(
        hello.comments.iter().all(|c| c.author != "Fay Wray"),
        "deleted leaf left out"
    );
    // The post without an id, on the non-ASCII page keyed as bake keys it.
    let cafe = thread(&threads, "/posts/caf%C3%A9-au-lait/");
    assert_eq!(by_author(cafe, "Gaël").created_at, "2019-05-02T12:00:00Z");

    let spam = held(store.as_mut(), Status::Spam);
    assert_eq!(spam.len(), 1);
    assert_eq!(spam[0].author, "Watch Seller");
    assert_eq!(spam[0].email.as_deref(), Some("seller@spam.example"));
    let pending = held(store.as_mut(), Status::Pending);
    assert_eq!(pending[0].author, "Jun");

    let skipped = reasons(&report.skipped);
    assert!(
        skipped.contains("comment 306: deleted in the source"),
        "{skipped}"
    );
    assert!(
        skipped.contains("comment 308: its thread 203 was deleted"),
        "{skipped}"
    );
    let unplaced = reasons(&report.unplaced);
    assert!(
        unplaced.contains("comment 307: its thread 9999 is not in the source"),
        "{unplaced}"
    );
    assert!(
        unplaced.contains("comment 310: it has no readable creation time"),
        "{unplaced}"
    );
    assert!(
        reasons(&report.moved).contains("comment 309: its status"),
        "{report}"
    );

    second_run_adds_nothing(
        store.as_mut(),
        Format::Disqus,
        &path,
        &Options::default(),
        &report,
    );
}

#[test]
fn disqus_site_url_and_map_place_threads() {
    let mut options = Options {
        site_url: Some(Options::parse_site_url("https://kiln.example/").unwrap()),
        ..Options::default()
    };
    let (_dir, mut store, report) = imported(Format::Disqus, &fixture("disqus.xml"), &options);
    // http://www. and https:// are the same site.
    assert!(published(store.as_mut())
        .iter()
        .any(|t| t.id == "/posts/hello-world/"));

    // A base path the URLs are not under: nothing can be placed, all is said.
    options.site_url = Some(Options::parse_site_url("https://kiln.example/blog/").unwrap());
    let (_d, _s, under_blog) = imported(Format::Disqus, &fixture("disqus.xml"), &options);
    assert_eq!(under_blog.added_total(), 0, "{under_blog}");
    assert!(
        reasons(&under_blog.unplaced).contains("is not under --site-url"),
        "{under_blog}"
    );

    // A map renames the thread by its source URL.
    options.site_url = None;
    options.map.insert(
        "http://www.kiln.example/posts/hello-world/".into(),
        "/posts/hello-again/".into(),
    );
    let (_d, mut mapped, _) = imported(Format::Disqus, &fixture("disqus.xml"), &options);
    let threads = published(mapped.as_mut());
    assert!(threads.iter().any(|t| t.id == "/posts/hello-again/"));
    assert!(threads.iter().all(|t| t.id != "/posts/hello-world/"));
    assert_eq!(report.format, Some(Format::Disqus));
}

#[test]
fn disqus_malformed_files_are_refused_with_the_line() {
    let (dir, mut store) = empty_store();
    let good = std::fs::read_to_string(fixture("disqus.xml")).unwrap();
    let stray = dir.path().join("stray.xml");
    std::fs::write(&stray, format!("`{good}")).unwrap();
    let err = format!(
        "{:#}",
        run(
            store.as_mut(),
            Some(Format::Disqus),
            &stray,
            &Options::default(),
            false
        )
        .unwrap_err()
    );
    assert!(err.contains("stray.xml, line 1"), "{err}");
    assert!(err.contains("before the first element"), "{err}");

    let unquoted = dir.path().join("unquoted.xml");
    std::fs::write(
        &unquoted,
        good.replace("<post dsq:id=\"302\">", "<post dsq:id=302>"),
    )
    .unwrap();
    let line = good
        .lines()
        .position(|l| l.contains("dsq:id=\"302\""))
        .unwrap()
        + 1;
    let err = format!(
        "{:#}",
        run(
            store.as_mut(),
            Some(Format::Disqus),
            &unquoted,
            &Options::default(),
            false
        )
        .unwrap_err()
    );
    assert!(err.contains(&format!("unquoted.xml, line {line}")), "{err}");
    assert!(err.contains("attribute"), "{err}");
    // Nothing at all was stored by either attempt.
    assert!(published(store.as_mut()).is_empty());
    assert_eq!(store.count(Status::Spam).unwrap(), 0);
}

#[test]
fn wordpress_https_namespace_statuses_and_depth() {
    let path = fixture("wordpress.xml");
    let (_dir, mut store, report) = imported(Format::Wordpress, &path, &Options::default());
    assert_eq!(report.added.get("approved"), Some(&6), "{report}");
    assert_eq!(report.added.get("pending"), Some(&1), "{report}");
    assert_eq!(report.added.get("spam"), Some(&1), "{report}");
    assert_eq!(report.added.get("deleted"), Some(&1), "{report}");
    let threads = published(store.as_mut());
    let glazes = thread(&threads, "/2020/03/glazes/");
    let first = by_author(glazes, "Ping 1 \u{ab} What\u{2019}s a glaze?");
    // comment_date_gmt, not the site-local comment_date.
    assert_eq!(first.created_at, "2020-03-02T10:15:00Z");
    assert_eq!(
        first.text,
        "First line  \nsecond line, same paragraph.\n\nA **new** paragraph with the post's name.  \nBackslashes stay: \\\\o/ ¯\\\\\\_(ツ)\\_/¯"
    );
    let html = kiln_bake::markdown::to_html(&first.text);
    assert!(
        html.contains("Backslashes stay: \\o/ ¯\\_(ツ)_/¯"),
        "{html}"
    );
    // Four levels, each under the one before.
    let levels: Vec<&Comment> = ["Γιώργος Κεραμέας", "Ada Quill", "Brian"]
        .iter()
        .map(|a| by_author(glazes, a))
        .collect();
    assert_eq!(levels[0].parent, Some(first.id));
    assert_eq!(levels[1].parent, Some(levels[0].id));
    assert_eq!(levels[2].parent, Some(levels[1].id));
    // Trash with a reply: a marker; post-trashed without one: left out.
    let marker = glazes
        .comments
        .iter()
        .find(|c| c.status == CommentStatus::Deleted)
        .unwrap();
    assert_eq!(by_author(glazes, "Replying Rae").parent, Some(marker.id));
    let skipped = reasons(&report.skipped);
    assert!(
        skipped.contains("comment 41:509: deleted in the source"),
        "{skipped}"
    );
    assert!(skipped.contains("comment 41:510: a pingback"), "{skipped}");
    // The id 501 again, on a page with a query-string permalink.
    assert_eq!(
        by_author(thread(&threads, "/?page_id=2"), "Same Id Sam").parent,
        None
    );
    // People's fields: email trimmed, the IP kept as given.
    let ada = held(store.as_mut(), Status::Approved)
        .into_iter()
        .find(|c| c.id == first.id)
        .unwrap();
    assert_eq!(ada.email.as_deref(), Some("potter@kiln.example"));
    assert_eq!(ada.website.as_deref(), Some("https://potter.kiln.example/"));
    assert_eq!(ada.remote_addr.as_deref(), Some("::ffff:198.51.100.7"));
    assert_eq!(held(store.as_mut(), Status::Spam)[0].author, "Spammy");
    assert_eq!(
        held(store.as_mut(), Status::Pending)[0].author,
        "Waiting Walt"
    );
    second_run_adds_nothing(
        store.as_mut(),
        Format::Wordpress,
        &path,
        &Options::default(),
        &report,
    );
}

#[test]
fn wordpress_1_0_with_missing_fields() {
    let (_dir, mut store, report) = imported(
        Format::Wordpress,
        &fixture("wordpress-1.0.xml"),
        &Options::default(),
    );
    assert_eq!(report.added_total(), 2, "{report}");
    let threads = published(store.as_mut());
    let t = thread(&threads, "/?p=4");
    let old = by_author(t, "Old Timer");
    assert_eq!(old.created_at, "2009-06-01T08:00:00Z");
    assert_eq!(old.website.as_deref(), Some("http://old.kiln.example"));
    // A zero GMT date falls back to the local one.
    let second = by_author(t, "Second");
    assert_eq!(second.created_at, "2009-06-01T10:30:00Z");
    assert_eq!(second.parent, Some(old.id));
}

#[test]
fn remark42_gzipped_or_not() {
    let plain = fixture("remark42.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("backup-kiln-20210605.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
        enc.finish().unwrap();
    }
    assert_eq!(Format::detect(&gz).unwrap(), Format::Remark42);
    for path in [&plain, &gz] {
        let (_dir, mut store, report) = imported(Format::Remark42, path, &Options::default());
        assert_eq!(report.added.get("approved"), Some(&4), "{report}");
        assert_eq!(report.added.get("deleted"), Some(&1), "{report}");
        let threads = published(store.as_mut());
        let hello = thread(&threads, "/posts/hello-world/");
        let ada = by_author(hello, "Ada Quill");
        // Nanoseconds and a -05:00 offset, in UTC.
        assert_eq!(ada.created_at, "2021-06-01T14:10:11Z");
        assert_eq!(
            ada.text,
            "Top level, with a [link](https://docs.kiln.example/) & an entity."
        );
        assert_eq!(by_author(hello, "Brian").created_at, "2021-06-01T14:00:00Z");
        assert_eq!(
            store.get(ada.id).unwrap().unwrap().page_title,
            "Hello world"
        );
        let marker = hello
            .comments
            .iter()
            .find(|c| c.status == CommentStatus::Deleted)
            .unwrap();
        assert_eq!(marker.parent, Some(ada.id));
        assert_eq!(by_author(hello, "Dana").parent, Some(marker.id));
        // The parent not in the backup: kept, at the top level, and said so.
        let fay = by_author(thread(&threads, "/posts/%C3%BCn%C3%AFcode/"), "Fay");
        assert_eq!(fay.parent, None);
        assert!(
            reasons(&report.moved).contains("its parent 4242 is not in this thread"),
            "{report}"
        );
        assert!(
            reasons(&report.skipped).contains("c0ffee00-0000-4000-8000-000000000003: deleted"),
            "{report}"
        );
        second_run_adds_nothing(
            store.as_mut(),
            Format::Remark42,
            path,
            &Options::default(),
            &report,
        );
    }
}

#[test]
fn commento_anonymous_states_and_deleted() {
    let path = fixture("commento.json");
    assert_eq!(Format::detect(&path).unwrap(), Format::Commento);
    let (_dir, mut store, report) = imported(Format::Commento, &path, &Options::default());
    assert_eq!(report.added.get("approved"), Some(&2), "{report}");
    assert_eq!(
        report.added.get("pending"),
        Some(&2),
        "unapproved and flagged: {report}"
    );
    let threads = published(store.as_mut());
    let hello = thread(&threads, "/posts/hello-world/");
    let ada = by_author(hello, "Ada Quill");
    assert_eq!(ada.website.as_deref(), Some("https://ada.kiln.example"));
    assert_eq!(ada.created_at, "2021-03-12T11:21:56Z");
    let anonymous = hello.comments.iter().find(|c| c.author.is_empty()).unwrap();
    assert_eq!(anonymous.parent, Some(ada.id));
    assert_eq!(anonymous.created_at, "2021-03-17T12:09:47Z");
    // The anon provider's literal "undefined" is no address and no website.
    let pending = held(store.as_mut(), Status::Pending);
    let anon = pending
        .iter()
        .find(|c| c.text == "From the anonymous provider.")
        .unwrap();
    assert_eq!(
        (
            anon.author.as_str(),
            anon.email.as_deref(),
            anon.website.as_deref()
        ),
        ("", None, None)
    );
    assert!(
        reasons(&report.skipped).contains("deleted in the source"),
        "{report}"
    );
    second_run_adds_nothing(
        store.as_mut(),
        Format::Commento,
        &path,
        &Options::default(),
        &report,
    );
}

#[test]
fn comentario_v1_and_v3() {
    let v1 = fixture("comentario-v1.json");
    assert_eq!(Format::detect(&v1).unwrap(), Format::Comentario);
    let (_dir, mut store, report) = imported(Format::Comentario, &v1, &Options::default());
    assert_eq!(
        report.added_total(),
        1,
        "empty Markdown is deleted in Comentario: {report}"
    );
    let threads = published(store.as_mut());
    assert_eq!(
        by_author(thread(&threads, "/posts/hello-world/"), "Bea Bunny").text,
        "Comentario v1, *host and path*."
    );

    let v3 = fixture("comentario-v3.json");
    assert_eq!(Format::detect(&v3).unwrap(), Format::Comentario);
    // Pages are paths; with --site-url the threads get whole URLs.
    let options = Options {
        site_url: Some(Options::parse_site_url("https://kiln.example/").unwrap()),
        ..Options::default()
    };
    let (_dir, mut store, report) = imported(Format::Comentario, &v3, &options);
    assert_eq!(report.added.get("approved"), Some(&2), "{report}");
    assert_eq!(
        report.added.get("pending"),
        Some(&1),
        "pending wins over approved: {report}"
    );
    let threads = published(store.as_mut());
    let hello = thread(&threads, "/posts/hello-world/");
    assert_eq!(hello.url, "https://kiln.example/posts/hello-world/");
    let root = by_author(hello, "Bea Bunny");
    assert_eq!(by_author(hello, "Passer-by").parent, Some(root.id));
    assert_eq!(hello.comments.len(), 2, "the deleted leaf is left out");
    let pending = held(store.as_mut(), Status::Pending);
    assert_eq!(pending[0].thread, "/posts/%C3%B1and%C3%BA/");
    assert_eq!(pending[0].page_title, "Ñandú");
    second_run_adds_nothing(
        store.as_mut(),
        Format::Comentario,
        &v3,
        &Options::default(),
        &report,
    );
}

#[test]
fn staticman_positions_ids_and_date_forms() {
    let root = fixture("staticman/_data/comments");
    assert_eq!(Format::detect(&root).unwrap(), Format::Staticman);
    let (_dir, mut store, report) = imported(Format::Staticman, &root, &Options::default());
    assert_eq!(report.added.get("approved"), Some(&8), "{report}");
    let threads = published(store.as_mut());
    let notes = thread(&threads, "/notes/field-notes/");
    let disqus = by_author(notes, "Imported From Disqus");
    let ada = by_author(notes, "Ada Quill");
    // replying_to counts top-level comments in file-name order.
    assert_eq!(by_author(notes, "Brian").parent, Some(ada.id));
    assert_eq!(by_author(notes, "Dana").parent, Some(disqus.id));
    assert_eq!(by_author(notes, "Chidi").parent, None);
    assert_eq!(
        ada.text,
        "Folded text that spans several lines in the file."
    );
    assert_eq!(
        ada.created_at, "2016-01-01T00:00:00Z",
        "an unquoted YAML timestamp"
    );
    assert_eq!(
        by_author(notes, "Chidi").text,
        "A third top-level comment \u{1F60A}"
    );
    assert_eq!(
        by_author(notes, "Brian").text,
        "Reply to the second top-level comment.\n\nWith **Markdown**."
    );

    let tips = thread(&threads, "/tips/kiln-tips/");
    let dump = by_author(tips, "Old Python Dump");
    assert_eq!(
        dump.created_at, "2013-07-30T06:55:30Z",
        "a naive date is UTC"
    );
    let eli = by_author(tips, "Eli");
    assert_eq!(eli.parent, Some(dump.id), "reply_to names the parent's _id");
    assert_eq!(eli.created_at, "2018-05-26T08:37:40Z", "Unix seconds");
    assert_eq!(eli.website.as_deref(), Some("http://eli.kiln.example"));
    let fay = by_author(tips, "Fay");
    assert_eq!(fay.parent, Some(eli.id));
    assert_eq!(fay.created_at, "2018-05-26T08:39:59Z", "Unix milliseconds");
    second_run_adds_nothing(
        store.as_mut(),
        Format::Staticman,
        &root,
        &Options::default(),
        &report,
    );
}

#[test]
fn staticman_bad_yaml_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page");
    std::fs::create_dir(&page).unwrap();
    std::fs::write(
        page.join("comment-1.yml"),
        "name: Ada\nmessage: \"unterminated\n",
    )
    .unwrap();
    let (_d, mut store) = empty_store();
    let err = format!(
        "{:#}",
        run(
            store.as_mut(),
            Some(Format::Staticman),
            dir.path(),
            &Options::default(),
            false
        )
        .unwrap_err()
    );
    assert!(err.contains("comment-1.yml is not valid YAML"), "{err}");
    assert!(err.contains("line"), "{err}");
}

fn isso_db(dir: &Path) -> PathBuf {
    let path = dir.join("comments.db");
    let sql = std::fs::read_to_string(fixture("isso.sql")).unwrap();
    store::isso::create_from_sql(&path, &sql).unwrap();
    path
}

#[test]
fn isso_unescapes_once_and_keeps_markers() {
    let dir = tempfile::tempdir().unwrap();
    let path = isso_db(dir.path());
    assert_eq!(Format::detect(&path).unwrap(), Format::Isso);
    let (_dir, mut store, report) = imported(Format::Isso, &path, &Options::default());
    assert_eq!(report.added.get("approved"), Some(&5), "{report}");
    assert_eq!(report.added.get("pending"), Some(&1), "{report}");
    assert_eq!(report.added.get("deleted"), Some(&1), "{report}");
    let threads = published(store.as_mut());
    let hello = thread(&threads, "/posts/hello-world/");
    let ada = by_author(hello, "Ada & Co <3");
    assert_eq!(
        ada.website.as_deref(),
        Some("http://ada.kiln.example/?a=1&b=2")
    );
    assert_eq!(ada.created_at, "2020-09-13T12:26:40Z");
    assert_eq!(by_author(hello, "Brian").text, "Reply one.\nSecond line.");
    assert_eq!(by_author(hello, "Brian").parent, Some(ada.id));
    assert_eq!(by_author(hello, "Chidi").parent, Some(ada.id));
    let marker = hello
        .comments
        .iter()
        .find(|c| c.status == CommentStatus::Deleted)
        .unwrap();
    assert_eq!(by_author(hello, "Fay").parent, Some(marker.id));
    // A deleted marker keeps nothing of its author, not even the email Isso kept.
    let stored = store.get(marker.id).unwrap().unwrap();
    assert_eq!((stored.email, stored.remote_addr), (None, None));
    // Not escaped by `isso import`: a lone & stays.
    let brulee = thread(&threads, "/posts/cr%C3%A8me-br%C3%BBl%C3%A9e/");
    assert_eq!(
        by_author(brulee, "Gaël & Hana").website.as_deref(),
        Some("https://gael.kiln.example")
    );
    assert_eq!(held(store.as_mut(), Status::Pending)[0].author, "Dana");
    second_run_adds_nothing(
        store.as_mut(),
        Format::Isso,
        &path,
        &Options::default(),
        &report,
    );
}

#[test]
fn not_an_isso_database_is_refused() {
    let (dir, mut store) = empty_store();
    // kiln's own database is SQLite, but not Isso's.
    let err = format!(
        "{:#}",
        run(
            store.as_mut(),
            Some(Format::Isso),
            &dir.path().join("kiln.sqlite3"),
            &Options::default(),
            false
        )
        .unwrap_err()
    );
    assert!(err.contains("is not an Isso database"), "{err}");
}

#[test]
fn kiln_restore_keeps_ids_and_avatars_and_adds_nothing_twice() {
    let (dir, mut original) = empty_store();
    let new =
        |thread: &str, parent: Option<i64>, text: &str, email: Option<&str>| store::NewComment {
            page_url: format!("https://kiln.example{thread}"),
            parent,
            email: email.map(str::to_owned),
            ..store::NewComment::sample(thread, "Ada", text)
        };
    original
        .insert(
            &new("/a/", None, "one", Some("ada@kiln.example")),
            Status::Approved,
            100,
        )
        .unwrap()
        .unwrap();
    let gone = original
        .insert(&new("/a/", None, "two", None), Status::Approved, 200)
        .unwrap()
        .unwrap();
    original
        .insert(
            &new("/a/", Some(gone.id), "three", None),
            Status::Approved,
            300,
        )
        .unwrap()
        .unwrap();
    original
        .insert(&new("/b/", None, "four", None), Status::Approved, 400)
        .unwrap()
        .unwrap();
    original.delete(&[gone.id]).unwrap().unwrap();
    let avatars = original.avatar_keys(false).unwrap();
    let export = original.export("default", &avatars).unwrap();
    let file = dir.path().join("export.json");
    std::fs::write(&file, serde_json::to_string(&export).unwrap()).unwrap();
    assert_eq!(Format::detect(&file).unwrap(), Format::Kiln);

    let (_d, mut copy, report) = imported(Format::Kiln, &file, &Options::default());
    assert_eq!(report.added_total(), 4, "{report}");
    let keys = copy.avatar_keys(false).unwrap();
    let copied = copy.export("default", &keys).unwrap();
    assert_eq!(
        copied.threads, export.threads,
        "ids, parents, markers and avatar keys kept"
    );
    second_run_adds_nothing(
        copy.as_mut(),
        Format::Kiln,
        &file,
        &Options::default(),
        &report,
    );
    // Restoring into the database the export came from adds nothing either.
    let again = run(
        original.as_mut(),
        Some(Format::Kiln),
        &file,
        &Options::default(),
        false,
    )
    .unwrap();
    assert_eq!((again.added_total(), again.already), (0, 4), "{again}");
}

#[test]
fn a_taken_id_fails_the_whole_restore() {
    let (dir, mut store) = empty_store();
    let file = dir.path().join("export.json");
    std::fs::write(
        &file,
        r#"{"format":"kiln-export","version":2,"generated_at":"2026-01-01T00:00:00Z","threads":[
            {"id":"/a/","url":"https://kiln.example/a/","comments":[
              {"id":1,"parent":null,"status":"approved","author":"A","website":null,"text":"a","created_at":"2026-01-01T00:00:00Z"}]},
            {"id":"/b/","url":"https://kiln.example/b/","comments":[
              {"id":2,"parent":null,"status":"approved","author":"B","website":null,"text":"b","created_at":"2026-01-01T00:00:00Z"}]}]}"#,
    )
    .unwrap();
    // Comment 2 exists already, and is another comment.
    for text in ["x", "y"] {
        store
            .insert(
                &store::NewComment {
                    page_url: "https://kiln.example/other/".into(),
                    ..store::NewComment::sample("/other/", "Z", text)
                },
                Status::Approved,
                5,
            )
            .unwrap()
            .unwrap();
    }
    let before = published(store.as_mut());
    let err = format!(
        "{:#}",
        run(
            store.as_mut(),
            Some(Format::Kiln),
            &file,
            &Options::default(),
            false
        )
        .unwrap_err()
    );
    assert!(err.contains("comment id 1 is already taken"), "{err}");
    assert_eq!(published(store.as_mut()), before, "nothing half-stored");
}

#[test]
fn an_import_queues_no_mail() {
    let (_dir, mut store) = empty_store();
    // As `kiln serve` has it with mail on: inserts and approvals queue mail.
    store.set_mail_events(true);
    let report = run(
        store.as_mut(),
        None,
        &fixture("wordpress.xml"),
        &Options::default(),
        false,
    )
    .unwrap();
    assert!(report.added_total() > 0, "{report}");
    assert!(store
        .claim_mail(i64::MAX - 1, i64::MAX, "import-test", 100)
        .unwrap()
        .is_empty());
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let (_dir, mut store) = empty_store();
    let report = run(
        store.as_mut(),
        None,
        &fixture("disqus.xml"),
        &Options::default(),
        true,
    )
    .unwrap();
    assert_eq!(report.added_total(), 8, "{report}");
    assert!(
        report
            .to_string()
            .contains("Would import 8 comment(s) from disqus"),
        "{report}"
    );
    assert!(
        report.to_string().contains("Nothing was written"),
        "{report}"
    );
    assert!(published(store.as_mut()).is_empty());
    // And so the real run afterwards adds everything.
    let real = run(
        store.as_mut(),
        None,
        &fixture("disqus.xml"),
        &Options::default(),
        false,
    )
    .unwrap();
    assert_eq!(real.added_total(), 8, "{real}");
}

#[test]
fn every_fixture_is_detected() {
    for (name, format) in [
        ("disqus.xml", Format::Disqus),
        ("wordpress.xml", Format::Wordpress),
        ("wordpress-1.0.xml", Format::Wordpress),
        ("remark42.jsonl", Format::Remark42),
    ] {
        assert_eq!(Format::detect(&fixture(name)).unwrap(), format, "{name}");
    }
    let err = format!("{:#}", Format::detect(&fixture("isso.sql")).unwrap_err());
    assert!(err.contains("cannot tell the format"), "{err}");
}

#[test]
fn map_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.txt");
    std::fs::write(&map, "# old new\n/old/ /new/\n\n/x/ /y/ extra\n").unwrap();
    let err = format!("{:#}", Options::read_map(&map).unwrap_err());
    assert!(err.contains("map.txt, line 4"), "{err}");
    std::fs::write(&map, "/old/ /new/\nhttps://kiln.example/a/ /b/\n").unwrap();
    let read = Options::read_map(&map).unwrap();
    assert_eq!(read.get("/old/").map(String::as_str), Some("/new/"));
    assert_eq!(read.len(), 2);
}

#[test]
fn thread_keys_follow_bake() {
    let site = Options::parse_site_url("https://kiln.example/blog/").unwrap();
    assert_eq!(
        thread_key("https://kiln.example/posts/a/", None).unwrap(),
        "/posts/a/"
    );
    assert_eq!(thread_key("/posts/é/", None).unwrap(), "/posts/%C3%A9/");
    assert_eq!(
        thread_key("/posts/%C3%A9/", None).unwrap(),
        "/posts/%C3%A9/"
    );
    assert_eq!(
        thread_key("http://kiln.example/?p=4", None).unwrap(),
        "/?p=4"
    );
    assert_eq!(
        thread_key("https://www.kiln.example/blog/posts/a/#c1", Some(&site)).unwrap(),
        "/posts/a/"
    );
    assert_eq!(
        thread_key("https://kiln.example/blog", Some(&site)).unwrap(),
        "/"
    );
    assert!(thread_key("https://elsewhere.example/blog/a/", Some(&site)).is_err());
    assert!(thread_key("https://kiln.example/blogroll/", Some(&site)).is_err());
    assert!(thread_key("some-identifier", None).is_err());
    assert!(thread_key("", None).is_err());
}

#[test]
fn wrong_versions_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, mut store) = empty_store();
    let mut refuse = |format: Format, name: &str, body: &str, says: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let err = format!(
            "{:#}",
            run(
                store.as_mut(),
                Some(format),
                &path,
                &Options::default(),
                false
            )
            .unwrap_err()
        );
        assert!(err.contains(name), "{err}");
        assert!(err.contains(says), "{err}");
    };
    refuse(
        Format::Commento,
        "commento.json",
        r#"{"version":2,"comments":[]}"#,
        "`version` is 2",
    );
    refuse(
        Format::Comentario,
        "nover.json",
        r#"{"comments":[]}"#,
        "no `version` field",
    );
    refuse(
        Format::Remark42,
        "backup.jsonl",
        "{\"version\":7}\n",
        "backup version 7",
    );
    refuse(
        Format::Remark42,
        "nometa.jsonl",
        "{\"id\":\"x\"}\n",
        "line 1: the metadata line has no `version`",
    );
    refuse(
        Format::Kiln,
        "newer.json",
        r#"{"format":"kiln-export","version":99,"generated_at":"2026-01-01T00:00:00Z","threads":[]}"#,
        "99",
    );
    refuse(
        Format::Wordpress,
        "rss.xml",
        "<rss version=\"2.0\"><channel/></rss>",
        "not a WordPress export",
    );
}

#[test]
fn a_later_import_answers_an_earlier_one_but_not_what_kiln_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, mut store) = empty_store();
    let line = |id: &str, pid: &str, text: &str, time: &str| {
        format!(
            r#"{{"id":"{id}","pid":"{pid}","text":"<p>{text}</p>","user":{{"name":"{id}"}},"locator":{{"url":"https://kiln.example/a/"}},"time":"{time}"}}"#
        )
    };
    let meta = r#"{"version":1,"users":[],"posts":[]}"#;
    let first = dir.path().join("first.jsonl");
    std::fs::write(
        &first,
        [
            meta,
            &line("p1", "", "one", "2021-01-01T00:00:00Z"),
            &line("p2", "", "two", "2021-01-02T00:00:00Z"),
        ]
        .join("\n"),
    )
    .unwrap();
    let report = run(
        store.as_mut(),
        Some(Format::Remark42),
        &first,
        &Options::default(),
        false,
    )
    .unwrap();
    assert_eq!(report.added_total(), 2, "{report}");
    // A moderator deletes p2 in kiln; a later backup still has it.
    let p2 = by_author(thread(&published(store.as_mut()), "/a/"), "p2").id;
    store.delete(&[p2]).unwrap().unwrap();

    let second = dir.path().join("second.jsonl");
    std::fs::write(
        &second,
        [
            meta,
            &line("p1", "", "one", "2021-01-01T00:00:00Z"),
            &line("p2", "", "two", "2021-01-02T00:00:00Z"),
            &line("r1", "p1", "answers one", "2021-01-03T00:00:00Z"),
            &line("r2", "p2", "answers two", "2021-01-04T00:00:00Z"),
        ]
        .join("\n"),
    )
    .unwrap();
    let report = run(
        store.as_mut(),
        Some(Format::Remark42),
        &second,
        &Options::default(),
        false,
    )
    .unwrap();
    assert_eq!((report.added_total(), report.already), (1, 2), "{report}");
    let t = published(store.as_mut());
    let a = thread(&t, "/a/");
    assert_eq!(by_author(a, "r1").parent, Some(by_author(a, "p1").id));
    assert!(
        a.comments.iter().all(|c| c.author != "p2"),
        "what kiln deleted stays deleted"
    );
    assert!(
        reasons(&report.unplaced).contains("comment r2: its parent p2 is neither in this import"),
        "{report}"
    );
}
