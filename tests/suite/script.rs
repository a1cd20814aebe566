//! The optional script in real headless Chromium with JavaScript on: posting
//! without leaving the page, an inline error that keeps the text, a reply
//! written under the comment it answers, a Markdown preview, and a comment
//! approved after the bake appearing on the baked page, and a list page's
//! count going up; a reader editing and deleting their own comments within
//! the edit window, and those controls gone once it closes; a fresh form
//! token, asked for only once the reader starts, refusing a post made at
//! once. Also its size budget and that only the site's origins may call the
//! receiver from a page.

use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";

fn status_of(db: &Db, id: i64) -> (String, Option<i64>) {
    let row = peek(db)
        .row(
            "SELECT status, parent_id FROM comments WHERE id = $1",
            &[id.into()],
        )
        .unwrap_or_else(|| panic!("no comment {id}"));
    (row[0].text(), row[1].opt_int())
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
    // Newer comments are topped up only when the site opts in.
    served.bake_with_env(&[("KILN_BAKE_LIVE", "true")], None, "state.bin");

    // 1. Posting stays on the page and shows the comment as pending.
    browser.goto(&page).unwrap();
    let stored = "return Object.keys(localStorage).length";
    let nothing = serde_json::json!(0);
    assert_eq!(
        browser.run_script(stored, serde_json::json!([])).unwrap(),
        nothing,
        "nothing is stored for a reader who has not posted"
    );
    browser
        .fill("textarea[name=text]", "Posted *with* JavaScript.")
        .unwrap();
    browser.fill("input[name=name]", "Bo").unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for(".kiln-comments .kiln-pending");
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
    // The heading counts it (issue 16), and it offers no Reply: the
    // receiver takes no replies to a comment not yet approved.
    assert_eq!(browser.text(".kiln-heading").unwrap(), "2 comments");
    assert!(!browser.exists("#kiln-comment-2 .kiln-reply").unwrap());

    // 2. An error shows next to its field, and the text stays.
    let typed = "A comment with a bad address.";
    browser.fill("textarea[name=text]", typed).unwrap();
    browser
        .fill("input[name=email]", "grace@localhost")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for("input[name=email] + .kiln-js-error");
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
    browser.wait_for("#kiln-comment-1 form.kiln-form");
    assert!(browser
        .focused_is("#kiln-comment-1 textarea[name=text]")
        .unwrap());
    browser
        .fill("textarea[name=text]", "A reply, in place.")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for("#kiln-comment-1 .kiln-replies .kiln-pending");
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
    browser.wait_for(".kiln-preview strong");
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
    browser.wait_for(".kiln-list > #kiln-comment-2");
    assert!(
        !browser.exists("#kiln-comment-3").unwrap(),
        "pending comments are never topped up"
    );
    // Baked with one, topped up with one: the heading says two.
    assert_eq!(browser.text(".kiln-heading").unwrap(), "2 comments");

    // 6. With the receiver gone, the error names no field: it takes the
    // focus itself, and the text stays.
    let ServedSite { receiver, .. } = served;
    receiver.kill_9();
    browser
        .fill("textarea[name=text]", "Typed while offline.")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for(".kiln-form > .kiln-js-error");
    assert!(browser.focused_is(".kiln-js-error").unwrap());
    wait_for_live(&browser, "Could not reach the comment server");
    assert_eq!(
        browser.value("textarea[name=text]").unwrap(),
        "Typed while offline."
    );
}

/// The preview is what bake publishes, byte for byte, sanitizing included:
/// the receiver's preview of a hostile, Markdown-rich text is found as it
/// is in the baked page once that comment is approved, and the browser
/// shows the same markup in the preview and on the page.
#[test]
fn with_javascript_the_preview_is_what_bake_publishes_byte_for_byte() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let text = "# Title\n\nSome **bold**, a [link](https://example.org/a?b=1&c=2), \
        `code <b>`, a list:\n\n- one\n- two\n\n> quoted\n\n\
        <script>alert(1)</script><img src=x onerror=alert(2)>\
        [bad](javascript:alert(3)) <a href=\"https://x.example\" onclick=\"y()\">raw</a>";
    served.bake_from(None, "state.bin");
    let page = served.page("/posts/hello-world/");
    browser.goto(&page).unwrap();
    browser.fill("textarea[name=text]", text).unwrap();
    browser.click(".kiln-preview-button").unwrap();
    browser.wait_for(".kiln-preview strong");
    let inner = |selector: &str| {
        browser
            .run_script(
                "return document.querySelector(arguments[0]).innerHTML",
                serde_json::json!([selector]),
            )
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let previewed = inner(".kiln-preview");
    // Sanitized: the hostile parts are text, not elements or attributes.
    let live = browser
        .run_script(
            "return document.querySelectorAll('.kiln-preview :is(script, img, [onclick], \
             [onerror], [href^=javascript])').length",
            serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(live, 0, "{previewed}");
    assert!(previewed.contains("&lt;script&gt;"), "{previewed}");
    // The bytes the receiver sent for the preview.
    let sent: serde_json::Value = http()
        .post(format!("{}/api/preview", served.receiver.url))
        .json(&serde_json::json!({ "text": text }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sent = sent["html"].as_str().unwrap().to_owned();

    post_with_script(&browser, text, 1);
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");
    let baked =
        std::fs::read_to_string(served.public.join("posts/hello-world/index.html")).unwrap();
    assert!(
        baked.contains(&format!("itemprop=\"text\">{sent}</div>")),
        "the baked body is the preview's bytes:\n{sent}\n---\n{baked}"
    );
    browser.goto(&page).unwrap();
    assert_eq!(inner("#kiln-comment-1 > .kiln-body"), previewed);
}

/// Polls until the script's live region says something containing `want`
/// (it is filled a moment after it is emptied).
fn wait_for_live(browser: &Browser, want: &str) {
    let what = format!("the live region to say {want:?}");
    eventually(&what, Duration::from_secs(15), || {
        let said = browser
            .run_script(
                "return document.querySelector('.kiln-live').textContent",
                serde_json::json!([]),
            )
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if said.contains(want) {
            Ok(())
        } else {
            Err(format!("it says {said:?}"))
        }
    })
}

/// Polls until the element's text is `want`.
fn wait_for_text(browser: &Browser, selector: &str, want: &str) {
    let what = format!("{selector} to say {want:?}");
    eventually(&what, Duration::from_secs(15), || {
        let text = browser.text(selector).unwrap();
        if text == want {
            Ok(())
        } else {
            Err(format!("it says {text:?}"))
        }
    })
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
    served.bake_with_env(&[("KILN_BAKE_LIVE", "true")], None, "state.bin");
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

    let scrolled = || {
        browser
            .run_script("return window.scrollY", serde_json::json!([]))
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let reply_focused = || {
        browser
            .focused_is("#kiln-comment-1 textarea[name=text]")
            .unwrap()
    };
    // Reply from the top of the page: how far the page has scrolled in the
    // same task as the click.
    let reply_from_the_top = || -> f64 {
        browser.goto(&page).unwrap();
        browser.wait_for(".kiln-preview-button");
        browser
            .run_script(
                "window.scrollTo({ top: 0, behavior: 'instant' });
                 document.querySelector('#kiln-comment-1 a.kiln-reply').click();
                 return window.scrollY;",
                serde_json::json!([]),
            )
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let at_once = reply_from_the_top();
    // The form is below the fold: it scrolls there.
    eventually(
        "the page to scroll to the reply form",
        Duration::from_secs(15),
        || (scrolled() > 0.0).then_some(()),
    );
    assert!(reply_focused());
    assert_eq!(
        at_once, 0.0,
        "without the preference the site's smooth scrolling is kept"
    );

    browser
        .emulate_media_feature("prefers-reduced-motion", "reduce")
        .unwrap();
    let at_once = reply_from_the_top();
    assert!(at_once > 0.0, "under reduced motion it jumps at once");
    // Proves that it does not move on: a smooth scroll after the jump would
    // have moved the page within a second.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(at_once, scrolled(), "and does not move on");
    assert!(reply_focused());
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
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    let body = script.bytes().unwrap();
    // Issue 16: sent gzipped to a browser that takes it, with its own ETag,
    // and caches told the two apart.
    let zipped = client
        .get(format!("{}/kiln.js", receiver.url))
        .header("accept-encoding", "br, gzip;q=0.8")
        .send()
        .unwrap();
    assert_eq!(zipped.status(), 200);
    let zipped_headers = zipped.headers().clone();
    assert_eq!(zipped_headers["content-encoding"], "gzip");
    assert_eq!(zipped_headers["vary"], "accept-encoding");
    assert_ne!(zipped_headers["etag"], headers["etag"]);
    let gz = zipped.bytes().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("kiln.js.gz");
    std::fs::write(&file, &gz).unwrap();
    let unzipped = run_ok(std::process::Command::new("gzip").arg("-dc").arg(&file));
    assert_eq!(unzipped.stdout, body.to_vec(), "the same script");
    assert!(
        gz.len() <= 4096,
        "kiln.js is {} bytes gzipped; the budget is 4 KB",
        gz.len()
    );
    let refused = client
        .get(format!("{}/kiln.js", receiver.url))
        .header("accept-encoding", "gzip;q=0, identity")
        .send()
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    let revalidated = client
        .get(format!("{}/kiln.js", receiver.url))
        .header("accept-encoding", "gzip")
        .header("if-none-match", zipped_headers["etag"].to_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(revalidated.status(), 304);
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

/// What the script keeps in `localStorage` for the reader's own comments.
fn stored_links(browser: &Browser) -> serde_json::Value {
    let raw = browser
        .run_script(
            "return localStorage.getItem('kiln-edits') || '{}'",
            serde_json::json!([]),
        )
        .unwrap();
    serde_json::from_str(raw.as_str().unwrap()).unwrap()
}

fn text_of(db: &Db, id: i64) -> Option<String> {
    peek(db)
        .row("SELECT text FROM comments WHERE id = $1", &[id.into()])
        .map(|r| r[0].text())
}

/// Posts `text` through the script and waits for the comment `id`.
fn post_with_script(browser: &Browser, text: &str, id: i64) {
    browser.fill("textarea[name=text]", text).unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for(&format!("#kiln-comment-{id}"));
}

/// The reader's own controls: Edit and Delete, or, once Delete asks,
/// "Yes, delete" (first) and "No" (last).
const EDIT: &str = ".kiln-own button:first-child";
const DELETE: &str = ".kiln-own button:last-child";
const SAVE: &str = ".kiln-editor button:not([type=button])";

#[test]
fn with_javascript_a_reader_edits_and_deletes_their_own_comments_within_the_window() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let (db, receiver) = (&served.db, &served.receiver);
    let page = served.page("/posts/hello-world/");
    let fields = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("name", "Ada"),
        ("text", "Someone else's comment."),
    ];
    assert_eq!(post_form(receiver, &fields).0, 303);
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");

    // 1. A post gets Edit and Delete; others' comments do not. The device
    // keeps the link and what was posted, never the email.
    browser.goto(&page).unwrap();
    browser.fill("input[name=name]", "Bo").unwrap();
    browser.fill("input[name=email]", "bo@example.org").unwrap();
    post_with_script(&browser, "Frist post, teh best.", 2);
    let own = "#kiln-comment-2 ";
    browser.wait_for(&format!("{own}{EDIT}"));
    assert_eq!(browser.text(&format!("{own}{EDIT}")).unwrap(), "Edit");
    assert_eq!(browser.text(&format!("{own}{DELETE}")).unwrap(), "Delete");
    assert!(!browser.exists("#kiln-comment-1 .kiln-own").unwrap());
    let links = stored_links(&browser);
    let entry = &links["2"];
    assert!(entry["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/edit/", receiver.url)));
    assert_eq!(entry["text"], "Frist post, teh best.");
    assert_eq!(entry["name"], "Bo");
    assert!(!links.to_string().contains("bo@example.org"), "{links}");

    // 2. Edit turns the body into an editor with the text as posted.
    browser.click(&format!("{own}{EDIT}")).unwrap();
    let editor = format!("{own}.kiln-editor textarea");
    browser.wait_for(&editor);
    assert!(browser.focused_is(&editor).unwrap());
    assert_eq!(browser.value(&editor).unwrap(), "Frist post, teh best.");
    assert_eq!(
        browser.css(&format!("{own}.kiln-body"), "display").unwrap(),
        "none"
    );
    // A refused edit: the error next to the field, the text kept, nothing
    // changed.
    let spam = "[a](https://a.example) [b](https://b.example) [c](https://c.example) [d](https://d.example)";
    browser.fill(&editor, spam).unwrap();
    browser.click(&format!("{own}{SAVE}")).unwrap();
    browser.wait_for(&format!("{editor} + .kiln-js-error"));
    assert!(browser.focused_is(&editor).unwrap());
    assert_eq!(
        browser.attr(&editor, "aria-invalid").unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(browser.value(&editor).unwrap(), spam);
    assert_eq!(text_of(db, 2).as_deref(), Some("Frist post, teh best."));
    // Saved: the receiver's rendering replaces the comment, still pending.
    // Save pressed twice in a row sends one request.
    browser.fill(&editor, "First post, *the* best.").unwrap();
    let edits_before = receiver
        .logs()
        .matches("comment edited by its author")
        .count();
    browser
        .run_script(
            "const b = document.querySelector(arguments[0]); b.click(); b.click();",
            serde_json::json!([format!("{own}{SAVE}")]),
        )
        .unwrap();
    browser.wait_for(&format!("{own}.kiln-body em"));
    assert!(!browser.exists(".kiln-editor").unwrap());
    assert_eq!(
        browser.text(&format!("{own}.kiln-body")).unwrap(),
        "First post, the best."
    );
    assert!(browser.exists("#kiln-comment-2.kiln-pending").unwrap());
    assert_eq!(text_of(db, 2).as_deref(), Some("First post, *the* best."));
    assert!(browser.focused_is("#kiln-comment-2").unwrap());
    wait_for_live(&browser, "Saved.");
    assert_eq!(
        receiver
            .logs()
            .matches("comment edited by its author")
            .count()
            - edits_before,
        1,
        "one request for a double press"
    );
    browser.wait_for(&format!("{own}{EDIT}"));
    assert_eq!(
        stored_links(&browser)["2"]["text"],
        "First post, *the* best."
    );

    // 3. Once published and baked, the comment has the controls after a
    // reload too, and the editor has the text as last saved. Cancel puts
    // the comment back. Saving sends it back to moderation.
    served.moderate(&["approve", "2"]);
    served.bake_from(None, "state.bin");
    browser.goto(&page).unwrap();
    browser.wait_for(&format!("{own}{EDIT}"));
    browser.click(&format!("{own}{EDIT}")).unwrap();
    assert_eq!(browser.value(&editor).unwrap(), "First post, *the* best.");
    browser
        .click(&format!("{own}.kiln-editor button[type=button]"))
        .unwrap();
    assert!(!browser.exists(".kiln-editor").unwrap());
    assert!(browser.focused_is(&format!("{own}{EDIT}")).unwrap());
    assert_eq!(
        browser.css(&format!("{own}.kiln-body"), "display").unwrap(),
        "block"
    );
    browser.click(&format!("{own}{EDIT}")).unwrap();
    browser.fill(&editor, "First post, edited again.").unwrap();
    browser.click(&format!("{own}{SAVE}")).unwrap();
    browser.wait_for("#kiln-comment-2.kiln-pending");
    wait_for_live(&browser, "awaits moderation again");
    assert_eq!(status_of(db, 2).0, "pending");

    // 4. Delete asks first; No keeps the comment.
    post_with_script(&browser, "A comment to take back.", 3);
    let three = "#kiln-comment-3 ";
    browser.wait_for(&format!("{three}{DELETE}"));
    browser.click(&format!("{three}{DELETE}")).unwrap();
    assert!(browser
        .text(&format!("{three}.kiln-own"))
        .unwrap()
        .starts_with("Delete it?"));
    assert_eq!(
        browser.text(&format!("{three}{EDIT}")).unwrap(),
        "Yes, delete"
    );
    assert_eq!(browser.text(&format!("{three}{DELETE}")).unwrap(), "No");
    assert!(browser.focused_is(&format!("{three}{EDIT}")).unwrap());
    browser.click(&format!("{three}{DELETE}")).unwrap();
    assert!(browser.focused_is(&format!("{three}{DELETE}")).unwrap());
    assert_eq!(browser.text(&format!("{three}{EDIT}")).unwrap(), "Edit");
    // Yes removes it, here and in the database, and forgets the link.
    browser.click(&format!("{three}{DELETE}")).unwrap();
    browser.click(&format!("{three}{EDIT}")).unwrap();
    browser.wait_gone("#kiln-comment-3");
    wait_for_live(&browser, "Deleted.");
    assert_eq!(text_of(db, 3), None);
    assert!(stored_links(&browser).get("3").is_none());
    assert!(stored_links(&browser).get("2").is_some());

    // 5. A comment with replies stays as "deleted", and its replies too.
    // (SQLite may give the freed id 3 to the next comment and PostgreSQL
    // never does, so the ids are read back; each comment has its own link.)
    browser.fill("textarea[name=text]", "Answer me.").unwrap();
    browser.click(SUBMIT).unwrap();
    let id_of = |text: &str| {
        eventually(&format!("{text:?} stored"), Duration::from_secs(15), || {
            peek(db)
                .row("SELECT id FROM comments WHERE text = $1", &[text.into()])
                .map(|row| row[0].int())
        })
    };
    let asked = id_of("Answer me.");
    let asked_el = format!("#kiln-comment-{asked}");
    browser.wait_for(&asked_el);
    served.moderate(&["approve", &asked.to_string()]);
    let parent = asked.to_string();
    let reply = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("parent", parent.as_str()),
        ("text", "An answer."),
    ];
    assert_eq!(post_form(receiver, &reply).0, 303);
    let answer = id_of("An answer.");
    served.moderate(&["approve", &answer.to_string()]);
    served.bake_from(None, "state.bin");
    browser.goto(&page).unwrap();
    let asked_in = format!("{asked_el} ");
    browser.wait_for(&format!("{asked_in}{DELETE}"));
    browser.click(&format!("{asked_in}{DELETE}")).unwrap();
    browser.click(&format!("{asked_in}{EDIT}")).unwrap();
    browser.wait_for(&format!("{asked_in}> .kiln-deleted-note"));
    assert!(browser
        .exists(&format!("{asked_in}#kiln-comment-{answer}"))
        .unwrap());
    assert!(!browser.exists(&format!("{asked_in}> .kiln-meta")).unwrap());
    assert!(browser.focused_is(&asked_el).unwrap());
    assert_eq!(status_of(db, asked).0, "deleted");
}

#[test]
fn with_javascript_edit_and_delete_go_when_the_window_closes() {
    let secret = "a script test secret, long enough to sign";
    let Some(served) = ServedSite::start_with(&[
        ("KILN_EDITS_WINDOW_MINUTES", "1"),
        ("KILN_SERVER_SECRET", secret),
    ]) else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    served.bake_from(None, "state.bin");
    let page = served.page("/posts/hello-world/");
    browser.goto(&page).unwrap();
    for id in 1..=3 {
        post_with_script(&browser, &format!("Comment number {id}."), id);
        browser.wait_for(&format!("#kiln-comment-{id} {EDIT}"));
    }
    // A one-minute window: the link expires a minute after posting.
    let links = stored_links(&browser);
    let until = links["1"]["until"].as_i64().unwrap();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((50_000..=61_000).contains(&(until - created)), "{links}");
    let expire = |id: i64| {
        browser
            .run_script(
                "const all = JSON.parse(localStorage.getItem('kiln-edits'));
                 all[arguments[0]].until = Date.now() - 1000;
                 localStorage.setItem('kiln-edits', JSON.stringify(all));",
                serde_json::json!([id.to_string()]),
            )
            .unwrap();
    };

    // 1. While the page is open: the controls go within a second or so,
    // and the link is forgotten; the others stay.
    expire(1);
    browser.wait_gone("#kiln-comment-1 .kiln-own");
    let links = stored_links(&browser);
    assert!(links.get("1").is_none(), "{links}");
    assert!(browser.exists(&format!("#kiln-comment-2 {EDIT}")).unwrap());

    // 2. On a later visit: published and baked, the comments have their
    // controls back after a reload, except one whose time is up.
    served.moderate(&["approve", "1", "2", "3"]);
    served.bake_from(None, "state.bin");
    browser.goto(&page).unwrap();
    browser.wait_for(&format!("#kiln-comment-2 {EDIT}"));
    assert!(browser.exists(&format!("#kiln-comment-3 {EDIT}")).unwrap());
    assert!(!browser.exists("#kiln-comment-1 .kiln-own").unwrap());
    expire(2);
    browser.goto(&page).unwrap();
    assert!(browser.exists("#kiln-comment-2").unwrap());
    assert!(
        !browser.exists("#kiln-comment-2 .kiln-own").unwrap(),
        "no controls at load"
    );
    let links = stored_links(&browser);
    assert!(links.get("2").is_none(), "{links}");
    assert!(browser.exists(&format!("#kiln-comment-3 {EDIT}")).unwrap());

    // 3. The receiver has the last word: a link it finds expired is
    // refused when saving; the controls go, the reader is told, and the
    // text stays in the editor.
    let created = peek(&served.db).query_i64("SELECT created_at FROM comments WHERE id = 3", &[]);
    let expired = kiln_bake::signing::Signer::new(secret.as_bytes()).sign(
        "edit",
        &format!("3:{created}"),
        Some(created),
    );
    browser
        .run_script(
            "const all = JSON.parse(localStorage.getItem('kiln-edits'));
             all['3'].url = all['3'].url.replace(/[^/]*$/, arguments[0]);
             localStorage.setItem('kiln-edits', JSON.stringify(all));",
            serde_json::json!([expired]),
        )
        .unwrap();
    browser.goto(&page).unwrap();
    browser.wait_for(&format!("#kiln-comment-3 {EDIT}"));
    browser.click(&format!("#kiln-comment-3 {EDIT}")).unwrap();
    let editor = "#kiln-comment-3 .kiln-editor textarea";
    browser.fill(editor, "Too late, but kept.").unwrap();
    browser.click(&format!("#kiln-comment-3 {SAVE}")).unwrap();
    browser.wait_for(".kiln-editor > .kiln-js-error");
    assert!(browser
        .text(".kiln-editor > .kiln-js-error")
        .unwrap()
        .contains("expired"));
    assert!(browser.focused_is(".kiln-editor > .kiln-js-error").unwrap());
    wait_for_live(&browser, "expired");
    assert!(!browser.exists("#kiln-comment-3 .kiln-own").unwrap());
    assert!(stored_links(&browser).get("3").is_none());
    assert_eq!(browser.value(editor).unwrap(), "Too late, but kept.");
    assert_eq!(text_of(&served.db, 3).as_deref(), Some("Comment number 3."));
    // With the last link gone, nothing of kiln's is left on the device.
    let left = browser
        .run_script(
            "return localStorage.getItem('kiln-edits')",
            serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(left, serde_json::Value::Null);
}

#[test]
fn with_javascript_a_fresh_token_once_the_reader_starts_refuses_posts_made_at_once() {
    let Some(served) = ServedSite::start_with(&[
        ("KILN_SPAM_FORM_TOKEN", "true"),
        ("KILN_SPAM_MIN_FILL_SECONDS", "2"),
    ]) else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    // Bake signs the forms with the key in the receiver's database.
    std::fs::write(
        served.dir().join("kiln.toml"),
        "[spam]\nform_token = true\n",
    )
    .unwrap();
    served.bake_from(None, "state.bin");
    let page = served.page("/posts/hello-world/");
    browser.goto(&page).unwrap();
    let token = "input[name=token]";
    let baked = browser.value(token).unwrap();
    assert!(!baked.is_empty(), "the baked form is signed");
    let asked = || {
        browser
            .run_script(
                "return performance.getEntriesByType('resource')
                   .filter((e) => e.name.includes('/api/token')).length",
                serde_json::json!([]),
            )
            .unwrap()
            .as_u64()
            .unwrap()
    };
    // Nothing is asked for until the reader starts writing. The sleep
    // proves that nothing is asked for while the page sits there.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(asked(), 0);
    assert_eq!(browser.value(token).unwrap(), baked);

    // Typed and posted at once, with the fresh token: refused as too fast,
    // next to the text, which stays.
    let typed = "Written faster than anyone writes.";
    browser.fill("textarea[name=text]", typed).unwrap();
    eventually("a fresh token", Duration::from_secs(15), || {
        (browser.value(token).unwrap() != baked).then_some(())
    });
    // Issued by now, in the receiver's whole seconds.
    let issued_by = clock_seconds();
    browser.click(SUBMIT).unwrap();
    browser.wait_for("textarea[name=text] + .kiln-js-error");
    assert!(browser
        .text(".kiln-js-error")
        .unwrap()
        .contains("quicker than people usually write"));
    assert!(browser.focused_is("textarea[name=text]").unwrap());
    assert_eq!(browser.value("textarea[name=text]").unwrap(), typed);
    assert_eq!(count_rows(&served.db, "comments"), 0);

    // Once the token is old enough (`min_fill_seconds`, 2) the same post
    // goes through; the token was asked once. (One second would make the
    // refusal above flaky: a post at once may fall in the next second.)
    wait_for_clock(issued_by + 2);
    browser.click(SUBMIT).unwrap();
    browser.wait_for("#kiln-comment-1.kiln-pending");
    assert_eq!(count_rows(&served.db, "comments"), 1);
    assert_eq!(asked(), 1);
}

/// Waits until the page has rendered twice, by when an IntersectionObserver
/// watching something on screen has been told so (and anything it asks
/// for has been sent).
fn two_frames(browser: &Browser) {
    browser
        .run_script(
            "return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))",
            serde_json::json!([]),
        )
        .unwrap();
}

/// Issue 16: "no request to a comment server just to show them", counted
/// with Chromium's own network events. With default settings bake writes
/// the script into the site; a reader who opens a page, scrolls to its
/// thread and opens a list page sends the receiver nothing, though a
/// comment was approved after the bake. Once they use the form, posting
/// works.
#[test]
fn with_javascript_reading_sends_the_receiver_nothing_until_the_form_is_used() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let page = served.page("/posts/hello-world/");
    let post = |text: &str| {
        let fields = [
            ("thread", "/posts/hello-world/"),
            ("url", page.as_str()),
            ("text", text),
        ];
        assert_eq!(post_form(&served.receiver, &fields).0, 303);
    };
    post("Baked.");
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");
    // Approved after the bake: what a live top-up would fetch.
    post("Newer than the bake.");
    served.moderate(&["approve", "2"]);

    // The site's own copy of the script, byte for byte the receiver's.
    let copy = std::fs::read(served.public.join("kiln.js")).unwrap();
    let theirs = http()
        .get(format!("{}/kiln.js", served.receiver.url))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(copy, theirs.to_vec());

    let to_receiver = |urls: &[String]| -> Vec<String> {
        let prefix = format!("{}/", served.receiver.url);
        urls.iter()
            .filter(|u| u.starts_with(&prefix))
            .cloned()
            .collect()
    };
    browser.requests_sent().unwrap();
    browser.goto(&served.page("/posts/")).unwrap();
    two_frames(&browser);
    browser.goto(&page).unwrap();
    // The script ran: it added the Preview button.
    browser.wait_for(".kiln-preview-button");
    browser
        .run_script(
            "document.querySelector('.kiln-thread').scrollIntoView()",
            serde_json::json!([]),
        )
        .unwrap();
    two_frames(&browser);
    let read = browser.requests_sent().unwrap();
    assert!(
        read.contains(&format!("{}/kiln.js", served.site.url)),
        "the script comes from the site: {read:?}"
    );
    assert_eq!(to_receiver(&read), Vec::<String>::new(), "while reading");
    assert!(!browser.exists("#kiln-comment-2").unwrap(), "no top-up");
    assert_eq!(browser.text(".kiln-heading").unwrap(), "1 comment");

    // Using the form reaches the receiver, and posting works.
    browser.click("textarea[name=text]").unwrap();
    post_with_script(&browser, "Posted once I started writing.", 3);
    browser.wait_for("#kiln-comment-3.kiln-pending");
    assert_eq!(status_of(&served.db, 3).0, "pending");
    let used = to_receiver(&browser.requests_sent().unwrap());
    assert!(
        used.contains(&format!("{}/comments", served.receiver.url)),
        "{used:?}"
    );
}

/// Issue 16: the reader's own comment says until when it can be changed in
/// the reader's time, not in UTC. Chromium is told it is in India (UTC+5:30,
/// so no whole-hour coincidence) and writes British English times.
#[test]
fn with_javascript_the_edit_deadline_is_in_the_readers_own_time() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    served.bake_from(None, "state.bin");
    browser
        .cdp(
            "Emulation.setTimezoneOverride",
            serde_json::json!({ "timezoneId": "Asia/Kolkata" }),
        )
        .unwrap();
    browser
        .cdp(
            "Emulation.setLocaleOverride",
            serde_json::json!({ "locale": "en-GB" }),
        )
        .unwrap();
    browser.goto(&served.page("/posts/hello-world/")).unwrap();
    post_with_script(&browser, "When can I change this?", 1);
    browser.wait_for(&format!("#kiln-comment-1 {EDIT}"));
    let until_ms = stored_links(&browser)["1"]["until"].as_i64().unwrap();
    let at = |offset_minutes: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(until_ms / 1000 + offset_minutes * 60)
            .unwrap();
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    let own = browser.text("#kiln-comment-1 .kiln-own").unwrap();
    assert!(own.ends_with(&format!("until {}", at(330))), "{own}");
    assert!(!own.contains(&at(0)), "not in UTC: {own}");
}

/// Issue 16: Post is the one primary button; Preview and Cancel, which the
/// script adds, are secondary (a thinner outline, no fill), in light and dark.
#[test]
fn with_javascript_post_is_the_one_primary_button() {
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
    let none = "rgba(0, 0, 0, 0)";
    for scheme in ["light", "dark"] {
        browser
            .emulate_media_feature("prefers-color-scheme", scheme)
            .unwrap();
        browser.goto(&page).unwrap();
        browser.click("#kiln-comment-1 a.kiln-reply").unwrap();
        browser.wait_for(".kiln-cancel");
        let post = browser.css(SUBMIT, "background-color").unwrap();
        assert_ne!(post, none, "{scheme}: Post is filled");
        for secondary in [".kiln-preview-button", ".kiln-cancel"] {
            assert_eq!(
                browser.css(secondary, "background-color").unwrap(),
                none,
                "{scheme}: {secondary} is not filled"
            );
            assert_eq!(
                browser.css(secondary, "color").unwrap(),
                browser.css(SUBMIT, "color").unwrap(),
                "{scheme}: {secondary} is in Post's ink, only without its fill"
            );
        }
    }
}
