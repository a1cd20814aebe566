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
