//! A commenter's private edit link: after a no-JS post, the thank-you page
//! offers it; through it, in a real Chromium with JavaScript off, the
//! commenter fixes a typo, is refused an edit that breaks a rule (with
//! their text kept), sends a published comment back to moderation by
//! editing it, and deletes it. After the window the link is refused. Over
//! JSON: the link in the 201, edits that a spam rule holds, a comment with
//! replies, and no token in the log.

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const SECRET: &str = "an edit-link test secret, long enough to sign";
const SUBMIT: &str = "form.kiln-form button[type=submit]";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn query_i64(db: &Db, sql: &str) -> i64 {
    peek(db).query_i64(sql, &[])
}

fn query_text(db: &Db, sql: &str) -> String {
    peek(db).query_text(sql, &[])
}

/// An edit token for comment 1 that expired a second ago, signed with the
/// receiver's key as the receiver itself would have.
fn expired_token(db: &Db) -> String {
    let created = query_i64(db, "SELECT created_at FROM comments WHERE id = 1");
    kiln_bake::signing::Signer::new(SECRET.as_bytes()).sign(
        "edit",
        &format!("1:{created}"),
        Some(now() - 1),
    )
}

#[test]
fn without_javascript_a_commenter_edits_and_deletes_through_the_private_link() {
    let Some(served) = ServedSite::start_with(&[("KILN_SERVER_SECRET", SECRET)]) else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let (db, receiver) = (&served.db, &served.receiver);
    let bake = || served.bake_from(None, "state.bin");
    bake();
    let page = served.page("/posts/hello-world/");

    browser.goto(&page).unwrap();
    browser
        .fill("textarea[name=text]", "I mean teh cat.")
        .unwrap();
    browser.fill("input[name=name]", "Tam").unwrap();
    browser.submit(SUBMIT).unwrap();
    assert!(browser
        .current_url()
        .unwrap()
        .starts_with(&format!("{}/posted/", receiver.url)));
    let thanks = browser.text("main").unwrap();
    assert!(thanks.contains("awaits moderation"), "{thanks}");
    assert!(
        thanks.contains("edit or delete your comment until"),
        "{thanks}"
    );

    // The link leads to the comment and its fields; a typo is fixed.
    browser.submit("a.kiln-edit-link").unwrap();
    let edit_url = browser.current_url().unwrap();
    assert!(edit_url.starts_with(&format!("{}/edit/", receiver.url)));
    assert_eq!(
        browser.value("textarea[name=text]").unwrap(),
        "I mean teh cat."
    );
    assert_eq!(browser.value("input[name=name]").unwrap(), "Tam");
    browser
        .fill("textarea[name=text]", "I mean *the* cat.")
        .unwrap();
    browser.submit(SUBMIT).unwrap();
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{edit_url}?done=saved")
    );
    assert!(browser
        .text(".kiln-notice-static")
        .unwrap()
        .contains("Your changes are saved."));
    let shown = browser.source().unwrap();
    assert!(shown.contains("I mean <em>the</em> cat."), "{shown}");
    let text = query_text(db, "SELECT text FROM comments WHERE id = 1");
    assert_eq!(text, "I mean *the* cat.");

    // An edit that breaks a rule (too many links) is refused, kept in the
    // form, and changes nothing.
    let spammy = "Look: https://a.example https://b.example https://c.example https://d.example";
    browser.fill("textarea[name=text]", spammy).unwrap();
    browser.submit(SUBMIT).unwrap();
    assert!(browser
        .text(".kiln-error-summary")
        .unwrap()
        .contains("at most 3"));
    assert_eq!(browser.value("textarea[name=text]").unwrap(), spammy);
    let text = query_text(db, "SELECT text FROM comments WHERE id = 1");
    assert_eq!(text, "I mean *the* cat.", "nothing stored");

    // Published, then edited: back to the queue, off the baked page.
    served.moderate(&["approve", "1"]);
    bake();
    browser.goto(&page).unwrap();
    assert!(browser
        .text("#kiln-comment-1")
        .unwrap()
        .contains("I mean the cat."));
    browser.goto(&edit_url).unwrap();
    browser
        .fill(
            "textarea[name=text]",
            "I mean the cat. Buy at https://pills.example",
        )
        .unwrap();
    browser.submit(SUBMIT).unwrap();
    assert!(browser
        .text(".kiln-notice-static")
        .unwrap()
        .contains("off the page until a moderator approves it again"));
    let status = query_text(db, "SELECT status FROM comments WHERE id = 1");
    assert_eq!(status, "pending");
    bake();
    browser.goto(&page).unwrap();
    assert!(!browser.exists("#kiln-comment-1").unwrap(), "off the page");

    // After the window, the link is refused, and what was typed is kept.
    let expired = format!("{}/edit/{}", receiver.url, expired_token(db));
    browser.goto(&expired).unwrap();
    assert!(browser
        .text("main")
        .unwrap()
        .contains("This edit link has expired"));
    let resp = http()
        .post(&expired)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("action", "save"),
            ("text", "Too late, sadly."),
        ]))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 410);
    let body = resp.text().unwrap();
    assert!(
        body.contains("Too late, sadly."),
        "kept for copying: {body}"
    );
    let text = query_text(db, "SELECT text FROM comments WHERE id = 1");
    assert!(text.starts_with("I mean the cat."), "unchanged: {text}");

    // Deleted from the page; the link then finds nothing.
    browser.goto(&edit_url).unwrap();
    browser.submit("form.kiln-delete button").unwrap();
    assert!(browser
        .text("main")
        .unwrap()
        .contains("Your comment was deleted."));
    assert_eq!(count_rows(db, "comments"), 0);
    browser.goto(&edit_url).unwrap();
    assert!(browser.text("main").unwrap().contains("no longer exists"));
}

#[test]
fn over_json_edits_are_checked_held_by_rules_and_never_logged() {
    const ORIGIN: &str = "http://blog.test";
    let (_tmp, receiver) = fresh_receiver(
        ORIGIN,
        &[
            ("KILN_MODERATION_ENABLED", "false"),
            ("KILN_EDITS_REMODERATE_APPROVED", "false"),
            ("KILN_SPAM_BLOCK_WEBSITES", "pills.example"),
            ("KILN_SPAM_BLOCK_WEBSITES_ACTION", "moderate"),
        ],
    );
    let page = format!("{ORIGIN}/posts/json/");
    let post = |text: &str, parent: Option<i64>| -> serde_json::Value {
        let resp = http()
            .post(format!("{}/comments", receiver.url))
            .json(&serde_json::json!({
                "thread": "/posts/json/", "url": page, "name": "Jo",
                "email": "jo@mail.test", "text": text, "parent": parent,
            }))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        resp.json().unwrap()
    };
    let edit = |url: &str, body: serde_json::Value| {
        let resp = http().post(url).json(&body).send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<serde_json::Value>().unwrap())
    };

    let first = post("Frist!", None);
    let link = &first["edit"];
    let url = link["url"].as_str().unwrap().to_owned();
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("{}/edit/{token}", receiver.url));
    let created = time::OffsetDateTime::parse(
        first["comment"]["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        link["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        expires - created,
        time::Duration::minutes(15),
        "the default window"
    );

    // A typo fix keeps a published comment published (remoderate off)...
    let (status, fixed) = edit(&url, serde_json::json!({"text": "First!", "name": "Jo"}));
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(
        (&fixed["comment"]["status"], &fixed["held"]),
        (&serde_json::json!("approved"), &serde_json::json!(false))
    );
    assert!(fixed["html"].as_str().unwrap().contains("First!"));
    let email = query_text(&receiver.db, "SELECT email FROM comments WHERE id = 1");
    assert_eq!(email, "jo@mail.test", "the address is kept");

    // ...but a link a rule holds sends it back to moderation.
    let (status, held) = edit(
        &url,
        serde_json::json!({"text": "First! https://www.pills.example/buy"}),
    );
    assert_eq!(status, 200, "{held}");
    assert_eq!(
        (&held["comment"]["status"], &held["held"]),
        (&serde_json::json!("pending"), &serde_json::json!(true))
    );

    // Broken fields name the field, and nothing changes.
    let (status, refused) = edit(&url, serde_json::json!({"text": "  "}));
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["field"], "text");
    let text = query_text(&receiver.db, "SELECT text FROM comments WHERE id = 1");
    assert_eq!(text, "First! https://www.pills.example/buy");

    // A published comment with a reply cannot change, but can go, leaving
    // a "deleted" marker so the reply keeps its place.
    let second = post("Second.", None);
    let url2 = second["edit"]["url"].as_str().unwrap().to_owned();
    post("A reply.", Some(2));
    let (status, refused) = edit(
        &url2,
        serde_json::json!({"text": "Second. https://www.pills.example"}),
    );
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("has_replies"))
    );
    let (status, deleted) = edit(&url2, serde_json::json!({"action": "delete"}));
    assert_eq!(
        (status, &deleted["deleted"]),
        (200, &serde_json::json!(true))
    );
    let marker = query_text(&receiver.db, "SELECT status FROM comments WHERE id = 2");
    assert_eq!(marker, "deleted");
    let replies = query_i64(
        &receiver.db,
        "SELECT count(*) FROM comments WHERE parent_id = 2",
    );
    assert_eq!(replies, 1);

    // A forged or altered token is refused.
    let mut altered = token.clone();
    altered.replace_range(0..2, "32");
    let (status, bad) = edit(
        &format!("{}/edit/{altered}", receiver.url),
        serde_json::json!({"text": "Hijacked"}),
    );
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("edit_link_invalid"))
    );

    let logs = receiver.logs();
    assert!(logs.contains("/edit/…"), "{logs}");
    assert!(!logs.contains(&token), "the token is not logged");
}

#[test]
fn with_no_edit_window_there_is_no_link_and_forms_go_straight_back() {
    const ORIGIN: &str = "http://blog.test";
    let (_tmp, receiver) = fresh_receiver(ORIGIN, &[("KILN_EDITS_WINDOW_MINUTES", "0")]);
    let page = format!("{ORIGIN}/posts/none/");
    let fields = [
        ("thread", "/posts/none/"),
        ("url", page.as_str()),
        ("text", "No second thoughts."),
    ];
    let (status, location, _) = post_form(&receiver, &fields);
    assert_eq!(status, 303);
    assert_eq!(location.unwrap(), format!("{page}#kiln-received"));
    let json: serde_json::Value = http()
        .post(format!("{}/comments", receiver.url))
        .json(&serde_json::json!({"thread": "/posts/none/", "url": page, "text": "Again, no."}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(json["edit"], serde_json::Value::Null);
}
