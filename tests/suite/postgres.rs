//! kiln on PostgreSQL, end to end (issue 13): what the `kiln` binary does
//! with a database on a real PostgreSQL server (the one
//! KILN_TEST_DATABASE_URL names; see receiver/src/store/postgres/scratch.rs
//! for what happens when it names none).

use std::path::Path;

use kiln_receiver::store::testing::TestDb;
use kiln_receiver::store::{Location, Mode, NewComment, Status};

use crate::support::*;

const ORIGIN: &str = "https://blog.example";

/// The same comments, stored the same way at the same times: two threads,
/// a reply, a pending comment and a deleted one kept as a marker.
fn seed(db: &TestDb) {
    let mut store = db.open(Mode::ReadWrite);
    let comment = |thread: &str, parent: Option<i64>, author: &str, text: &str| NewComment {
        page_url: format!("{ORIGIN}{thread}"),
        page_title: "A post".into(),
        parent,
        email: Some(format!("{}@example.org", author.to_lowercase())),
        remote_addr: Some("192.0.2.0".into()),
        ..NewComment::sample(thread, author, text)
    };
    let mut insert = |c: NewComment, status, at| store.insert(&c, status, at).unwrap().unwrap().id;
    let first = insert(
        comment("/posts/a/", None, "Ada", "The *first* comment."),
        Status::Approved,
        1_700_000_000,
    );
    insert(
        comment("/posts/a/", Some(first), "Brian", "A reply to Ada."),
        Status::Approved,
        1_700_000_100,
    );
    insert(
        comment("/posts/a/", None, "Dora", "Still waiting"),
        Status::Pending,
        1_700_000_200,
    );
    let gone = insert(
        comment("/posts/b/", None, "Eve", "Soon deleted"),
        Status::Approved,
        1_700_000_300,
    );
    insert(
        comment("/posts/b/", Some(gone), "Finn", "Answering Eve."),
        Status::Approved,
        1_700_000_400,
    );
    store.delete(&[gone]).unwrap().unwrap();
}

/// A built site of three pages: two posts with a thread, and a list that
/// counts their comments.
fn site(dir: &Path) {
    let page = |path: &str, body: &str| {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            file,
            format!("<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"),
        )
        .unwrap();
    };
    page(
        "index.html",
        r#"<a href="/posts/a/">A</a> <span data-kiln-count="/posts/a/"></span>
           <a href="/posts/b/">B</a> <span data-kiln-count="/posts/b/"></span>"#,
    );
    page("posts/a/index.html", r#"<div data-kiln-thread=""></div>"#);
    page("posts/b/index.html", r#"<div data-kiln-thread=""></div>"#);
}

fn bake(dir: &Path, from: &str, out: &Path) -> std::process::Output {
    kiln_cmd(dir)
        .args(["bake", "--from", from, "--site-url", ORIGIN, "--state"])
        .arg(dir.join(format!(
            "{}.state",
            out.file_name().unwrap().to_string_lossy()
        )))
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_bake_from_postgres_gives_the_pages_a_bake_from_sqlite_gives() {
    let Some(pg) = TestDb::postgres() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = TestDb::sqlite(tmp.path().join("kiln.sqlite3"));
    seed(&sqlite);
    seed(&pg);
    // Avatars are keyed under each database's own salt; `store copy` will
    // carry it over, here it is set by hand.
    let salt = sqlite.query_text("SELECT value FROM meta WHERE key = 'avatar_salt'", &[]);
    pg.execute(
        "UPDATE meta SET value = $1 WHERE key = 'avatar_salt'",
        &[salt.as_str().into()],
    );
    let Location::Postgres { url, .. } = pg.location() else {
        unreachable!("a PostgreSQL TestDb")
    };
    let (from_sqlite, from_pg) = (tmp.path().join("from-sqlite"), tmp.path().join("from-pg"));
    site(&from_sqlite);
    site(&from_pg);
    for (from, out) in [("kiln.sqlite3", &from_sqlite), (url, &from_pg)] {
        let done = bake(tmp.path(), from, out);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let pages = html_bytes(&from_pg);
    assert_same_html(&html_bytes(&from_sqlite), &pages);
    let post = String::from_utf8_lossy(&pages["posts/a/index.html"]).into_owned();
    assert!(post.contains("A reply to Ada."), "{post}");
    assert!(
        !post.contains("Still waiting") && !post.contains("@example.org"),
        "{post}"
    );
    let marker = String::from_utf8_lossy(&pages["posts/b/index.html"]).into_owned();
    assert!(
        marker.contains("Answering Eve.") && !marker.contains("Soon deleted"),
        "{marker}"
    );

    // A second bake finds nothing changed; one after an approval, the page.
    let again = bake(tmp.path(), url, &from_pg);
    assert!(again.status.success());
    assert_same_html(&pages, &html_bytes(&from_pg));
    let mut store = pg.open(Mode::ReadWrite);
    let pending = store.by_status(Status::Pending).unwrap()[0].id;
    store.approve(&[pending], 1_700_000_500).unwrap().unwrap();
    assert!(bake(tmp.path(), url, &from_pg).status.success());
    let post = std::fs::read_to_string(from_pg.join("posts/a/index.html")).unwrap();
    assert!(post.contains("Still waiting"), "{post}");
}

#[test]
fn a_bake_from_postgres_never_shows_the_password() {
    let Some(pg) = TestDb::postgres() else { return };
    drop(pg.open(Mode::ReadWrite));
    let Location::Postgres { url, .. } = pg.location() else {
        unreachable!("a PostgreSQL TestDb")
    };
    let tmp = tempfile::tempdir().unwrap();
    site(tmp.path());
    // The test server trusts its socket, so a password in the URL is
    // accepted and ignored: the bake succeeds, and says nothing of it.
    let with_password = url.replacen("postgres://kiln@", "postgres://kiln:hunter2-secret@", 1);
    assert_ne!(with_password, url);
    let done = bake(tmp.path(), &with_password, tmp.path());
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // A database that does not exist: the error names it, not the password.
    let (base, query) = with_password.split_once('?').unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    let missing = format!("{server}/kiln_no_such_db?{query}");
    let failed = bake(tmp.path(), &missing, tmp.path());
    assert!(!failed.status.success());
    for out in [&done.stdout, &done.stderr, &failed.stdout, &failed.stderr] {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains("hunter2"), "{text}");
    }
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("kiln_no_such_db"), "{stderr}");
}
