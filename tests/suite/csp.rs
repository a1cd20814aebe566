//! Baked pages under a strict Content-Security-Policy, in real headless
//! Chromium: the page with the optional script and JavaScript on, and the
//! page without it and JavaScript off. Each is used the way a reader uses it
//! (post, edit, preview, reply, delete, comments newer than the bake,
//! counts) while the
//! site sends the policy, and then neither the reports Chromium POSTs
//! (`report-uri`) nor its console may name a violation. A control page with
//! one inline style, visited last under the same policy, proves that a
//! violation would have been seen.

use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";
const CONTROL: &str = "/csp-control/";

/// What a careful site sends: nothing but the site's own script, styles
/// and images, and the receiver for the script's requests and the form.
fn strict_policy(site: &str, receiver: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; connect-src {receiver}; \
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
        // a file of the site, which `style-src 'self'` allows; the script
        // is one too (`kiln.js`). Live top-up on, to be used below.
        format!("[bake]\nscript = {script}\nlive = true\n"),
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
    // Chromium hands over each console line once.
    let mut console = Vec::new();
    let reports = eventually(
        "both channels to report the control page's inline style",
        Duration::from_secs(20),
        || {
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
            if console.iter().any(|l| about_control(l)) && reports.iter().any(|r| about_control(r))
            {
                Ok(reports)
            } else {
                Err(format!("console: {console:?}, reports: {reports:?}"))
            }
        },
    );
    console
        .into_iter()
        .map(|l| format!("console: {l}"))
        .chain(reports.into_iter().map(|r| format!("report: {r}")))
        .filter(|l| !about_control(l))
        .collect()
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
    browser.wait_for(".kiln-comments .kiln-pending");
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
    browser.wait_for("#kiln-comment-2 .kiln-body em");
    // Preview.
    browser
        .fill("textarea[name=text]", "Some **bold**")
        .unwrap();
    browser.click(".kiln-preview-button").unwrap();
    browser.wait_for(".kiln-preview strong");
    // Reply in place.
    browser.click("#kiln-comment-1 a.kiln-reply").unwrap();
    browser.wait_for("#kiln-comment-1 form.kiln-form");
    browser.fill("textarea[name=text]", "A reply.").unwrap();
    browser.click(SUBMIT).unwrap();
    browser.wait_for("#kiln-comment-1 .kiln-replies .kiln-pending");
    // Delete the reply again: asked first, then gone.
    browser
        .click("#kiln-comment-3 .kiln-own button:last-child")
        .unwrap();
    browser
        .click("#kiln-comment-3 .kiln-own button:first-child")
        .unwrap();
    browser.wait_gone("#kiln-comment-3");
    // Comments approved after the bake.
    served.moderate(&["approve", "2"]);
    browser.goto(&page).unwrap();
    browser.click("textarea[name=text]").unwrap();
    browser.wait_for(".kiln-list > #kiln-comment-2");
    // Counts on a list page, topped up.
    browser.goto(&served.page("/posts/")).unwrap();
    let count = "[data-kiln-count=\"/posts/hello-world/\"]";
    eventually("the count to be topped up", Duration::from_secs(15), || {
        let text = browser.text(count).unwrap();
        if text == "2 comments" {
            Ok(())
        } else {
            Err(format!("it says {text:?}"))
        }
    });

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
