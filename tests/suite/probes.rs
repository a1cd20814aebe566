//! Regression tests for the holes found by probing a running receiver as an
//! attacker would (issue 15): each test is named after what it fixes, and
//! each failed before its fix.

use crate::support::*;

const SITE: &str = "https://blog.example";
const TYPED: &str = "The words I typed, kept when the page is refused ✓";

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
