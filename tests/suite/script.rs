//! The optional script in real headless Chromium with JavaScript on: posting
//! without leaving the page, an inline error that keeps the text, a reply
//! written under the comment it answers, a Markdown preview, and a comment
//! approved after the bake appearing on the baked page, and a list page's
//! count going up. Also its size budget and that only the site's origins may
//! call the receiver from a page.

use std::time::{Duration, Instant};

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";

fn wait_for(browser: &Browser, selector: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if browser.exists(selector).unwrap() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{selector} did not appear; the page is:\n{}",
        browser.source().unwrap()
    );
}

fn status_of(db: &std::path::Path, id: i64) -> (String, Option<i64>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT status, parent_id FROM comments WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn with_javascript_a_reader_posts_replies_previews_and_sees_newer_comments() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let (db, receiver) = (&served.db, &served.receiver);
    let page = served.page("/posts/hello-world/");
    let (status, _, body) = post_form(
        receiver,
        &[
            ("thread", "/posts/hello-world/"),
            ("url", &page),
            ("name", "Ada"),
            ("text", "The first comment, baked."),
        ],
    );
    assert_eq!(status, 303, "{body}");
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");

    // 1. Posting stays on the page and shows the comment as pending.
    browser.goto(&page).unwrap();
    browser
        .fill("textarea[name=text]", "Posted *with* JavaScript.")
        .unwrap();
    browser.fill("input[name=name]", "Bo").unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, ".kiln-comments .kiln-pending");
    let shown = browser.text(".kiln-pending").unwrap();
    assert!(
        shown.contains("Awaiting moderation") && shown.contains("Posted with JavaScript."),
        "{shown}"
    );
    assert_eq!(browser.current_url().unwrap(), page, "no page was left");
    assert_eq!(browser.value("textarea[name=text]").unwrap(), "");
    assert_eq!(status_of(db, 2), ("pending".into(), None));
    // The new comment has the focus, and a live region says it was posted.
    assert!(browser.focused_is("#kiln-comment-2").unwrap());
    wait_for_live(&browser, "Posted. Your comment will appear");

    // 2. An error shows next to its field, and the text stays.
    let typed = "A comment with a bad address.";
    browser.fill("textarea[name=text]", typed).unwrap();
    browser
        .fill("input[name=email]", "grace@localhost")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, "input[name=email] + .kiln-js-error");
    assert!(browser
        .text(".kiln-js-error")
        .unwrap()
        .contains("name@example.org"));
    assert_eq!(browser.value("textarea[name=text]").unwrap(), typed);
    assert_eq!(count_rows(db, "comments"), 2, "nothing stored");
    // The field has the focus, is marked invalid and described by the
    // message, which is also announced.
    let email = "input[name=email]";
    assert!(browser.focused_is(email).unwrap());
    assert_eq!(
        browser.attr(email, "aria-invalid").unwrap().as_deref(),
        Some("true")
    );
    let error_id = browser.attr(".kiln-js-error", "id").unwrap().unwrap();
    assert_eq!(
        browser.attr(email, "aria-describedby").unwrap(),
        Some(error_id)
    );
    wait_for_live(&browser, "name@example.org");
    browser.fill("input[name=email]", "").unwrap();

    // 3. Reply moves the one form under the comment; the reply nests there.
    browser.click("#kiln-comment-1 a.kiln-reply").unwrap();
    wait_for(&browser, "#kiln-comment-1 form.kiln-form");
    assert!(browser
        .focused_is("#kiln-comment-1 textarea[name=text]")
        .unwrap());
    browser
        .fill("textarea[name=text]", "A reply, in place.")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, "#kiln-comment-1 .kiln-replies .kiln-pending");
    assert_eq!(status_of(db, 3), ("pending".into(), Some(1)));
    assert!(browser.focused_is("#kiln-comment-3").unwrap());
    // The error went with the retyped address: the field is plain again.
    assert_eq!(browser.attr(email, "aria-invalid").unwrap(), None);
    assert_eq!(browser.attr(email, "aria-describedby").unwrap(), None);
    assert!(!browser.exists(".kiln-js-error").unwrap());
    assert!(
        !browser.exists("#kiln-comment-1 form.kiln-form").unwrap(),
        "the form went back home"
    );

    // 4. The preview is rendered by the receiver exactly as bake renders.
    browser
        .fill("textarea[name=text]", "Some **bold** <script>x()</script>")
        .unwrap();
    browser.click(".kiln-preview-button").unwrap();
    wait_for(&browser, ".kiln-preview strong");
    assert!(!browser.exists(".kiln-preview script").unwrap());

    // 5. A comment approved after the bake appears on the baked page.
    served.moderate(&["approve", "2"]);
    let baked =
        std::fs::read_to_string(served.public.join("posts/hello-world/index.html")).unwrap();
    assert!(!baked.contains("kiln-comment-2"), "not baked yet");
    browser.goto(&page).unwrap();
    // The script asks only once the thread is on screen; clicking into the
    // form scrolls it there.
    browser.click("textarea[name=text]").unwrap();
    wait_for(&browser, ".kiln-comments > #kiln-comment-2");
    assert!(
        !browser.exists("#kiln-comment-3").unwrap(),
        "pending comments are never topped up"
    );

    // 6. With the receiver gone, the error names no field: it takes the
    // focus itself, and the text stays.
    let ServedSite { receiver, .. } = served;
    receiver.kill_9();
    browser
        .fill("textarea[name=text]", "Typed while offline.")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, ".kiln-form > .kiln-js-error");
    assert!(browser.focused_is(".kiln-js-error").unwrap());
    wait_for_live(&browser, "Could not reach the comment server");
    assert_eq!(
        browser.value("textarea[name=text]").unwrap(),
        "Typed while offline."
    );
}

/// Polls until the script's live region says something containing `want`
/// (it is filled a moment after it is emptied).
fn wait_for_live(browser: &Browser, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut said = String::new();
    while Instant::now() < deadline {
        said = browser
            .run_script(
                "return document.querySelector('.kiln-live').textContent",
                serde_json::json!([]),
            )
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if said.contains(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the live region says {said:?}, not {want:?}");
}

/// Polls until the element's text is `want`.
fn wait_for_text(browser: &Browser, selector: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = browser.text(selector).unwrap();
        if text == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{selector} says {text:?}, not {want:?}");
}

#[test]
fn with_javascript_a_list_page_counts_comments_approved_after_the_bake() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let post = |text: &str| {
        let page = served.page("/posts/hello-world/");
        let fields = [
            ("thread", "/posts/hello-world/"),
            ("url", page.as_str()),
            ("text", text),
        ];
        let (status, _, body) = post_form(&served.receiver, &fields);
        assert_eq!(status, 303, "{body}");
    };
    post("Baked.");
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");
    post("Approved after the bake.");
    post("Still pending.");
    served.moderate(&["approve", "2"]);

    let list = served.page("/posts/");
    let count = "[data-kiln-count=\"/posts/hello-world/\"]";
    let other = "[data-kiln-count=\"/posts/second-post/\"]";
    let baked = std::fs::read_to_string(served.public.join("posts/index.html")).unwrap();
    assert_eq!(texts_of(&baked, count), ["1 comment"]);
    browser.goto(&list).unwrap();
    wait_for_text(&browser, count, "2 comments");
    assert_eq!(browser.text(other).unwrap(), "No comments yet");
}

#[test]
fn with_reduced_motion_the_scripts_focus_moves_scroll_at_once_even_on_a_smooth_site() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let page = served.page("/posts/hello-world/");
    let fields = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("text", "Reply to me."),
    ];
    assert_eq!(post_form(&served.receiver, &fields).0, 303);
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");
    // A theme that scrolls smoothly, as many do.
    let css = served.public.join("css/site.css");
    let mut theme = std::fs::read_to_string(&css).unwrap();
    theme.push_str("\nhtml { scroll-behavior: smooth; }\n");
    std::fs::write(&css, theme).unwrap();
    // Short enough that the reply form lands below the fold.
    browser.set_window_size(800, 360).unwrap();

    // Reply from the top of the page: how far the page has scrolled in the
    // same task as the click, and once it settled.
    let reply_from_the_top = || -> (f64, f64) {
        browser.goto(&page).unwrap();
        wait_for(&browser, ".kiln-preview-button");
        let at_once = browser
            .run_script(
                "window.scrollTo({ top: 0, behavior: 'instant' });
                 document.querySelector('#kiln-comment-1 a.kiln-reply').click();
                 return window.scrollY;",
                serde_json::json!([]),
            )
            .unwrap()
            .as_f64()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let settled = browser
            .run_script("return window.scrollY", serde_json::json!([]))
            .unwrap()
            .as_f64()
            .unwrap();
        assert!(browser
            .focused_is("#kiln-comment-1 textarea[name=text]")
            .unwrap());
        (at_once, settled)
    };
    let (at_once, settled) = reply_from_the_top();
    assert!(settled > 0.0, "the form is below the fold: it scrolled");
    assert_eq!(
        at_once, 0.0,
        "without the preference the site's smooth scrolling is kept"
    );

    browser
        .emulate_media_feature("prefers-reduced-motion", "reduce")
        .unwrap();
    let (at_once, settled) = reply_from_the_top();
    assert!(at_once > 0.0, "under reduced motion it jumps at once");
    assert_eq!(at_once, settled, "and does not move on");
}

#[test]
fn the_script_is_small_cached_and_only_for_the_sites_origins() {
    let (_tmp, receiver) = fresh_receiver("http://127.0.0.1:1313", &[]);
    let client = http();
    let script = client
        .get(format!("{}/kiln.js", receiver.url))
        .send()
        .unwrap();
    assert_eq!(script.status(), 200);
    let headers = script.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let body = script.bytes().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("kiln.js");
    std::fs::write(&file, &body).unwrap();
    let gz = run_ok(
        std::process::Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&file),
    );
    assert!(
        gz.stdout.len() <= 4096,
        "kiln.js is {} bytes gzipped; the budget is 4 KB",
        gz.stdout.len()
    );
    // CSP-friendly: no eval, no Function constructor, no inline handlers.
    let text = String::from_utf8(body.to_vec()).unwrap();
    for banned in ["eval(", "new Function", "setAttribute(\"on", ".onclick"] {
        assert!(!text.contains(banned), "kiln.js uses {banned}");
    }
    // No motion of kiln's own: the script's scrolls are checked in a
    // browser above; the stylesheet has no transitions or animations. Any
    // added must stop under `prefers-reduced-motion: reduce`, then update
    // this check.
    let css = std::fs::read_to_string(repo_root().join("templates/style.css")).unwrap();
    for motion in ["transition", "animation", "scroll-behavior"] {
        assert!(!css.contains(motion), "style.css has {motion}");
    }

    let preflight = |origin: &str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/comments", receiver.url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .unwrap()
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        preflight("http://127.0.0.1:1313").as_deref(),
        Some("http://127.0.0.1:1313")
    );
    assert_eq!(preflight("https://evil.example"), None);

    // The top-up answers with an ETag and honours it.
    let url = format!("{}/api/comments?thread=/none/&after=0", receiver.url);
    let first = client.get(&url).send().unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.text().unwrap(), r#"{"comments":[]}"#);
    let again = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);

    // Counts: one request for many threads, the words bake uses, cached
    // like the top-up, and for the site's origins only.
    let counts = format!(
        "{}/api/counts?thread=/a/&thread=/b/&thread=/a/",
        receiver.url
    );
    let first = client
        .get(&counts)
        .header("origin", "http://127.0.0.1:1313")
        .send()
        .unwrap();
    assert_eq!(first.status(), 200);
    let headers = first.headers().clone();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://127.0.0.1:1313"
    );
    assert_eq!(headers["cache-control"], "public, no-cache");
    assert_eq!(
        first.text().unwrap(),
        r#"{"counts":{"/a/":{"count":0,"html":"No comments yet"},"/b/":{"count":0,"html":"No comments yet"}}}"#
    );
    let again = client
        .get(&counts)
        .header("if-none-match", headers["etag"].to_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    let evil = client
        .get(&counts)
        .header("origin", "https://evil.example")
        .send()
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let many: String = (0..101).map(|i| format!("thread=/{i}/&")).collect();
    for query in ["", "thread=", many.as_str()] {
        let refused = client
            .get(format!("{}/api/counts?{query}", receiver.url))
            .send()
            .unwrap();
        assert_eq!(refused.status(), 400, "{query}");
    }
}
