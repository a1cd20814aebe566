//! The command line as a user meets it: help that teaches, configuration
//! errors that name the key and exit with 2, and environment overrides.

use crate::support::*;

#[test]
fn help_explains_sources_configuration_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let help = kiln_ok(tmp.path(), &["--help"]);
    for expected in [
        "serve",
        "queue",
        "approve",
        "bake",
        "export",
        "Exit codes",
        "KILN_",
    ] {
        assert!(
            help.contains(expected),
            "kiln --help lacks {expected:?}:\n{help}"
        );
    }
    let bake = kiln_ok(tmp.path(), &["bake", "--help"]);
    for expected in [
        "--from",
        "KILN_TOKEN",
        "data-kiln-thread",
        "data-kiln-count",
        "export JSON file",
    ] {
        assert!(
            bake.contains(expected),
            "kiln bake --help lacks {expected:?}:\n{bake}"
        );
    }
}

#[test]
fn invalid_configuration_names_the_key_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("kiln.toml"),
        "[sites]\norigins = [\"https://example.org/blog\"]\n",
    )
    .unwrap();
    let out = kiln(dir, &["queue"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sites.origins[0]") && stderr.contains("scheme://host"),
        "{stderr}"
    );

    std::fs::write(
        dir.join("kiln.toml"),
        "[server]\nlisten_on = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = kiln(dir, &["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_on"));

    std::fs::remove_file(dir.join("kiln.toml")).unwrap();
    let out = kiln_cmd(dir)
        .args(["serve"])
        .env("KILN_SERVER_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));

    let out = kiln(dir, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit with 2");
}

#[test]
fn a_postgres_url_selects_postgres_and_never_shows_its_password() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://kiln@127.0.0.1:{port}/kiln");
    let with_password = format!("postgresql://kiln:hunter2@127.0.0.1:{port}/kiln");
    // The URL is PostgreSQL, not quietly the SQLite file: the connection it
    // names is refused, and the error says where, without the password.
    let out = kiln_cmd(dir)
        .args(["queue"])
        .env("KILN_DATABASE_URL", &url)
        .env("KILN_DATABASE_PASSWORD", "hunter2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("kiln@127.0.0.1:{port}/kiln (database.url)")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !dir.join("kiln.sqlite3").exists(),
        "no SQLite file was made"
    );

    // `--db` names the database whatever the file and the environment say:
    // a URL is PostgreSQL ...
    std::fs::write(
        dir.join("kiln.toml"),
        "[database]\npath = \"comments.sqlite3\"\n",
    )
    .unwrap();
    let out = kiln_cmd(dir)
        .args(["--db", &with_password, "queue"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(database.url)"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // ... and a path is that SQLite file, even with a URL and a password in
    // the environment.
    let out = kiln_cmd(dir)
        .args(["--db", "other.sqlite3", "queue"])
        .env("KILN_DATABASE_URL", &with_password)
        .env("KILN_DATABASE_PASSWORD", "hunter2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("there is no database at other.sqlite3"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !dir.join("kiln.sqlite3").exists() && !dir.join("comments.sqlite3").exists(),
        "no SQLite file was made"
    );
}

#[test]
fn bake_errors_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = kiln(dir, &["bake", "--from", "missing.sqlite3", "."]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.sqlite3"), "{stderr}");
    let out = kiln(dir, &["bake", "no-such-dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("build the site first"));
}

/// Issue 16: `kiln queue` shows the newest 20 by default and says how many
/// more wait; `--limit` chooses, and `--limit 0` lists every one.
#[test]
fn queue_shows_a_page_and_counts_the_rest() {
    let origin = "http://127.0.0.1:1313";
    let (tmp, receiver) = fresh_receiver(origin, &[("KILN_SPAM_POSTS_PER_IP", "100")]);
    for i in 1..=23 {
        let text = format!("Queued comment number {i}.");
        let fields = [
            ("thread", "/posts/a/"),
            ("url", "http://127.0.0.1:1313/posts/a/"),
            ("text", text.as_str()),
        ];
        assert_eq!(post_form(&receiver, &fields).0, 303);
    }
    let db = receiver.db.arg();
    let shown = |out: &str| {
        (1..=23)
            .filter(|i| out.contains(&format!("Queued comment number {i}.\n")))
            .collect::<Vec<_>>()
    };
    let out = kiln_ok(tmp.path(), &["--db", db, "queue"]);
    assert!(
        out.starts_with("23 pending comment(s), newest first"),
        "{out}"
    );
    assert_eq!(shown(&out), (4..=23).collect::<Vec<_>>(), "the newest 20");
    assert!(
        out.contains(
            "… and 3 older pending comment(s) not shown; `kiln queue --limit 0` lists all."
        ),
        "{out}"
    );
    let out = kiln_ok(tmp.path(), &["--db", db, "queue", "--limit", "5"]);
    assert_eq!(shown(&out), (19..=23).collect::<Vec<_>>());
    assert!(out.contains("… and 18 older"), "{out}");
    let out = kiln_ok(tmp.path(), &["--db", db, "queue", "--limit", "0"]);
    assert_eq!(shown(&out), (1..=23).collect::<Vec<_>>());
    assert!(!out.contains("not shown"), "{out}");
}
