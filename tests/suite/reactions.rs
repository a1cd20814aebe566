//! Likes (`[reactions]`, issue 18) on a real Hugo site in real headless
//! Chromium. With JavaScript off a reader likes a comment on the baked page
//! and lands back on it (303), the re-bake changes that page only and shows
//! a count of 1, and a second like
//! from the same reader is not counted; with JavaScript on, the count
//! changes in place without leaving the page. Over plain HTTP, the likes
//! that must be refused are: a forged token, a token for another page, an
//! unknown or pending comment, a page on another site (never redirected
//! to), and one past the like limit (429). And a receiver that publishes
//! in place shows a like's count without anyone baking, and the script tops
//! up a baked page's counts from `GET /api/likes`. Runs on either
//! backend (`KILN_TEST_BACKEND`).

use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const THREAD: &str = "/posts/hello-world/";

/// Likes on, forms signed, and room for the likes the browsers make.
const ENV: &[(&str, &str)] = &[
    ("KILN_REACTIONS_ENABLED", "true"),
    ("KILN_SPAM_FORM_TOKEN", "true"),
];

/// The signed form token baked into `path`'s comment form.
fn baked_token(served: &ServedSite, path: &str) -> String {
    let html = std::fs::read_to_string(
        served
            .public
            .join(path.trim_start_matches('/'))
            .join("index.html"),
    )
    .unwrap();
    let start = html
        .find(r#"name="token" value=""#)
        .unwrap_or_else(|| panic!("no form token in {path}"))
        + r#"name="token" value=""#.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    assert!(!token.is_empty(), "the form is signed");
    token.to_owned()
}

/// Posts comments by Ada (`texts[0]`), Bo, … through the signed form;
/// their ids are 1, 2, ….
fn post_comments(served: &ServedSite, texts: &[&str]) {
    let token = baked_token(served, THREAD);
    let page = served.page(THREAD);
    for (text, name) in texts.iter().zip(["Ada", "Bo", "Cy"]) {
        let (status, _, body) = post_form(
            &served.receiver,
            &[
                ("thread", THREAD),
                ("url", &page),
                ("name", name),
                ("text", text),
                ("token", &token),
            ],
        );
        assert_eq!(status, 303, "{body}");
    }
}

fn likes(browser: &Browser, id: i64) -> String {
    browser
        .text(&format!("#kiln-comment-{id} .kiln-likes"))
        .unwrap()
}

#[test]
fn a_like_without_javascript_counts_once_and_with_javascript_changes_in_place() {
    let Some(served) = ServedSite::start_with(ENV) else {
        return;
    };
    let Some(off) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap() else {
        return;
    };
    let db = &served.db;
    let bake = || served.bake_with_env(ENV, None, "state.bin");
    bake();
    post_comments(
        &served,
        &[
            "Liked without JavaScript.",
            "Liked with JavaScript.",
            "Waiting.",
        ],
    );
    served.moderate(&["approve", "1"]);
    served.moderate(&["approve", "2"]);
    bake();
    let page = served.page(THREAD);

    off.goto(&page).unwrap();
    assert_eq!(likes(&off, 1), "0");
    assert_eq!(
        off.count("form.kiln-like").unwrap(),
        2,
        "a button for each published comment"
    );
    let button = "#kiln-comment-1 form.kiln-like button";
    let label = off.text(button).unwrap();
    assert!(
        label.contains("Like this comment"),
        "named for screen readers: {label:?}"
    );

    off.submit(button).unwrap();
    assert_eq!(
        off.current_url().unwrap(),
        format!("{page}#kiln-comment-1"),
        "back at the comment"
    );
    assert_eq!(count_rows(db, "reactions"), 1);
    let before = html_bytes(&served.public);
    bake();
    // The like moved its thread only: one page is written again.
    let after = html_bytes(&served.public);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(changed, ["posts/hello-world/index.html"]);
    off.goto(&page).unwrap();
    assert_eq!(likes(&off, 1), "1", "the re-baked count");

    // The same reader again: back on the page, and not counted.
    off.submit(button).unwrap();
    assert_eq!(off.current_url().unwrap(), format!("{page}#kiln-comment-1"));
    assert_eq!(count_rows(db, "reactions"), 1);
    bake();
    off.goto(&page).unwrap();
    assert_eq!(likes(&off, 1), "1");
    assert_eq!(likes(&off, 2), "0");

    // With JavaScript: the like is sent by the script and the count
    // changes on the page the reader is reading.
    let on = Browser::start_or_skip(BrowserOptions { javascript: true })
        .unwrap()
        .expect("Chromium ran a moment ago");
    on.goto(&page).unwrap();
    let same_page = serde_json::json!([]);
    on.run_script("window.kilnStayed = true", same_page.clone())
        .unwrap();
    on.click("#kiln-comment-2 form.kiln-like button").unwrap();
    eventually(
        "the count to change in place",
        Duration::from_secs(10),
        || {
            let shown = likes(&on, 2);
            if shown == "1" {
                Ok(())
            } else {
                Err(format!("the count shows {shown:?}"))
            }
        },
    );
    assert_eq!(
        on.run_script("return window.kilnStayed === true", same_page)
            .unwrap(),
        serde_json::json!(true),
        "the page was not left"
    );
    assert_eq!(on.current_url().unwrap(), page);
    assert_eq!(count_rows(db, "reactions WHERE comment_id = 2"), 1);
    assert_eq!(count_rows(db, "reactions"), 2);
}

#[test]
fn the_script_tops_up_the_baked_like_counts() {
    let Some(served) = ServedSite::start_with(ENV) else {
        return;
    };
    let Some(on) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    // Baked live (`bake.live`): only then does the script ask the receiver
    // anything on load.
    let env = [ENV, &[("KILN_BAKE_LIVE", "true")]].concat();
    let bake = || served.bake_with_env(&env, None, "state.bin");
    bake();
    post_comments(&served, &["Liked after the bake.", "Never liked."]);
    served.moderate(&["approve", "1"]);
    served.moderate(&["approve", "2"]);
    bake();
    let page = served.page(THREAD);

    // A like arrives after the bake, as the script sends one.
    let liked = http()
        .post(format!("{}/react", served.receiver.url))
        .json(&serde_json::json!({
            "comment": "1",
            "url": page,
            "token": baked_token(&served, THREAD),
        }))
        .send()
        .unwrap();
    assert_eq!(liked.status().as_u16(), 200);
    let baked =
        std::fs::read_to_string(served.public.join("posts/hello-world/index.html")).unwrap();
    assert!(
        baked.contains("<b class=\"kiln-likes\">0</b>")
            && !baked.contains("<b class=\"kiln-likes\">1</b>"),
        "the page still has the counts of the bake"
    );

    // The endpoint: the thread's counts by comment id, for the page's
    // origin, cached a few seconds.
    let origin = url::Url::parse(&page)
        .unwrap()
        .origin()
        .ascii_serialization();
    let answer = http()
        .get(format!("{}/api/likes", served.receiver.url))
        .query(&[("thread", THREAD)])
        .header("origin", &origin)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    assert_eq!(answer.headers()["cache-control"], "public, max-age=5");
    let counts: serde_json::Value = answer.json().unwrap();
    assert_eq!(counts, serde_json::json!({ "1": 1 }));
    let unknown = http()
        .get(format!(
            "{}/api/likes?thread=/x/&site=nope",
            served.receiver.url
        ))
        .send()
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);

    // With JavaScript on, the page shows the receiver's count, not the bake's.
    on.goto(&page).unwrap();
    eventually(
        "the baked count to be topped up",
        Duration::from_secs(10),
        || match (likes(&on, 1), likes(&on, 2)) {
            (one, two) if one == "1" && two == "0" => Ok(()),
            shown => Err(format!("the counts show {shown:?}")),
        },
    );
}

#[test]
fn bad_likes_are_refused_and_never_sent_elsewhere() {
    let env = [ENV, &[("KILN_REACTIONS_LIKES_PER_IP", "2")]].concat();
    let Some(served) = ServedSite::start_with(&env) else {
        return;
    };
    let bake = || served.bake_with_env(&env, None, "state.bin");
    bake();
    post_comments(&served, &["Published.", "Pending."]);
    served.moderate(&["approve", "1"]);
    let page = served.page(THREAD);
    let token = baked_token(&served, THREAD);
    let other_token = baked_token(&served, "/posts/second-post/");
    let like = |fields: &[(&str, &str)]| {
        http()
            .post(format!("{}/react", served.receiver.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .expect("POST /react")
    };
    for (comment, url, token, status, says) in [
        ("1", page.as_str(), "00.0.00", 403, "Reload the page"),
        ("1", &page, &other_token, 403, "Reload the page"),
        ("1", &page, "", 403, "Reload the page"),
        ("999", &page, &token, 404, "no comment 999"),
        ("2", &page, &token, 404, "not published"),
        ("x", &page, &token, 400, "names no comment"),
        (
            "1",
            "https://evil.example/",
            &token,
            400,
            "not one this comment service",
        ),
        ("1", "//evil.example/", &token, 400, "http"),
    ] {
        let answer = like(&[("comment", comment), ("url", url), ("token", token)]);
        assert_eq!(answer.status().as_u16(), status, "{comment} {url} {token}");
        assert!(
            answer.headers().get("location").is_none(),
            "a refused like goes nowhere"
        );
        let body = answer.text().unwrap();
        assert!(body.contains(says), "{says:?} not in {body}");
    }
    assert_eq!(count_rows(&served.db, "reactions"), 0, "nothing stored");

    // The script's way: JSON in, the count out.
    let json_like = || {
        http()
            .post(format!("{}/react", served.receiver.url))
            .json(&serde_json::json!({ "comment": "1", "url": page, "token": token }))
            .send()
            .expect("POST /react")
    };
    let first = json_like();
    assert_eq!(first.status().as_u16(), 200);
    let first: serde_json::Value = first.json().unwrap();
    assert_eq!(
        first,
        serde_json::json!({ "comment": 1, "likes": 1, "counted": true })
    );
    let again: serde_json::Value = json_like().json().unwrap();
    assert_eq!(
        again,
        serde_json::json!({ "comment": 1, "likes": 1, "counted": false })
    );

    // Two likes within the window were allowed; the third waits.
    let limited = json_like();
    assert_eq!(limited.status().as_u16(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=601).contains(&wait), "{wait}");
    let body: serde_json::Value = limited.json().unwrap();
    assert_eq!(body["error"]["code"], "like_limit_ip", "{body}");
    assert_eq!(count_rows(&served.db, "reactions"), 1);

    // Baked with likes off (the default), the page has no like buttons.
    served.bake_with_env(&[("KILN_SPAM_FORM_TOKEN", "true")], None, "state.bin");
    let html = std::fs::read_to_string(served.public.join("posts/hello-world/index.html")).unwrap();
    assert!(html.contains("Published."), "the comment is baked");
    assert!(
        !html.contains("<form class=\"kiln-like\""),
        "but no like button"
    );
}

#[test]
fn a_like_is_published_in_place_by_the_receiver() {
    let Some(served) = ServedSite::in_place(&[("KILN_REACTIONS_ENABLED", "true")]) else {
        return;
    };
    let receiver = &served.receiver;
    let page = format!("{}{THREAD}", served.site.url);
    let (status, _, body) = post_form(
        receiver,
        &[
            ("thread", THREAD),
            ("url", &page),
            ("name", "Ada"),
            ("text", "Liked, then baked by the receiver."),
        ],
    );
    assert_eq!(status, 303, "{body}");
    served.moderate(&["approve", "1"]);
    let shown = |count: &str| {
        let html = http().get(&page).send().unwrap().text().unwrap();
        let button = format!("<b class=\"kiln-likes\">{count}</b>");
        if html.contains(&button) {
            Ok(())
        } else {
            Err(format!("no {button} on the page yet"))
        }
    };
    eventually(
        "the comment with its like button",
        Duration::from_secs(30),
        || shown("0"),
    );

    let answer = http()
        .post(format!("{}/react", receiver.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("comment", "1"), ("url", &page)]))
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(
        answer.headers()["location"].to_str().unwrap(),
        format!("{page}#kiln-comment-1")
    );
    eventually(
        "the count published in place",
        Duration::from_secs(30),
        || shown("1"),
    );
}
