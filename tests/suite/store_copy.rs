//! Moving a site to PostgreSQL with `kiln store copy`, and back (issue 13):
//! a real receiver and the moderation commands fill an SQLite database with
//! every kind of row, the real `kiln` binary copies it into a PostgreSQL
//! database of the test's own (`KILN_TEST_DATABASE_URL`; scripts/test
//! starts a server) and from there into a new SQLite file. The three must
//! hold the same rows (the store's per-table counts and SHA-256), and pages
//! baked from the PostgreSQL copy and from the round-tripped file must be
//! byte-identical to pages baked from the original.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use kiln_receiver::store::copy::{tally, Table, Tally};
use kiln_receiver::store::testing::scratch_db;
use kiln_receiver::store::{open_at, Location, Mode};

use crate::support::*;

const SITE: &str = "http://127.0.0.1:4000";

/// A password in the URL that must never be printed. The test cluster
/// trusts its socket, so the server never asks for it.
const PASSWORD: &str = "never-printed-7261";

fn tally_of(location: Location) -> Tally {
    let mut store = open_at(location, Mode::ReadOnly).unwrap();
    tally(store.as_mut()).unwrap()
}

fn comment(receiver: &Receiver, thread: &str, parent: &str, name: &str, email: &str, text: &str) {
    let url = format!("{SITE}{thread}");
    let mut fields = vec![
        ("thread", thread),
        ("url", url.as_str()),
        ("parent", parent),
        ("name", name),
        ("email", email),
        ("text", text),
        ("title", "A page & its “title”"),
    ];
    if !email.is_empty() {
        fields.push(("notify", "on"));
    }
    let (status, _, body) = post_form(receiver, &fields);
    assert_eq!(status, 303, "{body}");
}

/// A built site of two pages with a thread each, for bake.
fn site(dir: &Path) {
    for (page, thread) in [("posts/a", "/posts/a/"), ("posts/b", "/posts/b/")] {
        std::fs::create_dir_all(dir.join(page)).unwrap();
        std::fs::write(
            dir.join(page).join("index.html"),
            format!(
                "<!doctype html><html><head><title>{page}</title></head><body>\
                 <p><span data-kiln-count=\"{thread}\"></span> comments</p>\
                 <div data-kiln-thread=\"{thread}\"></div></body></html>"
            ),
        )
        .unwrap();
    }
}

#[test]
fn a_site_moves_to_postgres_and_back_with_every_row() {
    let Some(pg) = scratch_db() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // SQLite-only: the copy's source is the SQLite file, whatever the run's backend.
    let db = Db::sqlite(dir.join("kiln.sqlite3"));
    let db_arg = db.arg();

    // Mail goes to a port nothing listens on, so it stays in the outbox
    // with its failed attempts.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mail: Vec<(&str, &str)> = vec![
        ("KILN_MAIL_HOST", "127.0.0.1"),
        ("KILN_MAIL_PORT", &closed),
        ("KILN_MAIL_SECURITY", "plain"),
        ("KILN_MAIL_FROM", "Comments <kiln@example.org>"),
        ("KILN_MAIL_MODERATORS", "mod@example.org"),
    ];
    // The receiver is stopped while the commands moderate: its outbox
    // retries write to the file, and SQLite's moderation transactions
    // (deferred) fail rather than wait when a write comes between their
    // read and their write.
    let start = || {
        Receiver::start(ReceiverOptions {
            dir,
            db: &db,
            origin: SITE,
            token: None,
            extra_env: &mail,
        })
    };
    let receiver = start();
    let moderate = |args: &[&str]| {
        let mut all = vec!["--db", db_arg];
        all.extend_from_slice(args);
        kiln_ok_env(dir, &mail, &all)
    };
    let peek = peek(&db);
    let id_of = |text: &str| {
        peek.query_i64("SELECT id FROM comments WHERE text = $1", &[text.into()])
            .to_string()
    };
    comment(
        &receiver,
        "/posts/a/",
        "",
        "Ann",
        "Ann@Example.org",
        "First, *with* emphasis",
    );
    comment(&receiver, "/posts/b/", "", "Bo", "", "A parent to delete");
    comment(&receiver, "/posts/b/", "", "Spammer", "", "Buy things");
    comment(
        &receiver,
        "/posts/b/",
        "",
        "Dee",
        "dee@example.org",
        "Still waiting",
    );
    drop(receiver);
    let (first, parent) = (id_of("First, *with* emphasis"), id_of("A parent to delete"));
    moderate(&["approve", &first, &parent]);
    moderate(&["spam", &id_of("Buy things")]);
    // Ann confirms her opt-in, as the link in the mail (which cannot be
    // delivered here) would; then a reply to her is queued for her.
    peek.execute(
        "UPDATE subscribers SET confirmed_at = created_at WHERE email = $1",
        &["Ann@Example.org".into()],
    );
    let receiver = start();
    comment(
        &receiver,
        "/posts/a/",
        &first,
        "Cy",
        "cy@example.org",
        "A reply to Ann",
    );
    comment(
        &receiver,
        "/posts/b/",
        &parent,
        "Eve",
        "",
        "Keeps its place",
    );
    admin_login(&receiver, dir);
    eventually(
        "a failed delivery in the outbox",
        Duration::from_secs(30),
        || {
            let failed = peek.query_i64(
                "SELECT count(*) FROM outbox WHERE last_error IS NOT NULL",
                &[],
            );
            (failed > 0).then_some(())
        },
    );
    drop(receiver);
    moderate(&[
        "approve",
        &id_of("A reply to Ann"),
        &id_of("Keeps its place"),
    ]);
    moderate(&["delete", &parent]);

    // Every kind of row is there to be copied.
    for (what, sql) in [
        (
            "a deleted marker",
            "SELECT count(*) FROM comments WHERE status = 'deleted'",
        ),
        (
            "spam",
            "SELECT count(*) FROM comments WHERE status = 'spam'",
        ),
        (
            "a pending comment",
            "SELECT count(*) FROM comments WHERE status = 'pending'",
        ),
        (
            "a reply",
            "SELECT count(*) FROM comments WHERE parent_id IS NOT NULL",
        ),
        (
            "reply notifications",
            "SELECT count(*) FROM comments WHERE notify = 1",
        ),
        (
            "a reply notification queued",
            "SELECT count(*) FROM outbox WHERE kind = 'reply'",
        ),
        ("a subscriber", "SELECT count(*) FROM subscribers"),
        ("a session", "SELECT count(*) FROM admin_sessions"),
        (
            "the admin password",
            "SELECT count(*) FROM meta WHERE key = 'admin_password'",
        ),
        (
            "the signing secret",
            "SELECT count(*) FROM meta WHERE key = 'secret'",
        ),
    ] {
        assert!(peek.query_i64(sql, &[]) > 0, "no {what} in the source");
    }

    let url = pg.url.replacen(
        "postgres://kiln@",
        &format!("postgres://kiln:{PASSWORD}@"),
        1,
    );
    assert_ne!(url, pg.url, "the test URL names its user: {}", pg.url);
    let copied = kiln_ok(
        dir,
        &["store", "copy", "--from", "kiln.sqlite3", "--to", &url],
    );
    eprintln!("{copied}");
    assert!(!copied.contains(PASSWORD), "{copied}");
    assert!(copied.contains("Verified:"), "{copied}");
    let source = tally_of(Location::Sqlite(Path::new(db.arg())));
    for table in [
        Table::Threads,
        Table::Comments,
        Table::Subscribers,
        Table::Outbox,
        Table::AdminSessions,
    ] {
        let rows = peek.count_rows(table.name());
        assert_eq!(source.rows(table), rows as u64, "{}", table.name());
        let line = format!("{:<16} {:>9}", table.name(), rows);
        assert!(copied.contains(&line), "no {line:?} in:\n{copied}");
    }

    // Again, and the target is refused: it holds a site now.
    let again = kiln(
        dir,
        &["store", "copy", "--from", "kiln.sqlite3", "--to", &url],
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pass --replace"), "{stderr}");
    assert!(stderr.contains("comments row(s)"), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    let postgres = Location::Postgres {
        url: &pg.url,
        password: "",
    };
    assert_eq!(tally_of(postgres), source, "refused, and unchanged");
    kiln_ok(
        dir,
        &[
            "store",
            "copy",
            "--from",
            "kiln.sqlite3",
            "--to",
            &url,
            "--replace",
        ],
    );

    // And back, into a new SQLite file.
    let back = kiln_ok(
        dir,
        &["store", "copy", "--from", &url, "--to", "back.sqlite3"],
    );
    assert!(
        back.contains("Verified:") && !back.contains(PASSWORD),
        "{back}"
    );
    assert_eq!(tally_of(postgres), source);
    assert_eq!(
        tally_of(Location::Sqlite(&dir.join("back.sqlite3"))),
        source
    );
    let instance = |file: &str| {
        TestDb::sqlite(dir.join(file))
            .query_text("SELECT value FROM meta WHERE key = 'instance'", &[])
    };
    assert_ne!(instance("kiln.sqlite3"), instance("back.sqlite3"));

    // Pages baked from the original, from the PostgreSQL copy and from the
    // copy that went through PostgreSQL are the same, byte for byte.
    let mut baked = Vec::new();
    for (from, out) in [
        ("kiln.sqlite3", "out-original"),
        (url.as_str(), "out-postgres"),
        ("back.sqlite3", "out-back"),
    ] {
        let out = dir.join(out);
        site(&out);
        let said = kiln_ok(
            dir,
            &[
                "bake",
                "--from",
                from,
                "--site-url",
                SITE,
                "--receiver-url",
                "http://127.0.0.1:8080",
                "--state",
                out.with_extension("state").to_str().unwrap(),
                "--quiet",
                out.to_str().unwrap(),
            ],
        );
        assert!(!said.contains(PASSWORD), "{said}");
        baked.push(html_bytes(&out));
    }
    assert_same_html(&baked[0], &baked[1]);
    assert_same_html(&baked[0], &baked[2]);
    let page = String::from_utf8(baked[2]["posts/a/index.html"].clone()).unwrap();
    assert!(
        page.contains("<em>with</em>") && page.contains("A reply to Ann"),
        "{page}"
    );

    // `store migrate` on both kinds of database: nothing left to do.
    let migrated = kiln_ok(dir, &["--db", &url, "store", "migrate"]);
    assert!(
        migrated.contains("up to date") && !migrated.contains(PASSWORD),
        "{migrated}"
    );
    kiln_ok(dir, &["--db", "back.sqlite3", "store", "migrate"]);
}

#[test]
fn a_failed_copy_names_the_row_and_leaves_no_new_file() {
    let Some(pg) = scratch_db() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // SQLite-only: the copy's source is the SQLite file, whatever the run's backend.
    let db = Db::sqlite(dir.join("kiln.sqlite3"));
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: SITE,
        token: None,
        extra_env: &[],
    });
    comment(&receiver, "/posts/a/", "", "Ann", "", "A fine comment");
    comment(&receiver, "/posts/a/", "", "Bo", "", "Another one");
    drop(receiver);
    // A NUL, which SQLite keeps and PostgreSQL cannot store.
    let peek = peek(&db);
    let id = peek.query_i64("SELECT max(id) FROM comments", &[]);
    peek.execute(
        "UPDATE comments SET author = $2 WHERE id = $1",
        &[id.into(), "Bo\0".into()],
    );
    let postgres = Location::Postgres {
        url: &pg.url,
        password: "",
    };
    let out = kiln(
        dir,
        &["store", "copy", "--from", "kiln.sqlite3", "--to", &pg.url],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "comments row id {id} has a NUL character in `author`"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("the target is as it was"), "{stderr}");
    assert_eq!(tally_of(postgres).rows(Table::Comments), 0);

    // Fixed at the source, the same command just works.
    peek.execute(
        "UPDATE comments SET author = 'Bo' WHERE id = $1",
        &[id.into()],
    );
    kiln_ok(
        dir,
        &["store", "copy", "--from", "kiln.sqlite3", "--to", &pg.url],
    );
    assert_eq!(
        tally_of(postgres),
        tally_of(Location::Sqlite(Path::new(db.arg())))
    );

    // A source that cannot be read to the end (text that is not UTF-8,
    // which SQLite does not check): the new file the copy made goes again.
    peek.execute(
        "UPDATE comments SET author = CAST(x'426fff' AS TEXT) WHERE id = $1",
        &[id.into()],
    );
    let out = kiln(
        dir,
        &[
            "store",
            "copy",
            "--from",
            "kiln.sqlite3",
            "--to",
            "new.sqlite3",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read the source"), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read comments row id {id}")),
        "{stderr}"
    );
    assert!(
        !dir.join("new.sqlite3").exists(),
        "the failed copy's file is gone"
    );

    let out = kiln(
        dir,
        &[
            "store",
            "copy",
            "--from",
            "kiln.sqlite3",
            "--to",
            "./kiln.sqlite3",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--from and --to name the same database"),
        "{stderr}"
    );
}
