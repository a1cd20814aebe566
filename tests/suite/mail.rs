//! Email end to end, against a real SMTP server on loopback (aiosmtpd, from
//! the tools venv, run by `tests/support/smtp_sink.py`): the moderators'
//! message and its headers, signed links that ask before they act, expired
//! and altered links, double opt-in, reply notifications, one-click
//! unsubscribe, delivery after the SMTP server comes back (and the receiver
//! crashed meanwhile), and `kiln mail test`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const SITE: &str = "http://127.0.0.1:4000";
const PAGE: &str = "http://127.0.0.1:4000/posts/mail/";

/// The venv's Python with aiosmtpd, or `None` after saying why the test does
/// nothing; a panic where tools are required.
fn python_with_aiosmtpd() -> Option<PathBuf> {
    let python = std::env::var_os("KILN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("venv").join("bin").join("python"));
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if tools_required() {
        panic!(
            "aiosmtpd is required but {} cannot import it; run scripts/install-tools",
            python.display()
        );
    }
    eprintln!(
        "NOTICE: aiosmtpd not found; this test did not run. scripts/install-tools installs it."
    );
    None
}

/// The SMTP server process; every accepted message lands in `dir`.
struct Smtp {
    child: Child,
}

impl Smtp {
    fn start(python: &Path, port: u16, dir: &Path) -> Smtp {
        let mut child = Command::new(python)
            .arg(repo_root().join("tests/support/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Smtp { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every message received so far, in order, as the sink decoded it.
fn messages(dir: &Path) -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// Waits until `n` messages have arrived; returns them all.
fn wait_for(dir: &Path, n: usize, secs: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let all = messages(dir);
        if all.len() >= n {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} messages within {secs} s, got {}: {all:#?}",
            all.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn header<'a>(m: &'a Value, name: &str) -> Option<&'a str> {
    m["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
}

fn to(m: &Value) -> String {
    m["rcpt_tos"][0].as_str().unwrap().to_owned()
}

/// The URL on the plain-text line `Label: URL`.
fn link(m: &Value, label: &str) -> String {
    let text = m["text"].as_str().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label:?} link in:\n{text}"))
        .trim()
        .to_owned()
}

fn status_of(db: &Path, id: i64) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT status FROM comments WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

fn query_i64(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn get(url: &str) -> (u16, String) {
    let resp = http().get(url).send().unwrap();
    // The token in the URL must not leak onward or into caches.
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    (resp.status().as_u16(), resp.text().unwrap())
}

fn post(url: &str) -> (u16, String) {
    let resp = http().post(url).send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

/// The title of the page the comments are on, as its baked form sends it.
const TITLE: &str = "Mail & more";

fn comment(receiver: &Receiver, name: &str, email: &str, parent: &str, text: &str, notify: bool) {
    let mut fields = vec![
        ("thread", "/posts/mail/"),
        ("url", PAGE),
        ("parent", parent),
        ("name", name),
        ("email", email),
        ("text", text),
        // What a baked form sends: the page's <title>.
        ("title", TITLE),
    ];
    if notify {
        fields.push(("notify", "on"));
    }
    let (status, location, body) = post_form(receiver, &fields);
    assert_eq!(status, 303, "{body}");
    let (back, _) = landing(receiver, location.as_deref());
    assert_eq!(back, format!("{PAGE}#kiln-received"));
}

/// Approves comment `id` through the moderators' message about it.
fn approve_from_mail(dir: &Path, db: &Path, id: i64) {
    let all = messages(dir);
    let m = all
        .iter()
        .find(|m| {
            to(m) == "mod@example.org"
                && m["text"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("Comment #{id}:"))
        })
        .unwrap_or_else(|| panic!("no moderators' message about #{id}"));
    let (status, body) = post(&link(m, "Approve"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(db, id), "approved");
}

#[test]
fn mail_reaches_moderators_and_subscribers_through_a_real_smtp_server() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let port = free_port();
    let smtp = Smtp::start(&python, port, &inbox);
    let port_text = port.to_string();
    let env = [
        ("KILN_MAIL_HOST", "127.0.0.1"),
        ("KILN_MAIL_PORT", port_text.as_str()),
        ("KILN_MAIL_SECURITY", "plain"),
        ("KILN_MAIL_FROM", "Comments <kiln@example.org>"),
        ("KILN_MAIL_MODERATORS", "mod@example.org"),
    ];
    let db = tmp.path().join("kiln.sqlite3");
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: SITE,
        token: None,
        extra_env: &env,
    });

    // 1. A comment with the reply box ticked: the moderators hear of it, and
    //    the address is asked to confirm (double opt-in).
    comment(
        &receiver,
        "Ann",
        "ann@example.org",
        "",
        "Hello *world* <script>x</script>",
        true,
    );
    let all = wait_for(&inbox, 2, 20);
    let moderators = all.iter().find(|m| to(m) == "mod@example.org").unwrap();
    let confirm = all.iter().find(|m| to(m) == "ann@example.org").unwrap();
    assert_eq!(moderators["content_type"], "multipart/alternative");
    assert_eq!(moderators["mail_from"], "kiln@example.org");
    assert_eq!(
        header(moderators, "From"),
        Some("Comments <kiln@example.org>")
    );
    assert_eq!(header(moderators, "To"), Some("mod@example.org"));
    assert_eq!(
        header(moderators, "Reply-To"),
        Some("Ann <ann@example.org>")
    );
    assert_eq!(
        header(moderators, "Subject"),
        Some(format!("New comment by Ann on {TITLE}").as_str())
    );
    let unsubscribe = header(moderators, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{}/mail/unsubscribe/", receiver.url)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(moderators, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let text = moderators["text"].as_str().unwrap();
    let html = moderators["html"].as_str().unwrap();
    assert!(
        text.contains("> Hello *world* <script>x</script>"),
        "{text}"
    );
    assert!(text.contains("Email: ann@example.org"), "{text}");
    assert!(html.contains("<em>world</em>"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    let approve = link(moderators, "Approve");
    let reject = link(moderators, "Reject");
    assert!(approve.starts_with(&format!("{}/mail/moderate/", receiver.url)));
    assert!(html.contains(&format!("href=\"{approve}\"")), "{html}");
    link(moderators, "Mark as spam");
    assert!(header(confirm, "Subject")
        .unwrap()
        .starts_with("Confirm reply notifications"));
    assert!(header(confirm, "List-Unsubscribe").is_some());

    // 2. Opening the approve link (as a mail scanner would) changes nothing;
    //    the POST from its page approves, and the result links onward.
    let (status, page) = get(&approve);
    assert_eq!(status, 200);
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(page.contains(">Approve</button>"), "{page}");
    assert_eq!(status_of(&db, 1), "pending");
    let (status, page) = post(&approve);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Comment #1 approved"), "{page}");
    assert!(
        page.contains(&format!("href=\"{PAGE}#kiln-comment-1\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"{}/admin\"", receiver.url)),
        "{page}"
    );
    assert_eq!(status_of(&db, 1), "approved");
    // The same link again: nothing left to do, said plainly.
    let (status, page) = post(&approve);
    assert_eq!(status, 409);
    assert!(page.contains("not pending"), "{page}");

    // 3. Altered and expired links are refused with a page saying which.
    let mut tampered = reject.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for url in [&tampered, &reject.replace("/moderate/", "/moderate/00")] {
        let (status, page) = get(url);
        assert_eq!(status, 400, "{url}");
        assert!(page.contains("This link is not valid"), "{page}");
        let (status, _) = post(url);
        assert_eq!(status, 400);
    }
    let secret: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let signer = kiln_receiver::signing::Signer::new(secret.as_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = signer.sign("moderate", "1:reject", Some(now - 60));
    let expired = format!("{}/mail/moderate/{expired}", receiver.url);
    for (status, page) in [get(&expired), post(&expired)] {
        assert_eq!(status, 410);
        assert!(page.contains("This link has expired"), "{page}");
        assert!(page.contains("valid for 7 days"), "{page}");
    }
    assert_eq!(status_of(&db, 1), "approved");

    // 4. A reply before Ann confirmed: nothing is queued for her.
    comment(
        &receiver,
        "Bob",
        "bob@example.org",
        "1",
        "First reply",
        false,
    );
    wait_for(&inbox, 3, 20);
    approve_from_mail(&inbox, &db, 2);
    assert_eq!(
        query_i64(&db, "SELECT count(*) FROM outbox WHERE kind = 'reply'"),
        0
    );

    // 5. Ann confirms (GET asks, POST does), and the next reply reaches her.
    let confirm_url = link(confirm, "Yes, tell me about replies");
    let (status, page) = get(&confirm_url);
    assert_eq!(status, 200);
    assert!(page.contains("ann@example.org"), "{page}");
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM subscribers WHERE confirmed_at IS NOT NULL"
        ),
        0
    );
    let (status, _) = post(&confirm_url);
    assert_eq!(status, 200);
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM subscribers WHERE confirmed_at IS NOT NULL"
        ),
        1
    );
    comment(
        &receiver,
        "Bob",
        "bob@example.org",
        "1",
        "Second **reply**",
        false,
    );
    wait_for(&inbox, 4, 20);
    approve_from_mail(&inbox, &db, 3);
    let all = wait_for(&inbox, 5, 20);
    let to_ann: Vec<&Value> = all.iter().filter(|m| to(m) == "ann@example.org").collect();
    assert_eq!(to_ann.len(), 2, "{all:#?}");
    let reply = to_ann[1];
    assert_eq!(
        header(reply, "Subject"),
        Some(format!("Bob replied to your comment on {TITLE}").as_str())
    );
    assert!(reply["text"]
        .as_str()
        .unwrap()
        .contains("> Second **reply**"));
    assert!(reply["html"]
        .as_str()
        .unwrap()
        .contains("<strong>reply</strong>"));
    assert_eq!(
        link(reply, "Read it on the page"),
        format!("{PAGE}#kiln-comment-3")
    );

    // 6. One-click unsubscribe (RFC 8058): a POST to the header's URL with
    //    the body mail clients send. No more mail to Ann.
    let one_click = header(reply, "List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let resp = http()
        .post(&one_click)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        query_i64(
            &db,
            "SELECT count(*) FROM subscribers WHERE unsubscribed_at IS NOT NULL"
        ),
        1
    );
    comment(
        &receiver,
        "Bob",
        "bob@example.org",
        "1",
        "Third reply",
        false,
    );
    wait_for(&inbox, 6, 20);
    approve_from_mail(&inbox, &db, 4);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM outbox"), 0);
    let all = messages(&inbox);
    assert_eq!(all.iter().filter(|m| to(m) == "ann@example.org").count(), 2);

    // 7. With the SMTP server down the comment is still accepted at once;
    //    the message waits in the outbox and goes out when it is back.
    smtp.stop();
    let started = Instant::now();
    comment(
        &receiver,
        "Cy",
        "",
        "",
        "While the mail server is down",
        false,
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(20);
    while query_i64(
        &db,
        "SELECT count(*) FROM outbox WHERE attempts > 0 AND last_error IS NOT NULL",
    ) == 0
    {
        assert!(Instant::now() < deadline, "no failed attempt recorded");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The log line may trail the database write by a moment.
    while !receiver.logs().contains("will retry") {
        assert!(
            Instant::now() < deadline,
            "the failure is not logged:\n{}",
            receiver.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = receiver.logs();
    assert!(
        !logs.contains("mod@example.org"),
        "addresses stay out of logs"
    );
    // The admin page says mail is failing, and why.
    let admin = admin_page(&receiver, &admin_login(&receiver, tmp.path()));
    assert!(
        admin.contains("could not be sent yet and will be retried"),
        "{admin}"
    );
    assert!(admin.contains("Last error: <code>"), "{admin}");
    // The outbox is in the database: it outlives a crash of the receiver.
    receiver.kill_9();
    let smtp = Smtp::start(&python, port, &inbox);
    let _receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: SITE,
        token: None,
        extra_env: &env,
    });
    let all = wait_for(&inbox, 7, 40);
    assert!(all[6]["text"]
        .as_str()
        .unwrap()
        .contains("> While the mail server is down"));
    assert_eq!(query_i64(&db, "SELECT count(*) FROM outbox"), 0);

    // 8. `kiln mail test` sends at once and reports the server's answer.
    let mut cmd = kiln_cmd(tmp.path());
    cmd.args(["mail", "test", "--to", "ops@example.org", "--db"])
        .arg(&db);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent to ops@example.org"), "{stdout}");
    assert!(stdout.contains("250"), "{stdout}");
    let all = wait_for(&inbox, 8, 10);
    assert_eq!(to(&all[7]), "ops@example.org");
    smtp.stop();
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the test message was not sent"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

/// The reply box in the baked form, ticked by a reader in real headless
/// Chromium (no JavaScript): without an address the form comes back naming
/// the email field; with one, the comment is subscribed and the double
/// opt-in message goes out.
#[test]
fn a_reader_ticks_the_reply_box_in_a_real_browser() {
    use crate::support::browser::{Browser, BrowserOptions};
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    let public = tmp.path().join("public");
    std::fs::create_dir_all(public.join("posts/mail")).unwrap();
    std::fs::create_dir(&inbox).unwrap();
    std::fs::write(
        public.join("posts/mail/index.html"),
        "<!doctype html><title>Mail</title><h1>A post</h1><div data-kiln-thread=\"\"></div>",
    )
    .unwrap();
    let site = StaticSite::serve(&public);
    let port = free_port();
    let _smtp = Smtp::start(&python, port, &inbox);
    let port_text = port.to_string();
    let db = tmp.path().join("kiln.sqlite3");
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &site.url,
        token: None,
        extra_env: &[
            ("KILN_MAIL_HOST", "127.0.0.1"),
            ("KILN_MAIL_PORT", &port_text),
            ("KILN_MAIL_SECURITY", "plain"),
            ("KILN_MAIL_FROM", "kiln@example.org"),
            ("KILN_MAIL_MODERATORS", "mod@example.org"),
        ],
    });
    let db_arg = db.to_str().unwrap();
    kiln_ok(
        tmp.path(),
        &[
            "--db",
            db_arg,
            "bake",
            "--from",
            db_arg,
            "--site-url",
            &site.url,
            "--receiver-url",
            &receiver.url,
            public.to_str().unwrap(),
        ],
    );
    let page = format!("{}/posts/mail/", site.url);
    browser.goto(&page).unwrap();
    assert_eq!(
        browser
            .attr("input[name=notify]", "type")
            .unwrap()
            .as_deref(),
        Some("checkbox")
    );
    browser
        .fill("textarea[name=text]", "Tell me about replies, please.")
        .unwrap();
    browser.fill("input[name=name]", "Dee").unwrap();
    browser.click("input[name=notify]").unwrap();
    browser
        .submit("form.kiln-form button[type=submit]")
        .unwrap();
    let summary = browser.text(".kiln-error-summary").unwrap();
    assert!(summary.contains("email address"), "{summary}");
    assert_eq!(count_rows(&db, "comments"), 0, "nothing stored");

    // The page with the error keeps everything, the ticked box included.
    assert_eq!(
        browser.attr("input[name=notify]", "checked").unwrap(),
        Some(String::new()),
        "the notify box is still ticked"
    );
    browser
        .fill("input[name=email]", "dee@example.org")
        .unwrap();
    browser
        .submit("form.kiln-form button[type=submit]")
        .unwrap();
    back_to_the_page(&browser, &receiver);
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{page}#kiln-received")
    );
    assert_eq!(
        query_i64(&db, "SELECT notify FROM comments WHERE id = 1"),
        1
    );
    let all = wait_for(&inbox, 2, 20);
    let confirm = all.iter().find(|m| to(m) == "dee@example.org").unwrap();
    assert!(header(confirm, "Subject")
        .unwrap()
        .starts_with("Confirm reply notifications"));
}
