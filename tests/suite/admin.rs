//! The admin page in real headless Chromium against the real `kiln serve`,
//! checked in the real SQLite file: no password means no access, logins
//! fail and succeed, one approval and a bulk rejection land in the
//! database, a cross-site form and a token-less POST change nothing, logout
//! ends the session, failed logins are rate limited, and the page fits a
//! phone. Importing an export through the page: previewed, then stored
//! once on confirmation, over HTTP and in Chromium without JavaScript.
//! Plus the command line: `kiln admin set-password`, `spam`, `show`.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

fn status_of(db: &Db, id: i64) -> Option<String> {
    peek(db)
        .row("SELECT status FROM comments WHERE id = $1", &[id.into()])
        .map(|r| r[0].text())
}

fn set_password(dir: &Path, db: &Db, password: &str) -> std::process::Output {
    let mut child = kiln_cmd(dir)
        .args(["--db", db.arg(), "admin", "set-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// Posts a comment as a no-JS browser would; returns nothing, asserts 303.
fn post(receiver: &Receiver, site: &str, thread: &str, name: &str, text: &str) {
    let url = format!("{site}{thread}");
    let (status, _, body) = post_form(
        receiver,
        &[
            ("thread", thread),
            ("url", &url),
            ("name", name),
            ("email", "reader@example.org"),
            ("text", text),
        ],
    );
    assert_eq!(status, 303, "{body}");
}

#[test]
fn a_moderator_clears_the_queue_in_a_real_browser_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Another site on another port: the attacker's page, and the origin
    // comments are posted from.
    let evil_dir = dir.join("site");
    std::fs::create_dir(&evil_dir).unwrap();
    let site = StaticSite::serve(&evil_dir);
    let db = Db::fresh(dir);
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: &site.url,
        token: None,
        extra_env: &[("KILN_ADMIN_LOGIN_FAILURES_PER_IP", "3")],
    });
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    for i in 1..=6 {
        post(
            &receiver,
            &site.url,
            "/posts/a/",
            &format!("Reader {i}"),
            &format!("Comment number {i} with *emphasis* and <script>x()</script>"),
        );
    }
    post(&receiver, &site.url, "/posts/b/", "Zed", "On another page");
    let admin = format!("{}/admin", receiver.url);

    // No password yet: the page says how to set one and grants nothing.
    browser.goto(&admin).unwrap();
    let setup = browser.text("#ka-no-password").unwrap();
    assert!(setup.contains("kiln admin set-password"), "{setup}");
    assert!(!browser.exists("input[type=password]").unwrap());
    assert!(!browser.exists("#ka-list").unwrap());
    let refused = http()
        .post(format!("{admin}/login"))
        .form(&[("password", "")])
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.headers().get("set-cookie").is_none());

    let out = set_password(dir, &db, PASSWORD);
    assert!(out.status.success(), "{out:?}");

    // A wrong password fails; the right one opens the queue.
    browser.goto(&admin).unwrap();
    browser.fill("#ka-password", "not the password").unwrap();
    browser.submit("#ka-login button").unwrap();
    let shots = repo_root().join("target").join("admin-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    browser.screenshot(&shots.join("login-failed.png")).unwrap();
    assert!(browser.text("#ka-message").unwrap().contains("not right"));
    assert!(!browser.exists("#ka-list").unwrap());
    assert_eq!(browser.cookie("kiln_admin").unwrap(), None);

    browser.fill("#ka-password", PASSWORD).unwrap();
    browser.submit("#ka-login button").unwrap();
    assert_eq!(browser.current_url().unwrap(), admin);
    assert_eq!(browser.count(".ka-row").unwrap(), 7, "the whole queue");
    assert_eq!(browser.text("#ka-count-pending b").unwrap(), "7");
    // Newest first, with everything a moderator needs to decide.
    assert_eq!(
        browser.attr(".ka-row", "id").unwrap().as_deref(),
        Some("ka-comment-7")
    );
    let row = "#ka-comment-3";
    assert_eq!(
        browser.text(&format!("{row} .ka-author")).unwrap(),
        "Reader 3"
    );
    assert_eq!(
        browser.text(&format!("{row} .ka-email")).unwrap(),
        "reader@example.org"
    );
    assert_eq!(browser.text(&format!("{row} .ka-ip")).unwrap(), "127.0.0.0");
    // The identicon the published comment will show; one address, one face.
    let avatar = |id: i64| {
        browser
            .run_script(
                "const a = document.querySelector(arguments[0]); return a ? a.outerHTML : null",
                serde_json::json!([format!("#ka-comment-{id} .ka-who svg.kiln-avatar")]),
            )
            .unwrap()
    };
    assert!(avatar(3).is_string(), "row 3 shows an avatar");
    assert_eq!(avatar(3), avatar(7));
    assert_eq!(
        browser.attr(&format!("{row} .ka-page"), "href").unwrap(),
        Some(format!("{}/posts/a/", site.url))
    );
    assert_eq!(
        browser.text(&format!("{row} .ka-text em")).unwrap(),
        "emphasis",
        "the text as bake renders it"
    );
    assert!(
        !browser.exists(&format!("{row} .ka-text script")).unwrap(),
        "and sanitized as bake does"
    );
    let cookie = browser
        .cookie("kiln_admin")
        .unwrap()
        .expect("a session cookie");
    let csrf = browser.value("#ka-list input[name=csrf]").unwrap();
    assert_eq!(csrf.len(), 64);

    // Screenshots to look at (assertions stay on the DOM): desktop, phone.
    browser
        .screenshot(&shots.join("queue-desktop.png"))
        .unwrap();
    browser.set_window_size(390, 844).unwrap();
    browser.goto(&admin).unwrap();
    assert!(
        !browser.scrolls_sideways().unwrap(),
        "the queue fits a phone's width"
    );
    browser.screenshot(&shots.join("queue-phone.png")).unwrap();

    // Approve one comment, from its own row.
    browser
        .submit("#ka-comment-6 button[value='approve:6']")
        .unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "1 comment approved.");
    assert_eq!(status_of(&db, 6).as_deref(), Some("approved"));
    assert!(!browser.exists("#ka-comment-6").unwrap(), "off the queue");

    // Bulk: tick three and reject them.
    for id in [1, 2, 3] {
        browser
            .click(&format!("#ka-comment-{id} input[type=checkbox]"))
            .unwrap();
    }
    browser.submit("#ka-bulk button[value=reject]").unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "3 comments rejected.");
    browser
        .screenshot(&shots.join("after-bulk-phone.png"))
        .unwrap();
    for id in [1, 2, 3] {
        assert_eq!(status_of(&db, id), None, "comment {id} is gone");
    }
    for id in [4, 5, 7] {
        assert_eq!(status_of(&db, id).as_deref(), Some("pending"));
    }
    assert_eq!(browser.text("#ka-count-pending b").unwrap(), "3");
    assert_eq!(browser.text("#ka-count-approved b").unwrap(), "1");

    // Spam by mistake, and back: the spam view offers "Not spam".
    browser
        .submit("#ka-comment-7 button[value='spam:7']")
        .unwrap();
    assert_eq!(status_of(&db, 7).as_deref(), Some("spam"));
    browser.goto(&format!("{admin}?status=spam")).unwrap();
    browser
        .submit("#ka-comment-7 button[value='not-spam:7']")
        .unwrap();
    assert_eq!(
        browser.text("#ka-done").unwrap(),
        "1 comment returned to the queue."
    );
    assert_eq!(status_of(&db, 7).as_deref(), Some("pending"));
    browser.set_window_size(1280, 1024).unwrap();
    browser.goto(&admin).unwrap();

    // Search by author, and the per-thread view.
    browser
        .fill(".ka-search input[name=q]", "Reader 4")
        .unwrap();
    browser.submit(".ka-search button").unwrap();
    assert_eq!(browser.count(".ka-row").unwrap(), 1);
    assert!(browser.exists("#ka-comment-4").unwrap());
    browser.submit("#ka-comment-4 .ka-thread").unwrap();
    assert!(browser.exists("#ka-thread-filter").unwrap());
    let ids: Vec<String> = (0..browser.count(".ka-row").unwrap())
        .map(|i| {
            browser
                .attr(&format!(".ka-row:nth-child({})", i + 1), "id")
                .unwrap()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        ["ka-comment-6", "ka-comment-5", "ka-comment-4"],
        "thread /posts/a/ in every state, without /posts/b/"
    );

    // Edit: re-validated like a submission, then stored with its new HTML.
    browser.goto(&format!("{admin}/comments/4")).unwrap();
    browser.fill("#ka-email", "not an address").unwrap();
    browser.fill("#ka-text", "Edited **text**").unwrap();
    browser.submit("#ka-edit-form button").unwrap();
    assert!(browser.text("#ka-errors").unwrap().contains("Email"));
    browser.screenshot(&shots.join("edit-desktop.png")).unwrap();
    assert_eq!(browser.value("#ka-text").unwrap(), "Edited **text**");
    browser.fill("#ka-email", "").unwrap();
    browser.submit("#ka-edit-form button").unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "The comment was saved.");
    assert_eq!(
        browser.text("#ka-comment-4 .ka-text strong").unwrap(),
        "text"
    );
    let row = peek(&db)
        .row("SELECT text, email FROM comments WHERE id = 4", &[])
        .expect("comment 4");
    let (text, email) = (row[0].text(), row[1].opt_text());
    assert_eq!((text.as_str(), email), ("Edited **text**", None));

    // What is published can be taken back into the queue.
    browser.goto(&format!("{admin}?status=approved")).unwrap();
    assert_eq!(browser.count(".ka-row").unwrap(), 1);
    browser
        .submit("#ka-comment-6 button[value='unpublish:6']")
        .unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "1 comment unpublished.");
    assert_eq!(status_of(&db, 6).as_deref(), Some("pending"));

    // A page on another site posts to the admin page with the moderator's
    // browser: refused, nothing changed.
    std::fs::write(
        evil_dir.join("evil.html"),
        format!(
            r#"<!DOCTYPE html><form method="post" action="{}/act">
<input type="hidden" name="one" value="approve:5">
<button id="go">Win a prize</button></form>"#,
            admin
        ),
    )
    .unwrap();
    browser.goto(&format!("{}/evil.html", site.url)).unwrap();
    browser.submit("#go").unwrap();
    assert!(browser.source().unwrap().contains("Error 403"));
    assert_eq!(status_of(&db, 5).as_deref(), Some("pending"));
    // The same without a browser's headers, with the session cookie but
    // without the token, or with a wrong one: 403 and nothing changed.
    assert_eq!(
        admin_post(&receiver, "/admin/act", &cookie, "one=approve%3A5"),
        403
    );
    let wrong = "0".repeat(64);
    assert_eq!(
        admin_post(
            &receiver,
            "/admin/act",
            &cookie,
            &format!("one=approve%3A5&csrf={wrong}")
        ),
        403
    );
    assert_eq!(status_of(&db, 5).as_deref(), Some("pending"));

    // Logout ends the session: its cookie and token no longer work.
    browser.goto(&admin).unwrap();
    browser.submit("#ka-logout button").unwrap();
    assert!(browser.exists("#ka-login").unwrap());
    assert_eq!(browser.cookie("kiln_admin").unwrap(), None);
    assert_eq!(
        admin_post(
            &receiver,
            "/admin/act",
            &cookie,
            &format!("one=approve%3A5&csrf={csrf}")
        ),
        403
    );
    assert_eq!(status_of(&db, 5).as_deref(), Some("pending"));

    // Failed logins are limited: after three, even the right password waits.
    for _ in 0..3 {
        let r = http()
            .post(format!("{admin}/login"))
            .form(&[("password", "guess")])
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let limited = http()
        .post(format!("{admin}/login"))
        .form(&[("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    assert!(limited.headers().get("set-cookie").is_none());
    assert!(limited.text().unwrap().contains("Too many failed logins"));
    assert!(
        !receiver.logs().contains(PASSWORD) && !receiver.logs().contains("reader@example.org"),
        "no secrets or addresses in the logs"
    );
}

#[test]
fn set_password_spam_and_show_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    let hash = || -> Option<String> {
        peek(&db)
            .row("SELECT value FROM meta WHERE key = 'admin_password'", &[])
            .map(|r| r[0].text())
    };

    let out = set_password(dir, &db, "short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    let out = set_password(dir, &db, PASSWORD);
    assert!(out.status.success(), "{out:?}");
    let stored = hash().expect("a hash is stored");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));
    let help = kiln_ok(dir, &["admin", "set-password", "--help"]);
    assert!(help.contains("standard input"), "{help}");

    let (_site_dir, receiver) = fresh_receiver("https://example.org", &[]);
    let page = "https://example.org/posts/a/";
    let fields = |name: &'static str, text: &'static str| {
        vec![
            ("thread", "/posts/a/"),
            ("url", page),
            ("name", name),
            ("email", "ann@example.org"),
            ("website", "https://ann.example"),
            ("text", text),
        ]
    };
    assert_eq!(
        post_form(&receiver, &fields("Ann", "Buy *cheap* things")).0,
        303
    );
    assert_eq!(post_form(&receiver, &fields("Bob", "A fine post")).0, 303);
    let db = receiver.db.arg().to_owned();
    let run = |args: &[&str]| {
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        kiln(dir, &all)
    };

    let shown = run(&["show", "1"]);
    assert!(shown.status.success());
    let shown = String::from_utf8(shown.stdout).unwrap();
    for expected in [
        "#1",
        "pending",
        "/posts/a/",
        page,
        "Ann",
        "ann@example.org",
        "https://ann.example",
        "127.0.0.0",
        "Buy *cheap* things",
        "<p>Buy <em>cheap</em> things</p>",
    ] {
        assert!(
            shown.contains(expected),
            "show lacks {expected:?}:\n{shown}"
        );
    }

    let out = run(&["spam", "1"]);
    assert!(out.status.success());
    assert_eq!(status_of(&receiver.db, 1).as_deref(), Some("spam"));
    assert!(run(&["approve", "2"]).status.success());
    // Only pending comments can be spam; a refusal changes nothing.
    assert_eq!(status_of(&receiver.db, 2).as_deref(), Some("approved"));
    let out = run(&["spam", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not pending"));
    let out = run(&["not-spam", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not marked as spam"));
    assert!(run(&["not-spam", "1"]).status.success());
    assert_eq!(status_of(&receiver.db, 1).as_deref(), Some("pending"));
    let out = run(&["show", "99"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("99"));
}

#[test]
fn keyboard_shortcuts_work_through_the_queue_when_javascript_is_on() {
    let (tmp, receiver) = fresh_receiver("https://example.org", &[]);
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    // Three texts: the same one again would be refused as a duplicate.
    for name in ["First", "Second", "Third"] {
        let text = format!("Hello from {name}");
        post(&receiver, "https://example.org", "/posts/a/", name, &text);
    }
    let out = set_password(tmp.path(), &receiver.db, PASSWORD);
    assert!(out.status.success(), "{out:?}");
    let admin = format!("{}/admin", receiver.url);
    browser.goto(&admin).unwrap();
    browser.fill("#ka-password", PASSWORD).unwrap();
    browser.submit("#ka-login button").unwrap();

    // The script ran (the page's CSP lets it): the hint shows and the
    // newest comment has the focus.
    assert!(browser.text("#ka-keys").unwrap().contains("approve"));
    let focused = |selector: &str| {
        browser
            .attr(selector, "class")
            .unwrap()
            .unwrap_or_default()
            .contains("ka-focus")
    };
    assert!(focused("#ka-comment-3"));
    browser.press_to_navigate("a").unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "1 comment approved.");
    assert_eq!(status_of(&receiver.db, 3).as_deref(), Some("approved"));

    // j moves down a row; r rejects that one.
    assert!(focused("#ka-comment-2"));
    browser.press("j").unwrap();
    assert!(focused("#ka-comment-1") && !focused("#ka-comment-2"));
    browser.press_to_navigate("r").unwrap();
    assert_eq!(browser.text("#ka-done").unwrap(), "1 comment rejected.");
    assert_eq!(status_of(&receiver.db, 1), None);
    assert_eq!(status_of(&receiver.db, 2).as_deref(), Some("pending"));
}

/// Issue 16: in dark mode the admin page's e-mail field (a commenter's
/// data) is styled like its other fields, not a browser-default white box.
#[test]
fn in_dark_mode_every_admin_field_follows_the_page() {
    let (tmp, receiver) = fresh_receiver("https://example.org", &[]);
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let out = set_password(tmp.path(), &receiver.db, PASSWORD);
    assert!(out.status.success(), "{out:?}");
    browser
        .emulate_media_feature("prefers-color-scheme", "dark")
        .unwrap();
    browser.goto(&format!("{}/admin", receiver.url)).unwrap();
    browser.fill("#ka-password", PASSWORD).unwrap();
    browser.submit("#ka-login button").unwrap();
    let search = ".ka-search input";
    for property in ["background-color", "color", "border-top-color"] {
        assert_eq!(
            browser.css("#ka-person-email", property).unwrap(),
            browser.css(search, property).unwrap(),
            "{property}"
        );
    }
    assert_ne!(
        browser.css("#ka-person-email", "background-color").unwrap(),
        "rgb(255, 255, 255)",
        "not white in dark mode"
    );
}

/// A multipart body as a browser sends the import form (reqwest here has
/// no multipart feature): `csrf` first, then the other fields, the file last.
fn import_body(csrf: &str, format: &str, site_url: &str, name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [("csrf", csrf), ("format", format), ("site_url", site_url)] {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

const BOUNDARY: &str = "kiln-test-boundary-7f3a";

/// Uploads an import as the admin page's form does: (status, page).
fn upload(receiver: &Receiver, cookie: &str, body: Vec<u8>) -> (u16, String) {
    let r = http()
        .post(format!("{}/admin/import", receiver.url))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("kiln_admin={cookie}"))
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn an_export_is_uploaded_previewed_and_imported_once_from_the_admin_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    assert!(set_password(dir, &db, PASSWORD).status.success());
    // The receiver's temp folder, to see uploads kept and deleted.
    let temp = dir.join("tmp");
    std::fs::create_dir(&temp).unwrap();
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: "https://kiln.example",
        token: None,
        extra_env: &[("TMPDIR", temp.to_str().unwrap())],
    });
    let kept = || -> Vec<String> {
        let mut files = Vec::new();
        for folder in std::fs::read_dir(&temp).unwrap() {
            for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
                files.push(file.unwrap().file_name().to_string_lossy().into_owned());
            }
        }
        files
    };
    let admin = format!("{}/admin", receiver.url);
    let login = || {
        let login = http()
            .post(format!("{admin}/login"))
            .form(&[("password", PASSWORD)])
            .send()
            .unwrap();
        let set = login.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set
            .strip_prefix("kiln_admin=")
            .and_then(|s| s.split(';').next())
            .unwrap()
            .to_owned();
        let page = http()
            .get(&admin)
            .header("cookie", format!("kiln_admin={cookie}"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let csrf = input_value(&page, "csrf");
        (cookie, csrf, page)
    };
    let (cookie, csrf, page) = login();
    assert!(page.contains("id=\"ka-import\""), "{page}");
    assert!(page.contains("enctype=\"multipart/form-data\""));
    let comments = || count_rows(&db, "comments");

    // The upload: a dry run's report and a confirm button; nothing stored.
    let source = std::fs::read(repo_root().join("tests/fixtures/import/disqus.xml")).unwrap();
    let (status, preview) = upload(
        &receiver,
        &cookie,
        import_body(
            &csrf,
            "detect",
            "https://kiln.example/",
            "disqus.xml",
            &source,
        ),
    );
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("Would import <b>"), "{preview}");
    assert!(preview.contains("(disqus)"), "{preview}");
    assert!(preview.contains("id=\"ka-import-confirm\""), "{preview}");
    let total: i64 = {
        let at = preview.find("Would import <b>").unwrap() + "Would import <b>".len();
        preview[at..][..preview[at..].find('<').unwrap()]
            .parse()
            .unwrap()
    };
    assert!(total > 0, "{preview}");
    assert_eq!(comments(), 0, "a preview stores nothing");
    let token = input_value(&preview, "token");
    assert_eq!(token.len(), 64);
    assert_eq!(
        kept(),
        vec![token.clone()],
        "the previewed file waits under its token"
    );

    // A wrong CSRF token: refused, still nothing stored, the upload waits.
    let wrong = "0".repeat(64);
    assert_eq!(
        admin_post(
            &receiver,
            "/admin/import/confirm",
            &cookie,
            &format!("token={token}&csrf={wrong}")
        ),
        403
    );
    let (status, _) = upload(
        &receiver,
        &cookie,
        import_body(&wrong, "detect", "", "disqus.xml", &source),
    );
    assert_eq!(status, 403);
    assert_eq!(comments(), 0);
    // Another session, with its own valid token, cannot confirm this upload.
    let (other_cookie, other_csrf, _) = login();
    assert_eq!(
        admin_post(
            &receiver,
            "/admin/import/confirm",
            &other_cookie,
            &format!("token={token}&csrf={other_csrf}")
        ),
        410
    );
    assert_eq!(comments(), 0);

    // Confirmed: exactly the previewed comments are stored, once.
    let done = http()
        .post(format!("{admin}/import/confirm"))
        .header("cookie", format!("kiln_admin={cookie}"))
        .form(&[("csrf", csrf.as_str()), ("token", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    let done = done.text().unwrap();
    assert!(done.contains(&format!("Imported <b>{total}</b>")), "{done}");
    assert!(!done.contains("ka-import-confirm"), "{done}");
    assert_eq!(comments(), total);
    assert!(kept().is_empty(), "deleted once imported: {:?}", kept());
    // The same token again: refused, nothing added.
    let again = http()
        .post(format!("{admin}/import/confirm"))
        .header("cookie", format!("kiln_admin={cookie}"))
        .form(&[("csrf", csrf.as_str()), ("token", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);
    assert!(again.text().unwrap().contains("no longer waiting"));
    assert_eq!(comments(), total);

    // A malformed file: the parser's message with its line, nothing stored.
    let broken = b"<?xml version=\"1.0\"?>\n<disqus xmlns=\"http://disqus.com\">\n<thread dsq:id=\"1\">\n<link>https://kiln.example/a/</link>\n</post>\n</disqus>\n";
    let (status, error) = upload(
        &receiver,
        &cookie,
        import_body(&csrf, "disqus", "", "broken.xml", broken),
    );
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("Nothing was imported"), "{error}");
    assert!(error.contains("broken.xml"), "{error}");
    assert!(error.contains("broken.xml, line 5: ill-formed"), "{error}");
    assert!(
        !error.contains("kiln-admin-import-"),
        "no server path: {error}"
    );
    assert_eq!(comments(), total);

    // One byte over the limit: refused with the limit named.
    let big = vec![b' '; 32 * 1024 * 1024 + 1];
    let (status, error) = upload(
        &receiver,
        &cookie,
        import_body(&csrf, "disqus", "", "big.xml", &big),
    );
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("larger than the 32 MiB"), "{error}");
    assert_eq!(comments(), total);
    assert!(kept().is_empty(), "{:?}", kept());
}

#[test]
fn the_import_form_works_in_a_browser_without_javascript() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    assert!(set_password(dir, &db, PASSWORD).status.success());
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: "https://kiln.example",
        token: None,
        extra_env: &[],
    });
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let admin = format!("{}/admin", receiver.url);
    browser.goto(&admin).unwrap();
    browser.fill("#ka-password", PASSWORD).unwrap();
    browser.submit("#ka-login button").unwrap();
    assert!(browser.exists("#ka-import form").unwrap());
    assert_eq!(browser.value("#ka-import-format").unwrap(), "detect");

    let source = repo_root().join("tests/fixtures/import/disqus.xml");
    browser
        .fill("#ka-import-site", "https://kiln.example/")
        .unwrap();
    browser
        .fill("#ka-import-file", source.to_str().unwrap())
        .unwrap();
    browser.submit("#ka-import button[type=submit]").unwrap();
    let summary = browser.text("#ka-import-summary").unwrap();
    assert!(summary.starts_with("Would import"), "{summary}");
    assert!(summary.contains("disqus.xml (disqus)"), "{summary}");
    let total: i64 = browser
        .text("#ka-import-summary b")
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 0);
    assert_eq!(count_rows(&db, "comments"), 0);

    browser.submit("#ka-import-confirm button").unwrap();
    let summary = browser.text("#ka-import-summary").unwrap();
    assert!(
        summary.starts_with(&format!("Imported {total} comments")),
        "{summary}"
    );
    assert!(!browser.exists("#ka-import-confirm").unwrap());
    assert_eq!(count_rows(&db, "comments"), total);
}
