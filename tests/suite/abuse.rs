//! Spam and flood defences against the real receiver: a honeypot hit looks
//! like success and stores nothing; a flood from one address is cut off with
//! 429 while another address still posts; behind a trusted proxy the limit
//! keys on the forwarded client, and forged headers from anyone else are
//! ignored. Refusals are counted per rule on `/metrics`.

use std::time::Duration;

use crate::support::*;

const ORIGIN: &str = "http://blog.test";
const TOKEN: &str = "metrics-token-for-the-abuse-tests";

fn post(
    client: &reqwest::blocking::Client,
    receiver: &Receiver,
    fields: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = client
        .post(format!("{}/comments", receiver.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().expect("POST /comments");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().unwrap())
}

fn metrics(receiver: &Receiver) -> String {
    let resp = http()
        .get(format!("{}/metrics", receiver.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().unwrap()
}

fn client_from(local: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_honeypot_hit_looks_like_success_and_stores_nothing() {
    let (_tmp, receiver) = fresh_receiver(ORIGIN, &[("KILN_SERVER_EXPORT_TOKEN", TOKEN)]);
    let page = format!("{ORIGIN}/posts/a/");
    let bot = [
        ("thread", "/posts/a/"),
        ("url", page.as_str()),
        ("text", "Cheap pills at https://spam.example"),
        ("homepage", "https://spam.example"),
    ];
    let (status, location, _) = post_form(&receiver, &bot);
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{}/posted/", receiver.url)),
        "like a stored comment's: {location}"
    );
    let json = http()
        .post(format!("{}/comments", receiver.url))
        .json(&serde_json::json!({
            "thread": "/posts/a/", "url": page, "text": "spam", "homepage": "x"
        }))
        .send()
        .unwrap();
    assert_eq!(json.status().as_u16(), 201);
    let body: serde_json::Value = json.json().unwrap();
    assert_eq!(body["comment"]["status"], "pending");
    assert_eq!(count_rows(&receiver.db, "comments"), 0, "nothing is stored");

    // A person leaves it empty and is stored.
    let (status, _, _) = post_form(&receiver, &bot[..3]);
    assert_eq!(status, 303);
    assert_eq!(count_rows(&receiver.db, "comments"), 1);

    // The form hides the field from people and screen readers.
    let (status, _, page_html) = post_form(&receiver, &bot[..2]);
    assert_eq!(status, 422);
    let field = page_html
        .split("<div class=\"kiln-hp\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .expect("the error page's form has the honeypot");
    for attr in [
        "aria-hidden=\"true\"",
        "tabindex=\"-1\"",
        "autocomplete=\"off\"",
        "name=\"homepage\"",
    ] {
        assert!(field.contains(attr), "{attr} in {field}");
    }
    let m = metrics(&receiver);
    assert!(
        m.contains("kiln_submissions_refused_total{rule=\"honeypot\"} 2"),
        "{m}"
    );
    assert!(m.contains("kiln_submissions_accepted_total 1"), "{m}");
    assert!(receiver.logs().contains("rule=\"honeypot\""));
}

#[test]
fn a_flood_from_one_address_is_cut_off_and_others_still_post() {
    let (_tmp, receiver) = fresh_receiver(ORIGIN, &[("KILN_SERVER_EXPORT_TOKEN", TOKEN)]);
    let page = format!("{ORIGIN}/posts/flood/");
    let flooder = client_from("127.0.0.1");
    let (mut accepted, mut limited) = (0, 0);
    for i in 0..500 {
        let text = format!("post number {i}");
        let fields = [
            ("thread", "/posts/flood/"),
            ("url", page.as_str()),
            ("text", text.as_str()),
        ];
        // Forged forwarding headers from a peer that is not a trusted proxy
        // change nothing.
        let forged = format!("198.51.100.{}", i % 250);
        let (status, headers, body) = post(&flooder, &receiver, &fields, Some(&forged));
        match status {
            303 => accepted += 1,
            429 => {
                limited += 1;
                if limited == 1 {
                    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!((1..=601).contains(&wait), "Retry-After {wait}");
                    assert!(body.contains("You have posted several comments in a short time"));
                    assert!(body.contains(&text), "the no-JS page keeps the text");
                }
            }
            other => panic!("post {i}: status {other}: {body}"),
        }
    }
    assert_eq!(
        (accepted, limited),
        (10, 490),
        "the default is 10 per 10 minutes"
    );
    assert_eq!(
        count_rows(&receiver.db, "comments"),
        10,
        "nothing stored past the limit"
    );

    // Another address still posts; a JSON client gets the JSON error.
    let other = client_from("127.0.0.2");
    let fields = [
        ("thread", "/posts/flood/"),
        ("url", page.as_str()),
        ("text", "I am someone else"),
    ];
    assert_eq!(post(&other, &receiver, &fields, None).0, 303);
    assert_eq!(count_rows(&receiver.db, "comments"), 11);
    let json = flooder
        .post(format!("{}/comments", receiver.url))
        .json(&serde_json::json!({"thread": "/posts/flood/", "url": page, "text": "again"}))
        .send()
        .unwrap();
    assert_eq!(json.status().as_u16(), 429);
    let body: serde_json::Value = json.json().unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_ip");
    let m = metrics(&receiver);
    assert!(
        m.contains("kiln_submissions_refused_total{rule=\"rate_limit_ip\"} 491"),
        "{m}"
    );
}

#[test]
fn behind_a_trusted_proxy_the_limit_keys_on_the_forwarded_client() {
    let (_tmp, receiver) = fresh_receiver(
        ORIGIN,
        &[
            ("KILN_SPAM_TRUSTED_PROXIES", "127.0.0.1/32"),
            ("KILN_SPAM_POSTS_PER_IP", "3"),
        ],
    );
    let page = format!("{ORIGIN}/posts/proxied/");
    let proxy = client_from("127.0.0.1");
    fn fields<'a>(page: &'a str, text: &'a str) -> [(&'a str, &'a str); 3] {
        [("thread", "/posts/proxied/"), ("url", page), ("text", text)]
    }
    // The client writes its own guess to the left; the proxy appends the
    // address it saw. Only the proxy's entry counts.
    for i in 0..3 {
        let xff = Some("6.6.6.6, 203.0.113.50");
        let text = format!("hello {i}");
        assert_eq!(post(&proxy, &receiver, &fields(&page, &text), xff).0, 303);
    }
    let xff = Some("7.7.7.7, 203.0.113.50");
    assert_eq!(
        post(&proxy, &receiver, &fields(&page, "one more"), xff).0,
        429
    );
    let xff = Some("203.0.113.51");
    assert_eq!(
        post(&proxy, &receiver, &fields(&page, "from next door"), xff).0,
        303
    );
    // `Forwarded` works too.
    let (status, _, _) = {
        let resp = proxy
            .post(format!("{}/comments", receiver.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("forwarded", "for=\"[2001:db8::5]:1234\";proto=https")
            .body(form_body(&fields(&page, "over IPv6")))
            .send()
            .unwrap();
        (resp.status().as_u16(), (), ())
    };
    assert_eq!(status, 303);
    let addrs: Vec<String> = peek(&receiver.db)
        .rows(
            "SELECT DISTINCT remote_addr FROM comments ORDER BY remote_addr",
            &[],
        )
        .iter()
        .map(|r| r[0].text())
        .collect();
    assert_eq!(
        addrs,
        ["2001:db8::", "203.0.113.0"],
        "the forwarded client is stored, anonymized"
    );
}

#[test]
fn each_content_rule_rejects_or_holds_and_the_no_js_page_keeps_the_text() {
    let (_tmp, receiver) = fresh_receiver(
        ORIGIN,
        &[
            ("KILN_SERVER_EXPORT_TOKEN", TOKEN),
            // Published at once unless a rule holds it.
            ("KILN_MODERATION_ENABLED", "false"),
            ("KILN_SPAM_BLOCK_WORDS", "casino"),
            ("KILN_SPAM_BLOCK_EMAILS", "spam.example, bob@example.net"),
            ("KILN_SPAM_BLOCK_IPS", "127.0.0.2"),
            ("KILN_SPAM_BLOCK_WEBSITES", "pills.example"),
            ("KILN_SPAM_BLOCK_WEBSITES_ACTION", "moderate"),
        ],
    );
    let page = format!("{ORIGIN}/posts/rules/");
    let base = [("thread", "/posts/rules/"), ("url", page.as_str())];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let status_of = |text: &str| -> String {
        peek(&receiver.db).query_text(
            "SELECT status FROM comments WHERE text = $1",
            &[text.into()],
        )
    };

    // Rejections: 422, the field named, the text kept, nothing stored.
    let links = "one https://a.example two https://b.example three https://c.example four https://d.example";
    let rejected = [
        (with(&[("text", links)]), "at most 3", links),
        (
            with(&[("text", "hello there"), ("email", "me@mail.spam.example")]),
            "this email address",
            "hello there",
        ),
        (
            with(&[("text", "hello again"), ("email", "BOB@example.net")]),
            "this email address",
            "hello again",
        ),
    ];
    for (fields, reason, text) in &rejected {
        let (status, _, body) = post_form(&receiver, fields);
        assert_eq!(status, 422, "{body}");
        assert!(body.contains(reason), "{reason} in {body}");
        assert!(body.contains(&text.replace('&', "&amp;")), "text kept");
    }
    let blocked_network = client_from("127.0.0.2");
    let (status, _, body) = post(
        &blocked_network,
        &receiver,
        &with(&[("text", "from a blocked network")]),
        None,
    );
    assert_eq!(status, 422);
    assert!(body.contains("Comments from your network are not accepted here"));
    assert!(body.contains("from a blocked network"));
    assert_eq!(count_rows(&receiver.db, "comments"), 0);

    // Held for a moderator although moderation is off.
    for text in [
        "Try the Casino tonight",
        "cheap https://www.pills.example/buy",
    ] {
        let (status, location, _) = post_form(&receiver, &with(&[("text", text)]));
        assert_eq!(status, 303);
        let (back, _) = landing(&receiver, location.as_deref());
        assert!(back.ends_with("#kiln-received"), "{back}");
        assert_eq!(status_of(text), "pending", "{text}");
    }
    // Everything else is published, once: the same text again is refused.
    let ok = with(&[("text", "A fine comment."), ("email", "ann@mail.test")]);
    let (status, location, _) = post_form(&receiver, &ok);
    assert_eq!(status, 303);
    let (back, _) = landing(&receiver, location.as_deref());
    assert!(back.ends_with("#kiln-published"), "{back}");
    assert_eq!(status_of("A fine comment."), "approved");
    let (status, _, body) = post_form(&receiver, &ok);
    assert_eq!(status, 422);
    assert!(body.contains("You have posted this same comment on this page before"));
    assert!(body.contains("A fine comment."));
    // Same text from another address with the same email is still a duplicate.
    let (status, _, _) = post(&client_from("127.0.0.3"), &receiver, &ok, None);
    assert_eq!(status, 422);
    assert_eq!(count_rows(&receiver.db, "comments"), 3);

    let m = metrics(&receiver);
    for line in [
        "kiln_submissions_refused_total{rule=\"too_many_links\"} 1",
        "kiln_submissions_refused_total{rule=\"block_emails\"} 2",
        "kiln_submissions_refused_total{rule=\"duplicate\"} 2",
        "kiln_submissions_held_total{rule=\"block_words\"} 1",
        "kiln_submissions_held_total{rule=\"block_websites\"} 1",
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
    // The blocked network's refusal (which came first) is counted too; the
    // log names each rule.
    assert!(
        m.contains("kiln_submissions_refused_total{rule=\"block_ips\"} 1"),
        "{m}"
    );
    assert!(receiver.logs().contains("rule=\"too_many_links\""));
}

#[test]
fn known_commenters_are_approved_only_when_opted_in() {
    for (opt_in, expected) in [("false", "pending"), ("true", "approved")] {
        let (tmp, receiver) = fresh_receiver(ORIGIN, &[("KILN_SPAM_AUTO_APPROVE_KNOWN", opt_in)]);
        let page = format!("{ORIGIN}/posts/known/");
        let post_as = |text: &str| {
            post_form(
                &receiver,
                &[
                    ("thread", "/posts/known/"),
                    ("url", &page),
                    ("email", "Known@Mail.test"),
                    ("text", text),
                ],
            )
        };
        assert_eq!(post_as("first").0, 303);
        let first_is_pending = kiln_ok(tmp.path(), &["--db", receiver.db.arg(), "queue"]);
        assert!(first_is_pending.contains("first"));
        kiln_ok(tmp.path(), &["--db", receiver.db.arg(), "approve", "1"]);
        let (status, location, _) = post_as("second");
        assert_eq!(status, 303);
        let status = peek(&receiver.db).query_text("SELECT status FROM comments WHERE id = 2", &[]);
        assert_eq!(status, expected, "auto_approve_known = {opt_in}");
        let fragment = if opt_in == "true" {
            "#kiln-published"
        } else {
            "#kiln-received"
        };
        let (back, _) = landing(&receiver, location.as_deref());
        assert!(back.ends_with(fragment), "{back}");
    }
}

/// The value of the hidden input `name` in a page's (first) form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[test]
fn a_post_must_carry_the_token_bake_signed_for_its_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("public");
    if hugo_build("hugo", &public).is_none() {
        return;
    }
    let db = Db::fresh(tmp.path());
    let on = [("KILN_SPAM_FORM_TOKEN", "true")];
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: ORIGIN,
        token: None,
        extra_env: &on,
    });
    // Bake from the database: the key the receiver keeps there signs the
    // forms (no server.secret anywhere).
    let out = kiln_cmd(tmp.path())
        .env("KILN_SPAM_FORM_TOKEN", "true")
        .args(["--db", db.arg(), "bake", "--site-url", ORIGIN])
        .args(["--receiver-url", &receiver.url])
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &str| std::fs::read_to_string(public.join(p)).unwrap();
    let hello = read("posts/hello-world/index.html");
    let second = read("posts/second-post/index.html");
    let (thread, url, token) = (
        hidden(&hello, "thread"),
        hidden(&hello, "url"),
        hidden(&hello, "token"),
    );
    assert!(!token.is_empty(), "the baked form is signed");
    let other_token = hidden(&second, "token");
    assert_ne!(token, other_token);

    let post_with = |token: Option<&str>, text: &str| {
        let mut fields = vec![
            ("thread", thread.as_str()),
            ("url", url.as_str()),
            ("text", text),
        ];
        if let Some(t) = token {
            fields.push(("token", t));
        }
        post_form(&receiver, &fields)
    };
    assert_eq!(post_with(Some(&token), "signed and sealed").0, 303);

    // Missing, for another page, forged, expired: 422 naming the form, the
    // text kept, and a fresh form token that works.
    let key = peek(&db).query_text("SELECT value FROM meta WHERE key = 'secret'", &[]);
    let expired = kiln_bake::signing::Signer::new(key.as_bytes()).sign(
        kiln_bake::render::FORM_TOKEN_PURPOSE,
        &thread,
        Some(1_000_000),
    );
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let cases = [
        (None, "has no form token"),
        (Some(other_token.as_str()), "made for another page"),
        (Some(forged.as_str()), "not made by this site"),
        (Some(expired.as_str()), "has expired"),
    ];
    for (i, (bad, reason)) in cases.into_iter().enumerate() {
        let text = format!("attempt {i} to post");
        let (status, _, page) = post_with(bad, &text);
        assert_eq!(status, 422, "{reason}");
        assert!(page.contains(reason), "{reason} in {page}");
        assert!(page.contains(&text), "the text is kept");
        let fresh = hidden(&page, "token");
        let (status, _, _) = post_with(Some(&fresh), &text);
        assert_eq!(status, 303, "the error page's fresh token works ({reason})");
    }
    assert_eq!(count_rows(&db, "comments"), 5);
    // A JSON client sends the token as a field too.
    let resp = http()
        .post(format!("{}/comments", receiver.url))
        .json(&serde_json::json!({"thread": thread, "url": url, "text": "by JSON", "token": token}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    // Without a key, a bake from an export file refuses to make unsigned forms.
    let export = tmp.path().join("comments.json");
    kiln_ok(
        tmp.path(),
        &["--db", db.arg(), "export", "-o", export.to_str().unwrap()],
    );
    let out = kiln_cmd(tmp.path())
        .env("KILN_SPAM_FORM_TOKEN", "true")
        .args([
            "bake",
            "--from",
            export.to_str().unwrap(),
            "--site-url",
            ORIGIN,
        ])
        .arg(&public)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.secret"));
}

/// The optional script fetches a fresh token when a reader starts writing;
/// a post made with it sooner than `min_fill_seconds` is refused as too
/// fast, and goes through once that time has passed.
#[test]
fn a_fresh_token_refuses_posts_made_faster_than_a_person_writes() {
    let (_tmp, receiver) = fresh_receiver(
        ORIGIN,
        &[
            ("KILN_SPAM_FORM_TOKEN", "true"),
            ("KILN_SPAM_MIN_FILL_SECONDS", "2"),
        ],
    );
    let thread = "/posts/fresh/";
    let page = format!("{ORIGIN}{thread}");
    let resp = http()
        .get(format!("{}/api/token", receiver.url))
        .query(&[("thread", thread)])
        .send()
        .unwrap();
    // Issued by now, in the receiver's whole seconds.
    let issued_by = clock_seconds();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let token = resp.json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = || {
        http()
            .post(format!("{}/comments", receiver.url))
            .json(&serde_json::json!({
                "thread": thread, "url": page, "text": "Written by a person.", "token": token,
            }))
            .send()
            .unwrap()
    };
    let at_once = post();
    assert_eq!(at_once.status().as_u16(), 422);
    let error = at_once.json::<serde_json::Value>().unwrap();
    assert_eq!(error["error"]["code"], "too_fast", "{error}");
    assert_eq!(count_rows(&receiver.db, "comments"), 0);
    // Once it is `min_fill_seconds` (2) old, the same post goes through.
    // (With one second, the post at once above could fall in the next.)
    wait_for_clock(issued_by + 2);
    assert_eq!(post().status().as_u16(), 201);
    // The token is for its thread only.
    let elsewhere = http()
        .post(format!("{}/comments", receiver.url))
        .json(&serde_json::json!({
            "thread": "/posts/other/", "url": format!("{ORIGIN}/posts/other/"),
            "text": "Moved.", "token": token,
        }))
        .send()
        .unwrap();
    assert_eq!(
        elsewhere.json::<serde_json::Value>().unwrap()["error"]["code"],
        "form_token_thread"
    );

    // Without form tokens there is nothing to fetch.
    let (_tmp, plain) = fresh_receiver(ORIGIN, &[]);
    let resp = http()
        .get(format!("{}/api/token?thread=/a/", plain.url))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
