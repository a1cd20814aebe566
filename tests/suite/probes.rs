//! Regression tests for the holes found by probing a running receiver as an
//! attacker would (issue 15): each test is named after what it fixes, and
//! each failed before its fix.

use crate::support::*;

const SITE: &str = "https://blog.example";
const TYPED: &str = "The words I typed, kept when the page is refused ✓";

/// Page URLs that are not the configured site, in the spellings a browser
/// reads as a foreign origin.
const FOREIGN_URLS: &[&str] = &[
    "https://evil.example/",
    "http:evil.example",
    "http:\\\\evil.example\\",
    "https://blog.example@evil.example/",
    "https://evil.example\\@blog.example/",
    "https://blog.example.evil.example/",
    "//evil.example/",
    "javascript:alert(1)",
];

/// Every URL a page would send a click or a form to that is neither the
/// receiver nor the configured site.
fn foreign_links(html: &str, receiver: &Receiver) -> Vec<String> {
    let own = [format!("{}/", receiver.url), format!("{SITE}/")];
    ["href", "src", "action", "formaction"]
        .iter()
        .flat_map(|attr| attribute_values(html, attr))
        .filter(|v| !(v.starts_with('#') || own.iter().any(|o| v.starts_with(o.as_str()))))
        .collect()
}

#[test]
fn error_page_never_links_to_a_foreign_origin() {
    let (_tmp, receiver) = fresh_receiver(SITE, &[]);
    for url in FOREIGN_URLS {
        let (status, _, html) = post_form(
            &receiver,
            &[("thread", "/t/"), ("url", url), ("text", TYPED)],
        );
        assert_eq!(status, 422, "{url}: refused");
        assert!(html.contains(TYPED), "{url}: the reader's text is shown");
        assert_eq!(
            foreign_links(&html, &receiver),
            Vec::<String>::new(),
            "{url}"
        );
        assert!(
            !html.contains("Back to the page"),
            "{url}: no way back to a page that is not the site's"
        );

        let reply = http()
            .get(format!("{}/reply", receiver.url))
            .query(&[("thread", "/t/"), ("url", url), ("parent", "1")])
            .send()
            .unwrap();
        assert_eq!(
            reply.status().as_u16(),
            400,
            "{url}: the reply link is refused"
        );
        let html = reply.text().unwrap();
        assert_eq!(
            foreign_links(&html, &receiver),
            Vec::<String>::new(),
            "{url}"
        );
    }
    // A refusal for another reason still links back to a page of the site.
    let page = format!("{SITE}/t/");
    let (status, _, html) = post_form(
        &receiver,
        &[
            ("thread", "/t/"),
            ("url", &page),
            ("email", "nope"),
            ("text", TYPED),
        ],
    );
    assert_eq!(status, 422);
    assert!(attribute_values(&html, "href").contains(&page), "{html}");
    assert_eq!(count_rows(&receiver.db, "comments"), 0);
}

#[test]
fn page_urls_with_userinfo_are_refused() {
    let (_tmp, receiver) = fresh_receiver(SITE, &[]);
    for url in [
        "https://user@blog.example/t/",
        "https://user:secret@blog.example/t/",
        "https://:secret@blog.example/t/",
    ] {
        let (status, location, html) = post_form(
            &receiver,
            &[("thread", "/t/"), ("url", url), ("text", TYPED)],
        );
        assert_eq!((status, location), (422, None), "{url}: a form post");
        assert!(html.contains("user name or password"), "{url}: {html}");
        assert!(html.contains(TYPED), "{url}: the reader's text is shown");

        let reply = http()
            .get(format!("{}/reply", receiver.url))
            .query(&[("thread", "/t/"), ("url", url), ("parent", "1")])
            .send()
            .unwrap();
        assert_eq!(reply.status().as_u16(), 400, "{url}: GET /reply");
    }
    assert_eq!(count_rows(&receiver.db, "comments"), 0, "nothing stored");
}

/// The values of `field` in the comments table, in id order.
fn column(db: &Db, field: &str) -> Vec<Option<String>> {
    peek(db)
        .rows(&format!("SELECT {field} FROM comments ORDER BY id"), &[])
        .into_iter()
        .map(|row| row[0].opt_text())
        .collect()
}

/// A comment posted as JSON; returns its edit link.
fn post_json(receiver: &Receiver, fields: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = http()
        .post(format!("{}/comments", receiver.url))
        .json(&fields)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

/// The CSRF token of the admin edit page of comment `id`.
fn admin_csrf(receiver: &Receiver, cookie: &str, id: i64) -> String {
    let html = http()
        .get(format!("{}/admin/comments/{id}", receiver.url))
        .header("cookie", format!("kiln_admin={cookie}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 64].to_owned()
}

/// Posts the admin edit form of comment `id`; returns the status and page.
fn admin_edit(
    receiver: &Receiver,
    cookie: &str,
    id: i64,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let csrf = admin_csrf(receiver, cookie, id);
    let mut fields = fields.to_vec();
    fields.push(("csrf", &csrf));
    let resp = http()
        .post(format!("{}/admin/comments/{id}", receiver.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("kiln_admin={cookie}"))
        .body(form_body(&fields))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

#[test]
fn control_characters_in_name_email_and_website_are_refused_everywhere() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let page = format!("{SITE}/t/");
    let (status, posted) = post_json(
        &receiver,
        serde_json::json!({"thread": "/t/", "url": page, "name": "Ann",
            "email": "ann@example.org", "website": "https://ann.example/", "text": TYPED}),
    );
    assert_eq!(status, 201, "{posted}");
    let edit_url = posted["edit"]["url"].as_str().unwrap().to_owned();
    let cookie = admin_login(&receiver, tmp.path());
    let stored = || {
        (
            column(&receiver.db, "author"),
            column(&receiver.db, "email"),
            column(&receiver.db, "website"),
        )
    };
    let before = stored();

    let forged = "https://ann.example/\r\n\r\nApprove: https://evil.example/approve";
    for (i, (field, value)) in [
        ("website", forged),
        ("website", "https://ann.example/\tx"),
        ("name", "Ann\r\nApprove: https://evil.example/approve"),
        ("name", "Ann\u{1b}[2J"),
        ("email", "ann@example.org\r\nBcc: all@example.org"),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("{field}={value:?}");
        // A new text each time, so no refusal is for a duplicate instead.
        let text = format!("{TYPED} #{i}");
        let mut fields = vec![("thread", "/t/"), ("url", page.as_str()), ("text", &text)];
        fields.push((field, value));

        // A form post: the form again, the field named, the text kept.
        let (status, _, html) = post_form(&receiver, &fields);
        assert_eq!(status, 422, "{what}: form post");
        assert!(
            html.contains("must not contain control characters"),
            "{what}: {html}"
        );
        assert!(html.contains(TYPED), "{what}: the reader's text is kept");

        // A JSON post.
        let json: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let (status, body) = post_json(&receiver, serde_json::Value::Object(json));
        assert_eq!(status, 422, "{what}: JSON post: {body}");
        assert_eq!(body["error"]["field"], field, "{what}: {body}");

        // The commenter's own edit, through the private link.
        let mut edit =
            serde_json::json!({"name": "Ann", "website": "https://ann.example/", "text": TYPED});
        if field != "email" {
            edit[field] = serde_json::json!(value);
            let resp = http().post(&edit_url).json(&edit).send().unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().unwrap();
            assert_eq!(status, 422, "{what}: commenter's edit: {body}");
            assert_eq!(body["error"]["field"], field, "{what}: {body}");
        }

        // A moderator's edit on the admin page.
        let mut admin = vec![
            ("name", "Ann"),
            ("email", "ann@example.org"),
            ("website", "https://ann.example/"),
            ("text", TYPED),
        ];
        admin.retain(|(k, _)| *k != field);
        admin.push((field, value));
        let (status, html) = admin_edit(&receiver, &cookie, 1, &admin);
        assert_eq!(status, 422, "{what}: admin edit");
        assert!(
            html.contains("must not contain control characters"),
            "{what}: {html}"
        );
    }
    assert_eq!(stored(), before, "nothing was stored or changed");
    assert_eq!(count_rows(&receiver.db, "comments"), 1);
}

#[test]
fn admin_login_limit_holds_under_concurrent_attempts() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    // Sets the password (and logs in once, which leaves no failures).
    admin_login(&receiver, tmp.path());
    const ATTEMPTS: usize = 30;
    let start = std::sync::Arc::new(std::sync::Barrier::new(ATTEMPTS));
    let url = format!("{}/admin/login", receiver.url);
    let threads: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let (start, url) = (start.clone(), url.clone());
            std::thread::spawn(move || {
                let client = http();
                let wrong = format!("not the password {i}");
                start.wait();
                client
                    .post(&url)
                    .form(&[("password", wrong.as_str())])
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "at most the limit was checked: {statuses:?}");
    assert_eq!(
        checked + limited,
        ATTEMPTS,
        "the rest were refused: {statuses:?}"
    );
}

#[test]
fn direction_overrides_in_names_are_refused_and_names_are_isolated() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let page = format!("{SITE}/t/");
    let (status, posted) = post_json(
        &receiver,
        serde_json::json!({"thread": "/t/", "url": page, "name": "Ann", "text": TYPED}),
    );
    assert_eq!(status, 201, "{posted}");
    let edit_url = posted["edit"]["url"].as_str().unwrap().to_owned();
    let cookie = admin_login(&receiver, tmp.path());

    for (i, name) in [
        "\u{202e}gnp.exe",
        "Ann \u{202d}evil\u{202c}",
        "\u{2066}x\u{2069}",
        "\u{2067}x",
        "\u{2068}x",
        "\u{202a}x",
        "\u{202b}x",
    ]
    .into_iter()
    .enumerate()
    {
        let text = format!("{TYPED} #{i}");
        let fields = [
            ("thread", "/t/"),
            ("url", page.as_str()),
            ("name", name),
            ("text", text.as_str()),
        ];
        let (status, _, html) = post_form(&receiver, &fields);
        assert_eq!(status, 422, "{name:?}: form post");
        assert!(
            html.contains("text-direction characters"),
            "{name:?}: {html}"
        );
        assert!(html.contains(&text), "{name:?}: the reader's text is kept");

        let (status, body) = post_json(
            &receiver,
            serde_json::json!({"thread": "/t/", "url": page, "name": name, "text": text}),
        );
        assert_eq!(
            (status, &body["error"]["field"]),
            (422, &serde_json::json!("name")),
            "{body}"
        );

        let resp = http()
            .post(&edit_url)
            .json(&serde_json::json!({"name": name, "text": TYPED}))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422, "{name:?}: commenter's edit");

        let (status, html) = admin_edit(&receiver, &cookie, 1, &[("name", name), ("text", TYPED)]);
        assert_eq!(status, 422, "{name:?}: admin edit");
        assert!(
            html.contains("text-direction characters"),
            "{name:?}: {html}"
        );
    }
    assert_eq!(column(&receiver.db, "author"), [Some("Ann".to_owned())]);

    // Wherever the receiver shows a name, it is isolated: even one stored
    // before such names were refused.
    let legacy = "\u{202e}gnp.exe";
    peek(&receiver.db).execute(
        "UPDATE comments SET author = $1, status = 'approved'",
        &[legacy.into()],
    );
    let admin = http()
        .get(format!("{}/admin?status=all", receiver.url))
        .header("cookie", format!("kiln_admin={cookie}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(admin.contains(&format!("<bdi>{legacy}</bdi>")), "{admin}");
    let reply = http()
        .get(format!("{}/reply", receiver.url))
        .query(&[("thread", "/t/"), ("url", page.as_str()), ("parent", "1")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(reply.contains(&format!("<bdi>{legacy}</bdi>")), "{reply}");
}

#[test]
fn receiver_pages_stop_linking_a_site_dropped_from_the_origins() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::fresh(tmp.path());
    let start = |origin: &str| {
        Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin,
            token: None,
            extra_env: &[("KILN_SERVER_SECRET", "a secret that outlives a restart")],
        })
    };
    let page = format!("{SITE}/t/");
    let receiver = start(SITE);
    let (status, posted) = post_json(
        &receiver,
        serde_json::json!({"thread": "/t/", "url": page, "name": "Ann", "text": TYPED}),
    );
    assert_eq!(status, 201, "{posted}");
    let token = posted["edit"]["token"].as_str().unwrap().to_owned();
    let pages = |receiver: &Receiver, cookie: &str| -> Vec<(String, String)> {
        let get = |path: &str| {
            http()
                .get(format!("{}{path}", receiver.url))
                .header("cookie", format!("kiln_admin={cookie}"))
                .send()
                .unwrap()
                .text()
                .unwrap()
        };
        ["/posted/", "/edit/"]
            .iter()
            .map(|p| (p.to_string(), get(&format!("{p}{token}"))))
            .chain(["/admin?status=all", "/admin/comments/1"].map(|p| (p.to_owned(), get(p))))
            .collect()
    };
    let cookie = admin_login(&receiver, tmp.path());
    for (path, html) in pages(&receiver, &cookie) {
        assert!(
            attribute_values(&html, "href")
                .iter()
                .any(|h| h.starts_with(&page)),
            "{path} links to the page while its site is configured: {html}"
        );
    }
    drop(receiver);

    // The site moves; its old pages are shown, but no longer linked.
    let receiver = start("https://new.example");
    let cookie = admin_login(&receiver, tmp.path());
    for (path, html) in pages(&receiver, &cookie) {
        let shows = if path == "/posted/" {
            "Thank you"
        } else {
            "Ann"
        };
        assert!(html.contains(shows), "{path} is still there: {html}");
        assert!(
            !attribute_values(&html, "href")
                .iter()
                .any(|h| h.contains("blog.example") && !h.starts_with(&receiver.url)),
            "{path} links to a site no longer configured: {html}"
        );
    }
}
