//! A reader with JavaScript switched off, in real headless Chromium: posts
//! through the baked form, meets an error page that keeps what they typed,
//! fixes it, lands back on the page with the "received" notice, and replies
//! through the no-JS reply link.

use crate::support::browser::BrowserOptions;
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";

#[test]
fn a_reader_without_javascript_posts_fixes_an_error_and_replies() {
    let Some((served, browser)) = ServedSite::with_browser(BrowserOptions { javascript: false })
    else {
        return;
    };
    let (db, receiver) = (&served.db, &served.receiver);
    let bake = || served.bake_from(None, "state.bin");
    bake();
    let page = served.page("/posts/hello-world/");

    browser.goto(&page).unwrap();
    assert_eq!(
        browser.text("#kiln-received").unwrap(),
        "",
        "the notice is hidden until a post lands"
    );

    // An address the browser accepts (type=email) but the receiver does not.
    let typed = "Hello from a browser without JavaScript.\nA second line, with ünïcode ✓";
    let summary = post_refused_email(&browser, receiver, (typed, "Grace", "grace@localhost"));
    assert!(
        summary.contains("Email") && summary.contains("name@example.org"),
        "the error names the field: {summary}"
    );
    // Once (issue 16): not "Email: Email must …".
    assert_eq!(summary.matches("Email").count(), 1, "{summary}");
    assert_eq!(
        browser.value("textarea[name=text]").unwrap(),
        typed,
        "the text is kept"
    );
    assert_eq!(browser.value("input[name=name]").unwrap(), "Grace");
    assert_eq!(
        browser.value("input[name=email]").unwrap(),
        "grace@localhost"
    );
    assert_eq!(count_rows(db, "comments"), 0, "nothing stored");

    // Fixed, it goes through and the reader lands back on the page.
    browser
        .fill("input[name=email]", "grace@example.org")
        .unwrap();
    browser.submit(SUBMIT).unwrap();
    back_to_the_page(&browser, receiver);
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{page}#kiln-received")
    );
    let notice = browser.text("#kiln-received").unwrap();
    assert!(
        notice.contains("received") && notice.contains("moderator"),
        "notice shown: {notice:?}"
    );
    let queue = served.moderate(&["queue"]);
    assert!(
        queue.contains("Grace") && queue.contains("A second line, with ünïcode ✓"),
        "{queue}"
    );

    // Approved and baked, it is on the page; a reader replies without JS.
    served.moderate(&["approve", "1"]);
    bake();
    browser.goto(&page).unwrap();
    assert!(browser
        .text("#kiln-comment-1")
        .unwrap()
        .contains("Hello from a browser without JavaScript."));
    browser.submit("#kiln-comment-1 a.kiln-reply").unwrap();
    assert!(browser
        .current_url()
        .unwrap()
        .starts_with(&format!("{}/reply?", receiver.url)));
    assert!(
        browser
            .source()
            .unwrap()
            .contains("Hello from a browser without JavaScript."),
        "the reply page shows the comment answered"
    );
    browser
        .fill("textarea[name=text]", "A reply, still without JavaScript.")
        .unwrap();
    browser.fill("input[name=name]", "Alan").unwrap();
    browser.submit(SUBMIT).unwrap();
    back_to_the_page(&browser, receiver);
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{page}#kiln-received")
    );

    served.moderate(&["approve", "2"]);
    bake();
    browser.goto(&page).unwrap();
    assert_eq!(
        comment_nesting(&browser.source().unwrap()),
        [(1, None), (2, Some(1))]
    );
}
