//! Hostile input comes out inert: `<script>`, `javascript:` URLs and event
//! handler attributes in the name, website and text are escaped, dropped or
//! refused, whether they arrive through the receiver or an export file, and
//! a real browser with JavaScript on runs none of them.

use serde_json::json;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

/// Each payload sets the document title if it ever runs.
const NAME: &str =
    "\"><img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>";
const TEXT: &str = "<script>document.title='pwned'</script>\n\n\
    [click me](javascript:document.title='pwned') \
    <a href=\"#\" onclick=\"document.title='pwned'\">inline</a> \
    <img src=x onerror=\"document.title='pwned'\"> \
    [data](data:text/html,<script>document.title='pwned'</script>) \
    <svg onload=\"document.title='pwned'\"></svg>";

fn assert_inert(html: &str, context: &str) {
    let elements = thread_elements(html);
    assert!(
        elements.iter().any(|(tag, _)| tag == "article"),
        "{context}: the comments are there"
    );
    for (tag, attrs) in &elements {
        // The one script allowed is kiln's own, a file of the site
        // (`bake.script_file`).
        let kilns_script = tag == "script"
            && attrs.len() == 3
            && attrs.iter().any(|(n, v)| n == "type" && v == "module")
            && attrs.iter().any(|(n, _)| n == "defer")
            && attrs.iter().any(|(n, v)| n == "src" && v == "/kiln.js");
        // And kiln's own stylesheet, a file of the site (`bake.stylesheet`).
        let kilns_stylesheet = tag == "link"
            && attrs.len() == 2
            && attrs.iter().any(|(n, v)| n == "rel" && v == "stylesheet")
            && attrs.iter().any(|(n, v)| n == "href" && v == "/kiln.css");
        // So is kiln's own avatar: inline SVG with these attributes only.
        let mut names: Vec<String> = attrs.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        names.sort();
        let kilns_avatar = tag == "svg"
            && attrs
                .iter()
                .any(|(n, v)| n == "class" && v == "kiln-avatar")
            && names
                == [
                    "aria-hidden",
                    "class",
                    "focusable",
                    "height",
                    "viewbox",
                    "width",
                ];
        assert!(
            kilns_script
                || kilns_avatar
                || !matches!(tag.as_str(), "script" | "img" | "svg" | "iframe" | "object"),
            "{context}: <{tag}> in a thread"
        );
        for (name, value) in attrs {
            assert!(
                !name.starts_with("on"),
                "{context}: <{tag} {name}={value:?}>"
            );
            let v = value.trim().to_ascii_lowercase();
            if matches!(name.as_str(), "href" | "src" | "action" | "formaction")
                && !kilns_stylesheet
                && !kilns_script
            {
                assert!(
                    v.starts_with("https://") || v.starts_with("http://") || v.starts_with('#'),
                    "{context}: <{tag} {name}={value:?}>"
                );
            }
        }
    }
    // The words are still there for the reader, as text.
    assert!(
        html.contains("&lt;script&gt;"),
        "{context}: markup is shown as text"
    );
}

#[test]
fn hostile_comments_are_inert_on_the_page_and_in_a_browser() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let (receiver, public) = (&served.receiver, &served.public);
    let page = served.page("/posts/hello-world/");

    // Through the receiver: a javascript: website is refused outright...
    let base = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("name", NAME),
        ("text", TEXT),
    ];
    let mut with_js_site = base.to_vec();
    with_js_site.push(("website", "javascript:document.title='pwned'"));
    let (status, _, body) = post_form(receiver, &with_js_site);
    assert_eq!(status, 422);
    assert!(
        !body.contains("<script>document"),
        "the error page escapes what was typed"
    );
    // ...and the rest is stored as typed, to be escaped on the way out.
    let mut with_quote_site = base.to_vec();
    with_quote_site.push((
        "website",
        "https://evil.example/\"onmouseover=\"document.title='pwned'",
    ));
    assert_eq!(post_form(receiver, &with_quote_site).0, 303);
    served.moderate(&["approve", "1"]);

    // Through an export file, which skips the receiver's checks entirely.
    let export = json!({
        "format": "kiln-export", "version": 1, "generated_at": "2026-11-23T12:00:00Z",
        "threads": [{ "id": "/posts/second-post/", "url": served.page("/posts/second-post/"), "comments": [{
            "id": 7, "parent": null, "status": "approved", "author": NAME,
            "website": "javascript:document.title='pwned'", "text": TEXT, "created_at": "2026-11-23T12:00:00Z"
        }]}]
    });
    let export_file = served.dir().join("hostile.json");
    std::fs::write(&export_file, serde_json::to_vec(&export).unwrap()).unwrap();

    // A real browser with JavaScript on must run none of it.
    let browser = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap();
    let check_in_browser = |url: &str| {
        let Some(browser) = &browser else { return };
        browser.goto(url).unwrap();
        for link in ["a[href^='javascript']", "a[onclick]"] {
            assert!(!browser.exists(link).unwrap(), "{url}: {link}");
        }
        assert!(
            !browser.source().unwrap().contains("<title>pwned</title>"),
            "{url}: a payload ran"
        );
        assert!(
            browser.text(".kiln-comment").unwrap().contains("<script>"),
            "{url}: shown as text"
        );
    };

    served.bake_from(None, "a.bin");
    let hello = std::fs::read_to_string(public.join("posts/hello-world/index.html")).unwrap();
    assert_inert(&hello, "from the receiver");
    assert!(
        hello.contains("https://evil.example/%22onmouseover=%22"),
        "the quote in the website is encoded"
    );
    check_in_browser(&page);

    // The export file replaces the database as the source of every thread.
    served.bake_from(export_file.to_str(), "b.bin");
    let second = std::fs::read_to_string(public.join("posts/second-post/index.html")).unwrap();
    assert_inert(&second, "from an export file");
    assert!(
        !second.to_ascii_lowercase().contains("href=\"javascript:"),
        "a javascript: website is not linked"
    );
    check_in_browser(&served.page("/posts/second-post/"));
}
