//! Email end to end. Most tests let the receiver write each message as an
//! `.eml` file (`mail.transport = "file"`) and read it back: the moderators'
//! message and its headers, signed links that ask before they act, expired
//! and altered links, double opt-in, reply notifications, one-click
//! unsubscribe, the reply box in a real browser, and `kiln mail test`.
//! A few go through a real SMTP server on loopback (aiosmtpd, from the tools
//! venv, run by `tests/support/smtp_sink.py` on a socket the test bound): a
//! full delivery with its envelope, delivery after the SMTP server comes
//! back (the receiver having crashed meanwhile), and `kiln mail test`
//! reporting the server's answer and its absence.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::mail::*;
use crate::support::*;

const SITE: &str = "http://127.0.0.1:4000";
const PAGE: &str = "http://127.0.0.1:4000/posts/mail/";

/// How long a message may take to arrive: the outbox is woken at once.
const ARRIVES: Duration = Duration::from_secs(20);

/// The settings that make the receiver write its mail into `inbox`.
fn file_mail(inbox: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KILN_MAIL_TRANSPORT", "file".to_owned()),
        ("KILN_MAIL_FILE_DIR", inbox.display().to_string()),
        ("KILN_MAIL_FROM", "Comments <kiln@example.org>".to_owned()),
        ("KILN_MAIL_MODERATORS", "mod@example.org".to_owned()),
    ]
}

/// A receiver for `SITE` in `dir` that writes its mail into `dir/inbox`.
struct Writing {
    /// Holds the directory until the test ends.
    _tmp: tempfile::TempDir,
    inbox: PathBuf,
    db: Db,
    receiver: Receiver,
}

impl Writing {
    fn start() -> Writing {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = inbox_in(tmp.path());
        let db = Db::fresh(tmp.path());
        let env = file_mail(&inbox);
        let receiver = Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin: SITE,
            token: None,
            extra_env: &borrowed(&env),
        });
        Writing {
            _tmp: tmp,
            inbox,
            db,
            receiver,
        }
    }

    fn wait_for(&self, n: usize) -> Vec<Mail> {
        wait_for(n, ARRIVES, || written(&self.inbox))
    }
}

fn status_of(db: &Db, id: i64) -> String {
    peek(db).query_text("SELECT status FROM comments WHERE id = $1", &[id.into()])
}

fn query_i64(db: &Db, sql: &str) -> i64 {
    peek(db).query_i64(sql, &[])
}

/// Waits until every queued message is done with: a message is written or
/// received a moment before the outbox forgets it.
fn outbox_empties(db: &Db) {
    eventually("an empty outbox", ARRIVES, || {
        (query_i64(db, "SELECT count(*) FROM outbox") == 0).then_some(())
    });
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
fn approve_from_mail(all: &[Mail], db: &Db, id: i64) {
    let m = all
        .iter()
        .find(|m| m.to == "mod@example.org" && m.text.contains(&format!("Comment #{id}:")))
        .unwrap_or_else(|| panic!("no moderators' message about #{id}"));
    let (status, body) = post(&m.link("Approve"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(db, id), "approved");
}

#[test]
fn moderators_hear_of_a_comment_through_links_that_ask_first() {
    let w = Writing::start();
    let (receiver, db) = (&w.receiver, &w.db);

    // A comment with the reply box ticked: the moderators hear of it, and
    // the address is asked to confirm (double opt-in).
    comment(
        receiver,
        "Ann",
        "ann@example.org",
        "",
        "Hello *world* <script>x</script>",
        true,
    );
    let all = w.wait_for(2);
    let moderators = all.iter().find(|m| m.to == "mod@example.org").unwrap();
    let confirm = all.iter().find(|m| m.to == "ann@example.org").unwrap();
    assert_eq!(moderators.content_type, "multipart/alternative");
    assert_eq!(
        moderators.header("From"),
        Some("Comments <kiln@example.org>")
    );
    assert_eq!(moderators.header("To"), Some("mod@example.org"));
    assert_eq!(moderators.header("Reply-To"), Some("Ann <ann@example.org>"));
    assert_eq!(
        moderators.header("Subject"),
        Some(format!("New comment by Ann on {TITLE}").as_str())
    );
    let unsubscribe = moderators.header("List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{}/mail/unsubscribe/", receiver.url)),
        "{unsubscribe}"
    );
    assert_eq!(
        moderators.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let (text, html) = (&moderators.text, &moderators.html);
    assert!(
        text.contains("> Hello *world* <script>x</script>"),
        "{text}"
    );
    assert!(text.contains("Email: ann@example.org"), "{text}");
    assert!(html.contains("<em>world</em>"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    let approve = moderators.link("Approve");
    let reject = moderators.link("Reject");
    assert!(approve.starts_with(&format!("{}/mail/moderate/", receiver.url)));
    assert!(html.contains(&format!("href=\"{approve}\"")), "{html}");
    moderators.link("Mark as spam");
    assert!(confirm
        .header("Subject")
        .unwrap()
        .starts_with("Confirm reply notifications"));
    assert!(confirm.header("List-Unsubscribe").is_some());

    // Opening the approve link (as a mail scanner would) changes nothing;
    // the POST from its page approves, and the result links onward.
    let (status, page) = get(&approve);
    assert_eq!(status, 200);
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(page.contains(">Approve</button>"), "{page}");
    assert_eq!(status_of(db, 1), "pending");
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
    assert_eq!(status_of(db, 1), "approved");
    // The same link again: nothing left to do, said plainly.
    let (status, page) = post(&approve);
    assert_eq!(status, 409);
    assert!(page.contains("not pending"), "{page}");

    // Altered and expired links are refused with a page saying which.
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
    let secret = peek(db).query_text("SELECT value FROM meta WHERE key = 'secret'", &[]);
    let signer = kiln_receiver::signing::Signer::new(secret.as_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = signer.sign("moderate", "1:reject", Some(now - 60));
    let expired = format!("{}/mail/moderate/{expired}", receiver.url);
    for (status, page) in [get(&expired), post(&expired)] {
        assert_eq!(status, 410);
        assert!(page.contains("This link has expired"), "{page}");
        assert!(page.contains("valid for 7 days"), "{page}");
    }
    assert_eq!(status_of(db, 1), "approved");
}

#[test]
fn reply_notifications_are_double_opt_in_and_stop_with_one_click() {
    let w = Writing::start();
    let (receiver, db) = (&w.receiver, &w.db);
    comment(receiver, "Ann", "ann@example.org", "", "Hello", true);
    let all = w.wait_for(2);
    let confirm_url = all
        .iter()
        .find(|m| m.to == "ann@example.org")
        .unwrap()
        .link("Yes, tell me about replies");
    approve_from_mail(&all, db, 1);

    // A reply before Ann confirmed: nothing is queued for her.
    comment(
        receiver,
        "Bob",
        "bob@example.org",
        "1",
        "First reply",
        false,
    );
    approve_from_mail(&w.wait_for(3), db, 2);
    assert_eq!(
        query_i64(db, "SELECT count(*) FROM outbox WHERE kind = 'reply'"),
        0
    );

    // Ann confirms (GET asks, POST does), and the next reply reaches her.
    let confirmed = "SELECT count(*) FROM subscribers WHERE confirmed_at IS NOT NULL";
    let (status, page) = get(&confirm_url);
    assert_eq!(status, 200);
    assert!(page.contains("ann@example.org"), "{page}");
    assert_eq!(query_i64(db, confirmed), 0);
    let (status, _) = post(&confirm_url);
    assert_eq!(status, 200);
    assert_eq!(query_i64(db, confirmed), 1);
    comment(
        receiver,
        "Bob",
        "bob@example.org",
        "1",
        "Second **reply**",
        false,
    );
    approve_from_mail(&w.wait_for(4), db, 3);
    let all = w.wait_for(5);
    let to_ann: Vec<&Mail> = all.iter().filter(|m| m.to == "ann@example.org").collect();
    assert_eq!(to_ann.len(), 2, "{all:#?}");
    let reply = to_ann[1];
    assert_eq!(
        reply.header("Subject"),
        Some(format!("Bob replied to your comment on {TITLE}").as_str())
    );
    assert!(reply.text.contains("> Second **reply**"), "{}", reply.text);
    assert!(
        reply.html.contains("<strong>reply</strong>"),
        "{}",
        reply.html
    );
    assert_eq!(
        reply.link("Read it on the page"),
        format!("{PAGE}#kiln-comment-3")
    );

    // One-click unsubscribe (RFC 8058): a POST to the header's URL with the
    // body mail clients send. No more mail to Ann.
    let one_click = reply
        .header("List-Unsubscribe")
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
            db,
            "SELECT count(*) FROM subscribers WHERE unsubscribed_at IS NOT NULL"
        ),
        1
    );
    comment(
        receiver,
        "Bob",
        "bob@example.org",
        "1",
        "Third reply",
        false,
    );
    approve_from_mail(&w.wait_for(6), db, 4);
    outbox_empties(db);
    let all = written(&w.inbox);
    assert_eq!(all.iter().filter(|m| m.to == "ann@example.org").count(), 2);
}

#[test]
fn kiln_mail_test_writes_its_message_with_the_file_transport() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = inbox_in(tmp.path());
    let db = Db::fresh(tmp.path());
    let env = file_mail(&inbox);
    let args = ["mail", "test", "--to", "ops@example.org", "--db"];
    let mut cmd = kiln_cmd(tmp.path());
    cmd.args(args).arg(db.arg()).envs(borrowed(&env));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = written(&inbox);
    assert_eq!(all.len(), 1, "the message is written at once");
    assert_eq!(all[0].to, "ops@example.org");
    assert_eq!(all[0].header("Subject"), Some("kiln: test message"));
    assert!(all[0].header("List-Unsubscribe").is_some());
    assert!(
        all[0]
            .text
            .contains(&format!("through the directory {}", inbox.display())),
        "{}",
        all[0].text
    );
    assert!(
        stdout.starts_with(&format!(
            "sent to ops@example.org through the directory {0}: written to {0}/",
            inbox.display()
        )),
        "{stdout}"
    );

    // A directory that is not there is named before anything is sent.
    let missing = tmp.path().join("missing");
    let out = kiln_cmd(tmp.path())
        .args(args)
        .arg(db.arg())
        .envs(borrowed(&env))
        .env("KILN_MAIL_FILE_DIR", &missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("`mail.file_dir`"), "{stderr}");
}

/// The real SMTP conversation: the envelope, the encoded parts as a mail
/// client decodes them, and what happens while the server is down.
#[test]
fn mail_goes_out_over_real_smtp_and_waits_out_an_outage() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = inbox_in(tmp.path());
    let smtp = Smtp::start(&python, &inbox);
    let db = Db::fresh(tmp.path());
    let receiver = receiver_mailing_to(&smtp, tmp.path(), &db, SITE, None);

    // A full delivery: the moderators' message and the confirmation, each
    // in its own envelope from the configured sender.
    comment(
        &receiver,
        "Ann",
        "ann@example.org",
        "",
        "Hello *world* <script>x</script>",
        true,
    );
    let all = wait_for(2, ARRIVES, || received(&inbox));
    let moderators = all.iter().find(|m| m.to == "mod@example.org").unwrap();
    let confirm = all.iter().find(|m| m.to == "ann@example.org").unwrap();
    assert_eq!(
        moderators.envelope_from.as_deref(),
        Some("kiln@example.org")
    );
    assert_eq!(confirm.envelope_from.as_deref(), Some("kiln@example.org"));
    assert_eq!(moderators.content_type, "multipart/alternative");
    assert_eq!(
        moderators.header("From"),
        Some("Comments <kiln@example.org>")
    );
    assert_eq!(moderators.header("Reply-To"), Some("Ann <ann@example.org>"));
    assert!(
        moderators
            .text
            .contains("> Hello *world* <script>x</script>"),
        "{}",
        moderators.text
    );
    assert!(
        moderators.html.contains("<em>world</em>"),
        "{}",
        moderators.html
    );
    assert!(confirm
        .header("Subject")
        .unwrap()
        .starts_with("Confirm reply notifications"));
    // Each message is named after its outbox row and attempt, so that one
    // sent twice (the receiver dying between the server's answer and the
    // outbox's record of it) is recognisable as one.
    let instance = peek(&db).query_text("SELECT value FROM meta WHERE key = 'instance'", &[]);
    assert_eq!(
        moderators.header("Message-ID"),
        Some(format!("<kiln.{instance}.1.1@example.org>").as_str())
    );
    assert_eq!(
        confirm.header("Message-ID"),
        Some(format!("<kiln.{instance}.2.1@example.org>").as_str())
    );

    // With the SMTP server down the comment is still accepted at once; the
    // message waits in the outbox.
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
    eventually("a failed attempt in the outbox", ARRIVES, || {
        let failed = query_i64(
            &db,
            "SELECT count(*) FROM outbox WHERE attempts > 0 AND last_error IS NOT NULL",
        );
        (failed > 0).then_some(())
    });
    // The log line may trail the database write by a moment.
    let logs = eventually("the failure in the log", ARRIVES, || {
        let logs = receiver.logs();
        logs.contains("will retry").then_some(logs)
    });
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

    // The outbox is in the database: it outlives a crash of the receiver,
    // and goes out once a server answers (on a new port; the restarted
    // receiver is told).
    receiver.kill_9();
    let smtp = Smtp::start(&python, &inbox);
    let _receiver = receiver_mailing_to(&smtp, tmp.path(), &db, SITE, None);
    let all = wait_for(3, Duration::from_secs(40), || received(&inbox));
    assert!(
        all[2].text.contains("> While the mail server is down"),
        "{}",
        all[2].text
    );
    // A later attempt at the same row: a new name, since the failed ones
    // never arrived.
    let id = all[2].header("Message-ID").unwrap();
    let attempt = id
        .strip_prefix(&format!("<kiln.{instance}.3."))
        .and_then(|rest| rest.strip_suffix("@example.org>"))
        .and_then(|n| n.parse::<u32>().ok());
    assert!(attempt.is_some_and(|n| n > 1), "{id}");
    outbox_empties(&db);
}

/// `kiln mail test` sends at once and reports the SMTP server's answer, or
/// that there was none, naming the server.
#[test]
fn kiln_mail_test_reports_the_smtp_servers_answer() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = inbox_in(tmp.path());
    let smtp = Smtp::start(&python, &inbox);
    let (port, env) = (smtp.port, smtp.env());
    let db = Db::fresh(tmp.path());
    let mut cmd = kiln_cmd(tmp.path());
    cmd.args(["mail", "test", "--to", "ops@example.org", "--db"])
        .arg(db.arg())
        .envs(borrowed(&env));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent to ops@example.org"), "{stdout}");
    assert!(stdout.contains("250"), "{stdout}");
    let all = wait_for(1, Duration::from_secs(10), || received(&inbox));
    assert_eq!(all[0].to, "ops@example.org");
    assert_eq!(all[0].header("Subject"), Some("kiln: test message"));
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
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = inbox_in(tmp.path());
    let public = tmp.path().join("public");
    std::fs::create_dir_all(public.join("posts/mail")).unwrap();
    std::fs::write(
        public.join("posts/mail/index.html"),
        "<!doctype html><title>Mail</title><h1>A post</h1><div data-kiln-thread=\"\"></div>",
    )
    .unwrap();
    let site = StaticSite::serve(&public);
    let db = Db::fresh(tmp.path());
    let env = file_mail(&inbox);
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &site.url,
        token: None,
        extra_env: &borrowed(&env),
    });
    let db_arg = db.arg();
    // Bake shares the receiver's settings, as it does through one kiln.toml:
    // they say that mail is on, so the form offers the reply box.
    kiln_ok_env(
        tmp.path(),
        &borrowed(&env),
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
    let all = wait_for(2, ARRIVES, || written(&inbox));
    let confirm = all.iter().find(|m| m.to == "dee@example.org").unwrap();
    assert!(confirm
        .header("Subject")
        .unwrap()
        .starts_with("Confirm reply notifications"));
}

/// Issue 16, item 5: the "Email me when someone replies" box is offered
/// only by a receiver that sends mail, and bake knows it from its source:
/// the export API (`mail` in the export), or, baking from the database
/// file, the receiver's own `[mail]` settings. The form the receiver shows
/// again after an error follows the same rule; the rest of the form stays.
#[test]
fn the_notify_box_is_offered_only_when_the_receiver_sends_mail() {
    const TOKEN: &str = "notify-box-export-token";
    for mail_on in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = inbox_in(tmp.path());
        let env: Vec<(&str, String)> = if mail_on {
            file_mail(&inbox)
        } else {
            Vec::new()
        };
        let env_refs = borrowed(&env);
        let db = Db::fresh(tmp.path());
        let receiver = Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin: SITE,
            token: Some(TOKEN),
            extra_env: &env_refs,
        });
        let has_box = |html: &str| html.contains("name=\"notify\"");

        let out = tmp.path().join("public");
        std::fs::create_dir_all(out.join("posts/mail")).unwrap();
        let page = out.join("posts/mail/index.html");
        let blank = "<!DOCTYPE html><html><head><title>M</title></head><body><div data-kiln-thread></div></body></html>";
        // The blank page, baked by `bake` (a `kiln bake` command).
        let baked = |bake: &mut std::process::Command| {
            std::fs::write(&page, blank).unwrap();
            let run = bake.output().unwrap();
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            std::fs::read_to_string(&page).unwrap()
        };
        // From the export API: the export says.
        let html = baked(
            kiln_cmd(tmp.path())
                .args(["bake", "--site-url", SITE, "--from", &receiver.url])
                .arg(&out)
                .env("KILN_TOKEN", TOKEN)
                .env("XDG_CACHE_HOME", tmp.path().join("cache")),
        );
        assert_eq!(
            has_box(&html),
            mail_on,
            "baked from the export API, mail {mail_on}"
        );
        assert!(html.contains("name=\"text\""));

        // From the database file: the receiver's settings (here, the same
        // environment) say.
        let html = baked(
            kiln_cmd(tmp.path())
                .args(["bake", "--full", "--site-url", SITE, "--from"])
                .arg(db.arg())
                .arg(&out)
                .env("XDG_CACHE_HOME", tmp.path().join("cache"))
                .envs(env_refs.iter().copied()),
        );
        assert_eq!(
            has_box(&html),
            mail_on,
            "baked from the database, mail {mail_on}"
        );

        // The form shown again after an error.
        let (status, _, body) = post_form(
            &receiver,
            &[("thread", "/posts/mail/"), ("url", PAGE), ("text", "")],
        );
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("name=\"text\""), "{body}");
        assert_eq!(
            has_box(&body),
            mail_on,
            "the form shown again, mail {mail_on}"
        );
    }
}
