//! Commenters' rights from the command line: `kiln export --email` gives one
//! person's data and nobody else's; `kiln forget` removes it, keeping a
//! "deleted" marker where others replied, and leaves other authors alone.

use crate::support::*;

const ORIGIN: &str = "http://blog.test";

#[test]
fn export_and_forget_touch_only_that_persons_data() {
    let (tmp, receiver) = fresh_receiver(ORIGIN, &[]);
    let page = format!("{ORIGIN}/posts/rights/");
    let db = receiver.db.arg().to_owned();
    let cli = |args: &[&str]| {
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        kiln_ok(tmp.path(), &all)
    };
    let post = |email: &str, text: &str, parent: &str| {
        let (status, _, body) = post_form(
            &receiver,
            &[
                ("thread", "/posts/rights/"),
                ("url", &page),
                ("name", "Someone"),
                ("email", email),
                ("text", text),
                ("parent", parent),
            ],
        );
        assert_eq!(status, 303, "{body}");
    };
    post("ann@mail.test", "Ann's first words", "");
    cli(&["approve", "1"]);
    post("bob@mail.test", "Bob answers Ann", "1");
    cli(&["approve", "2"]);
    post("ANN@Mail.test", "Ann's second thought", "");
    post("carol@mail.test", "Carol was here", "");

    let ann: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "Ann@mail.test"])).unwrap();
    let ids: Vec<i64> = ann["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3], "both of Ann's comments, whatever the case");
    assert_eq!(ann["comments"][0]["email"], "ann@mail.test");
    assert_eq!(ann["comments"][0]["client_address"], "127.0.0.0");
    assert_eq!(ann["comments"][1]["status"], "pending");
    let text = ann.to_string();
    assert!(!text.contains("bob@") && !text.contains("carol@") && !text.contains("Bob answers"));

    let out = cli(&["forget", "ann@mail.test"]);
    assert!(
        out.contains("1 comment removed, 1 kept as \"deleted\""),
        "{out}"
    );
    let rows: Vec<(i64, String, String, Option<String>, String)> = peek(&receiver.db)
        .rows(
            "SELECT id, status, author, email, text FROM comments ORDER BY id",
            &[],
        )
        .iter()
        .map(|r| {
            (
                r[0].int(),
                r[1].text(),
                r[2].text(),
                r[3].opt_text(),
                r[4].text(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "deleted".into(), "".into(), None, "".into()),
            (
                2,
                "approved".into(),
                "Someone".into(),
                Some("bob@mail.test".into()),
                "Bob answers Ann".into()
            ),
            (
                4,
                "pending".into(),
                "Someone".into(),
                Some("carol@mail.test".into()),
                "Carol was here".into()
            ),
        ]
    );
    let after: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "ann@mail.test"])).unwrap();
    assert_eq!(after["comments"], serde_json::json!([]));
    // Bob's export is untouched by Ann's forgetting.
    let bob: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "bob@mail.test"])).unwrap();
    assert_eq!(bob["comments"][0]["parent"], 1);

    // Not an address: a clear error, nothing changed.
    let failed = kiln(tmp.path(), &["--db", &db, "forget", "bob"]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("is not an email address"));
    assert_eq!(count_rows(&receiver.db, "comments"), 3);
}

#[test]
fn with_store_ip_off_no_address_is_kept() {
    let (_tmp, receiver) = fresh_receiver(ORIGIN, &[("KILN_PRIVACY_STORE_IP", "false")]);
    let page = format!("{ORIGIN}/posts/private/");
    let (status, _, _) = post_form(
        &receiver,
        &[
            ("thread", "/posts/private/"),
            ("url", &page),
            ("text", "No trace of where I am"),
        ],
    );
    assert_eq!(status, 303);
    let addr = peek(&receiver.db).query_opt_text("SELECT remote_addr FROM comments", &[]);
    assert_eq!(addr, None);
}

/// What a reader's browser loads from a baked page: every `src`, every
/// `<link href>` and the form's action. None may leave the site or the
/// receiver, no page sets a cookie, and no email address is baked. Avatars
/// are drawn inline from a salted key: one address, one avatar on every
/// page; with `privacy.gravatar` on, and only then, they come from Gravatar.
#[test]
fn baked_pages_load_nothing_from_third_parties_and_hold_no_addresses() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let page = served.page("/posts/hello-world/");
    let (status, _, _) = post_form(
        &served.receiver,
        &[
            ("thread", "/posts/hello-world/"),
            ("url", &page),
            ("name", "Ada"),
            ("email", "ada.private@example.org"),
            ("website", "https://ada.example/"),
            (
                "text",
                "See ![a picture](https://tracker.example/pixel.png) and https://ada.example/",
            ),
        ],
    );
    assert_eq!(status, 303);
    let second = served.page("/posts/second-post/");
    for (thread, url, name, email) in [
        (
            "/posts/hello-world/",
            page.as_str(),
            "Ada",
            "bob.private@example.org",
        ),
        (
            "/posts/second-post/",
            second.as_str(),
            "Ada L.",
            " ADA.Private@example.org ",
        ),
    ] {
        let fields = [
            ("thread", thread),
            ("url", url),
            ("name", name),
            ("email", email),
            ("text", "Another comment"),
        ];
        assert_eq!(post_form(&served.receiver, &fields).0, 303);
    }
    served.moderate(&["approve", "1", "2", "3"]);
    served.bake_from(None, "bake-state.json");
    let mut pages = 0;
    for entry in walk(&served.public) {
        if entry.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = std::fs::read_to_string(&entry).unwrap();
        pages += 1;
        assert!(
            !html.to_ascii_lowercase().contains(".private@"),
            "{}: an email address",
            entry.display()
        );
        assert!(
            !html.to_ascii_lowercase().contains("cookie"),
            "{}: something about cookies",
            entry.display()
        );
        assert!(
            !html.contains("gravatar"),
            "{}: Gravatar without privacy.gravatar",
            entry.display()
        );
        let away = loads_from_elsewhere(&served, &html);
        assert!(away.is_empty(), "{}: loads {away:?}", entry.display());
    }
    assert!(pages > 3, "the site was baked");
    let baked = |path: &str| std::fs::read_to_string(served.public.join(path)).unwrap();
    let hello = baked("posts/hello-world/index.html");
    assert!(hello.contains("ada.example"), "the comment is on the page");

    // Identicons, inline: Ada's two comments (one address, two spellings,
    // two pages) share one; Bob's, under the same name, differs.
    let ada = avatar_of(&hello, 1);
    assert!(ada.starts_with("<svg class=\"kiln-avatar\""), "{ada}");
    assert!(ada.contains("aria-hidden=\"true\"") && !ada.contains("style"));
    assert_eq!(avatar_of(&baked("posts/second-post/index.html"), 3), ada);
    assert_ne!(avatar_of(&hello, 2), ada);

    // A comment just posted, still pending, already shows the avatar it
    // will be published with.
    let third = served.page("/posts/third/");
    let answer: serde_json::Value = http()
        .post(format!("{}/comments", served.receiver.url))
        .json(&serde_json::json!({
            "thread": "/posts/third/", "url": third, "name": "Ada",
            "email": "ada.private@example.org", "text": "Pending, for now",
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["comment"]["status"], "pending");
    let pending = answer["html"].as_str().unwrap();
    assert_eq!(avatar_of(pending, 4), ada);
    assert!(!pending.contains(".private@"), "{pending}");

    // Gravatar, opted into: each avatar becomes Gravatar's picture of that
    // address, loaded without a referrer; nothing else on the page moves.
    served.bake_with_env(
        &[("KILN_PRIVACY_GRAVATAR", "true")],
        None,
        "bake-state.json",
    );
    let with_gravatar = baked("posts/hello-world/index.html");
    let picture = |email: &str| {
        use sha2::{Digest, Sha256};
        let hash: String = Sha256::digest(email.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("https://gravatar.com/avatar/{hash}?s=64&amp;d=identicon")
    };
    let img = avatar_of(&with_gravatar, 1);
    assert!(img.starts_with("<img class=\"kiln-avatar\""), "{img}");
    assert!(
        img.contains(&format!("src=\"{}\"", picture("ada.private@example.org"))),
        "{img}"
    );
    for attr in [
        "alt=\"\"",
        "loading=\"lazy\"",
        "referrerpolicy=\"no-referrer\"",
    ] {
        assert!(img.contains(attr), "{attr}: {img}");
    }
    assert!(avatar_of(&with_gravatar, 2).contains(&picture("bob.private@example.org")));
    assert_eq!(
        avatar_of(&baked("posts/second-post/index.html"), 3),
        img,
        "one address, one picture"
    );
    assert_eq!(without_avatars(&with_gravatar), without_avatars(&hello));
    let away = loads_from_elsewhere(&served, &with_gravatar);
    assert_eq!(away.len(), 2, "{away:?}");
    assert!(
        away.iter()
            .all(|v| v.starts_with("https://gravatar.com/avatar/")),
        "{away:?}"
    );
    assert!(!with_gravatar.contains(".private@"));
}

/// The URLs a page loads from anywhere but the site and its receiver.
fn loads_from_elsewhere(served: &ServedSite, html: &str) -> Vec<String> {
    let mut away = Vec::new();
    for (tag, attrs) in all_elements(html) {
        for (name, value) in attrs {
            let loads = name == "src"
                || name == "srcset"
                || name == "action"
                || (tag == "link" && name == "href");
            let v = value.trim();
            let local = !(v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//"))
                || v.starts_with(&served.site.url)
                || v.starts_with(&served.receiver.url);
            if loads && !local {
                away.push(v.to_owned());
            }
        }
    }
    away
}

/// The avatar markup in comment `id`'s author line (`.kiln-meta`, which
/// ends at its permalink).
fn avatar_of(html: &str, id: i64) -> String {
    let at = html
        .find(&format!("id=\"kiln-comment-{id}\""))
        .unwrap_or_else(|| panic!("comment {id} is not in {html}"));
    let header = &html[at..at + html[at..].find("class=\"kiln-permalink\"").unwrap()];
    let start = header
        .find("class=\"kiln-avatar\"")
        .and_then(|i| header[..i].rfind('<'))
        .unwrap_or_else(|| panic!("comment {id} has no avatar: {header}"));
    let end = match header[start..].strip_prefix("<svg") {
        Some(_) => header[start..].find("</svg>").unwrap() + "</svg>".len(),
        None => header[start..].find('>').unwrap() + 1,
    };
    header[start..start + end].to_owned()
}

/// A page with every avatar cut out.
fn without_avatars(html: &str) -> String {
    let mut out = html.to_owned();
    let mut id = 1;
    while out.contains(&format!("id=\"kiln-comment-{id}\"")) {
        let avatar = avatar_of(&out, id);
        out = out.replacen(&avatar, "", 1);
        id += 1;
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every element of a page as (tag, [(attribute, value)]), by a real parser.
fn all_elements(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    use lol_html::{element, HtmlRewriter, Settings};
    let found = std::cell::RefCell::new(Vec::new());
    {
        let settings = Settings::new().append_element_content_handler(element!("*", |el| {
            let attrs = el
                .attributes()
                .iter()
                .map(|a| (a.name(), a.value()))
                .collect();
            found.borrow_mut().push((el.tag_name(), attrs));
            Ok(())
        }));
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        rewriter.write(html.as_bytes()).expect("parse a baked page");
        rewriter.end().expect("parse a baked page");
    }
    found.into_inner()
}

#[test]
fn the_admin_page_exports_and_forgets_an_address_with_its_csrf_token() {
    use std::io::Write;
    let (tmp, receiver) = fresh_receiver(ORIGIN, &[]);
    let page = format!("{ORIGIN}/posts/admin-rights/");
    for (email, text) in [
        ("dora@mail.test", "Dora's words"),
        ("eve@mail.test", "Eve's words"),
    ] {
        let fields = [
            ("thread", "/posts/admin-rights/"),
            ("url", page.as_str()),
            ("email", email),
            ("text", text),
        ];
        assert_eq!(post_form(&receiver, &fields).0, 303);
    }
    let mut child = kiln_cmd(tmp.path())
        .args(["--db", receiver.db.arg(), "admin", "set-password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long enough admin password").unwrap();
    assert!(child.wait().unwrap().success());

    let admin = format!("{}/admin", receiver.url);
    let login = http()
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("password", "a long enough admin password")]))
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = http()
        .get(&admin)
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(html.contains("A commenter's data"));
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).unwrap() + marker.len();
    let csrf = html[at..at + 64].to_owned();
    let person = |fields: &[(&str, &str)]| {
        http()
            .post(format!("{admin}/person"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .unwrap()
    };

    let export = person(&[
        ("csrf", &csrf),
        ("do", "export"),
        ("email", "DORA@mail.test"),
    ]);
    assert_eq!(export.status().as_u16(), 200);
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let data: serde_json::Value = export.json().unwrap();
    assert_eq!(data["comments"].as_array().unwrap().len(), 1);
    assert_eq!(data["comments"][0]["text"], "Dora's words");

    // Without the session's CSRF token nothing happens.
    let refused = person(&[("csrf", "0"), ("do", "forget"), ("email", "dora@mail.test")]);
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(count_rows(&receiver.db, "comments"), 2);
    let bad = person(&[("csrf", &csrf), ("do", "forget"), ("email", "dora")]);
    assert_eq!(bad.status().as_u16(), 400);

    let forgot = person(&[
        ("csrf", &csrf),
        ("do", "forget"),
        ("email", "dora@mail.test"),
    ]);
    assert_eq!(forgot.status().as_u16(), 303);
    assert!(forgot.headers()["location"]
        .to_str()
        .unwrap()
        .contains("done=forget"));
    let left: Vec<String> = peek(&receiver.db)
        .rows("SELECT text FROM comments", &[])
        .iter()
        .map(|r| r[0].text())
        .collect();
    assert_eq!(left, ["Eve's words"]);
}
