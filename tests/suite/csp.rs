//! Baked pages under a strict Content-Security-Policy, in real headless
//! Chromium: the page with the optional script and JavaScript on, and the
//! page without it and JavaScript off. Each is used the way a reader uses it
//! (post, edit, preview, reply, delete, comments newer than the bake,
//! counts) while the
//! site sends the policy, and then neither the reports Chromium POSTs
//! (`report-uri`) nor its console may name a violation. A control page with
//! one inline style, visited last under the same policy, proves that a
//! violation would have been seen.

use std::time::{Duration, Instant};

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";
const CONTROL: &str = "/csp-control/";

/// What a careful site sends: nothing but the site's own styles and images,
/// and the receiver for the script, its requests and the form.
fn strict_policy(site: &str, receiver: &str) -> String {
    format!(
        "default-src 'none'; script-src {receiver}; connect-src {receiver}; \
         style-src 'self'; img-src 'self' data:; form-action {receiver} 'self'; \
         base-uri 'none'; frame-ancestors 'none'; report-uri {site}{}",
        StaticSite::CSP_REPORTS
    )
}

/// The example site, baked, served with the strict policy.
fn served_under_policy(script: bool) -> Option<ServedSite> {
    let served = ServedSite::start()?;
    let (status, _, body) = post_form(
        &served.receiver,
        &[
            ("thread", "/posts/hello-world/"),
            ("url", &served.page("/posts/hello-world/")),
            ("name", "Ada"),
            ("text", "The first comment, baked."),
        ],
    );
    assert_eq!(status, 303, "{body}");
    served.moderate(&["approve", "1"]);
    std::fs::write(
        served.dir().join("kiln.toml"),
        // Nothing about styles: by default the threads link `kiln.css`,
        // a file of the site, which `style-src 'self'` allows.
        format!("[bake]\nscript = {script}\n"),
    )
    .unwrap();
    served.bake_from(None, "state.bin");
    served.site.add_header(
        "Content-Security-Policy",
        &strict_policy(&served.site.url, &served.receiver.url),
    );
    // One inline style attribute, which the policy refuses.
    let control = served.public.join(CONTROL.trim_matches('/'));
    std::fs::create_dir_all(&control).unwrap();
    std::fs::write(
        control.join("index.html"),
        "<!DOCTYPE html><title>control</title><p style=\"color: red\">inline style</p>",
    )
    .unwrap();
    Some(served)
}

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

/// The thread's stylesheet applied: the honeypot is off screen and the
/// "received" notice hidden until its anchor is the target.
fn assert_styled(browser: &Browser) {
    assert_eq!(browser.css(".kiln-hp", "position").unwrap(), "absolute");
    assert_eq!(browser.css("#kiln-received", "display").unwrap(), "none");
    assert!(!browser.exists(".kiln-thread style").unwrap());
}

/// Visits the control page, waits until both channels report its violation
/// (so reports from the pages before it had time to arrive too), and returns
/// everything either channel said about any other page.
fn violations_besides_the_control(served: &ServedSite, browser: &Browser) -> Vec<String> {
    browser.goto(&served.page(CONTROL)).unwrap();
    let about_control = |text: &str| text.contains(CONTROL);
    let mut console = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        console.extend(
            browser
                .console_log()
                .unwrap()
                .into_iter()
                .filter(|line| line.contains("Content Security Policy")),
        );
        let reports: Vec<String> = served
            .site
            .csp_reports()
            .iter()
            .map(|body| {
                let report: serde_json::Value = serde_json::from_str(body).unwrap();
                report["csp-report"].to_string()
            })
            .collect();
        let seen =
            console.iter().any(|l| about_control(l)) && reports.iter().any(|r| about_control(r));
        if seen || Instant::now() > deadline {
            assert!(
                seen,
                "the control page's inline style was not reported; console: {console:?}, reports: {reports:?}"
            );
            return console
                .into_iter()
                .map(|l| format!("console: {l}"))
                .chain(reports.into_iter().map(|r| format!("report: {r}")))
                .filter(|l| !about_control(l))
                .collect();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn with_the_script_and_javascript_on_a_strict_policy_is_never_violated() {
    let Some(served) = served_under_policy(true) else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let page = served.page("/posts/hello-world/");
    browser.goto(&page).unwrap();
    assert_styled(&browser);
    // Post; the pending comment is inserted in place.
    browser
        .fill("textarea[name=text]", "Posted under a policy.")
        .unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, ".kiln-comments .kiln-pending");
    // Edit it in place.
    browser
        .click("#kiln-comment-2 .kiln-own button:first-child")
        .unwrap();
    browser
        .fill(".kiln-editor textarea", "Edited *under* a policy.")
        .unwrap();
    browser
        .click(".kiln-editor button:not([type=button])")
        .unwrap();
    wait_for(&browser, "#kiln-comment-2 .kiln-body em");
    // Preview.
    browser
        .fill("textarea[name=text]", "Some **bold**")
        .unwrap();
    browser.click(".kiln-preview-button").unwrap();
    wait_for(&browser, ".kiln-preview strong");
    // Reply in place.
    browser.click("#kiln-comment-1 a.kiln-reply").unwrap();
    wait_for(&browser, "#kiln-comment-1 form.kiln-form");
    browser.fill("textarea[name=text]", "A reply.").unwrap();
    browser.click(SUBMIT).unwrap();
    wait_for(&browser, "#kiln-comment-1 .kiln-replies .kiln-pending");
    // Delete the reply again: asked first, then gone.
    browser
        .click("#kiln-comment-3 .kiln-own button:last-child")
        .unwrap();
    browser
        .click("#kiln-comment-3 .kiln-own button:first-child")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while browser.exists("#kiln-comment-3").unwrap() {
        assert!(Instant::now() < deadline, "the reply was not deleted");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Comments approved after the bake.
    served.moderate(&["approve", "2"]);
    browser.goto(&page).unwrap();
    browser.click("textarea[name=text]").unwrap();
    wait_for(&browser, ".kiln-comments > #kiln-comment-2");
    // Counts on a list page, topped up.
    browser.goto(&served.page("/posts/")).unwrap();
    let count = "[data-kiln-count=\"/posts/hello-world/\"]";
    let deadline = Instant::now() + Duration::from_secs(15);
    while browser.text(count).unwrap() != "2 comments" {
        assert!(Instant::now() < deadline, "the count was not topped up");
        std::thread::sleep(Duration::from_millis(100));
    }

    let violations = violations_besides_the_control(&served, &browser);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn without_the_script_and_javascript_off_a_strict_policy_is_never_violated() {
    let Some(served) = served_under_policy(false) else {
        return;
    };
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let page = served.page("/posts/hello-world/");
    browser.goto(&page).unwrap();
    assert_styled(&browser);
    assert!(
        !browser.exists("script").unwrap(),
        "bake.script = false leaves the script out"
    );
    // Post through the plain form: the receiver's thank-you page (with the
    // private edit link) leads back to the page.
    browser
        .fill("textarea[name=text]", "Posted without JavaScript.")
        .unwrap();
    browser.submit(SUBMIT).unwrap();
    back_to_the_page(&browser, &served.receiver);
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{page}#kiln-received")
    );
    // Reply: the link leads to the receiver's reply page, which posts back.
    browser.submit("#kiln-comment-1 a.kiln-reply").unwrap();
    browser
        .fill("textarea[name=text]", "A reply without JavaScript.")
        .unwrap();
    browser.submit(SUBMIT).unwrap();
    back_to_the_page(&browser, &served.receiver);
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{page}#kiln-received")
    );
    assert_eq!(count_rows(&served.db, "comments"), 3);
    // A list page with counts.
    browser.goto(&served.page("/posts/")).unwrap();
    assert!(browser.exists("[data-kiln-count]").unwrap());

    let violations = violations_besides_the_control(&served, &browser);
    assert!(violations.is_empty(), "{violations:#?}");
}
