//! Issue 18's feeds, end to end: the Hugo example built by the real `hugo`,
//! comments posted to a real receiver and approved, `kiln bake` with
//! `bake.feeds` on, and both Atom feeds read over HTTP by a real feed parser
//! (Python's feedparser, from the test venv), starting from the
//! `<link rel="alternate">` the page carries, as a reader's feed reader
//! would.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

#[test]
fn feeds_of_a_hugo_site_parse_and_list_the_approved_comments() {
    let Some(python) = python_with("feedparser") else {
        return;
    };
    let Some(served) = ServedSite::start() else {
        return;
    };
    let receiver = &served.receiver;
    let hello = served.page("/posts/hello-world/");
    let second = served.page("/posts/second-post/");
    let post = |thread: &str, url: &str, name: &str, text: &str| {
        let fields = [
            ("thread", thread),
            ("url", url),
            ("name", name),
            ("text", text),
        ];
        assert_eq!(post_form(receiver, &fields).0, 303, "{name}");
    };
    post("/posts/hello-world/", &hello, "Ann", "First & *best*");
    post("/posts/hello-world/", &hello, "Bo", "Second <here>");
    post("/posts/second-post/", &second, "Cy", "On the second post");
    post("/posts/hello-world/", &hello, "Dee", "Never approved");
    for id in ["1", "2", "3"] {
        served.moderate(&["approve", id]);
    }
    let feeds_on = [("KILN_BAKE_FEEDS", "true")];
    let out = served.bake_with_env(&feeds_on, None, "state");
    assert!(!out.contains("nothing changed"), "{out}");

    // The page names its feed; the feed reader follows that link.
    let page = http().get(&hello).send().unwrap().text().unwrap();
    let href = alternate_feed(&page);
    let feed_url = url::Url::parse(&hello).unwrap().join(&href).unwrap();
    let thread = parse_feed(&python, &feed_url);
    assert_eq!(thread["bozo"], false, "{thread}");
    assert_eq!(thread["version"], "atom10", "{thread}");
    assert_eq!(thread["id"], feed_url.as_str(), "the feed's id is its URL");
    assert_eq!(thread["self"], feed_url.as_str(), "{thread}");
    assert_eq!(
        thread["title"], "Comments on Hello, world · Kiln Example",
        "{thread}"
    );
    let permalink = |page: &str, id: u32| format!("{page}#kiln-comment-{id}");
    // Newest first; the one never approved is not there.
    assert_eq!(
        entries(&thread),
        [
            ("Bo".to_owned(), permalink(&hello, 2), permalink(&hello, 2)),
            ("Ann".to_owned(), permalink(&hello, 1), permalink(&hello, 1)),
        ]
    );
    let first = &thread["entries"][1];
    assert_eq!(
        first["title"], "Ann on Hello, world · Kiln Example",
        "{first}"
    );
    assert_eq!(first["content_type"], "text/html", "{first}");
    let content = first["content"].as_str().unwrap();
    assert!(
        content.contains("First &amp; <em>best</em>"),
        "the page's sanitized HTML: {content}"
    );
    assert!(!thread.to_string().contains("Never approved"), "{thread}");

    // The site's feed: every approved comment, each on its own page.
    let site_url = url::Url::parse(&feed_url.as_str().replace(
        feed_url.path_segments().unwrap().next_back().unwrap(),
        "latest.xml",
    ))
    .unwrap();
    let site = parse_feed(&python, &site_url);
    assert_eq!(site["bozo"], false, "{site}");
    assert_eq!(site["id"], site_url.as_str(), "{site}");
    assert_eq!(
        entries(&site),
        [
            (
                "Cy".to_owned(),
                permalink(&second, 3),
                permalink(&second, 3)
            ),
            ("Bo".to_owned(), permalink(&hello, 2), permalink(&hello, 2)),
            ("Ann".to_owned(), permalink(&hello, 1), permalink(&hello, 1)),
        ]
    );
    assert_eq!(
        site["entries"][0]["title"], "Cy on A second post · Kiln Example",
        "{site}"
    );

    // Nothing new: nothing written, feeds included; `--feeds` is the same
    // as `bake.feeds = true`.
    let before = snapshot(&served.public);
    let state = served.dir().join("state");
    let args = [
        "--db",
        served.db.arg(),
        "bake",
        "--from",
        served.db.arg(),
        "--feeds",
        "--site-url",
        &served.site.url,
        "--receiver-url",
        &receiver.url,
        "--state",
        state.to_str().unwrap(),
        served.public.to_str().unwrap(),
    ];
    let again = kiln_ok(served.dir(), &args);
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(snapshot(&served.public), before);

    // A deleted comment leaves both feeds at the next bake.
    served.moderate(&["delete", "2"]);
    served.bake_with_env(&feeds_on, None, "state");
    let thread = parse_feed(&python, &feed_url);
    let site = parse_feed(&python, &site_url);
    assert_eq!(entries(&thread).len(), 1, "{thread}");
    assert_eq!(entries(&thread)[0].0, "Ann");
    let authors: Vec<String> = entries(&site).into_iter().map(|e| e.0).collect();
    assert_eq!(authors, ["Cy", "Ann"], "{site}");
}

/// The receiver's in-place publisher bakes with the same options: with
/// `bake.feeds` on, an approval reaches the thread's feed on the served
/// site without anyone running `kiln bake`.
#[test]
fn the_in_place_publisher_keeps_the_feeds() {
    let Some(python) = python_with("feedparser") else {
        return;
    };
    let Some(served) = ServedSite::in_place(&[("KILN_BAKE_FEEDS", "true")]) else {
        return;
    };
    let receiver = &served.receiver;
    let hello = format!("{}/posts/hello-world/", served.site.url);
    // The first in-place bake links the (empty) feed from the page. A bake
    // writes the pages first and the feeds after them (a feed's titles come
    // from its pages), so the feed can lag the link by a moment.
    let feed_url = eventually("the feed link on the page", Duration::from_secs(30), || {
        let page = http().get(&hello).send().ok()?.text().ok()?;
        let href = page
            .contains("data-kiln-feed")
            .then(|| alternate_feed(&page))?;
        let feed_url = url::Url::parse(&hello).unwrap().join(&href).unwrap();
        let feed = http().get(feed_url.as_str()).send().ok()?;
        (feed.status() == 200).then_some(feed_url)
    });
    let empty = parse_feed(&python, &feed_url);
    assert_eq!(empty["bozo"], false, "{empty}");
    assert!(entries(&empty).is_empty(), "{empty}");

    let fields = [
        ("thread", "/posts/hello-world/"),
        ("url", hello.as_str()),
        ("name", "Ann"),
        ("text", "Published in place"),
    ];
    assert_eq!(post_form(receiver, &fields).0, 303);
    served.moderate(&["approve", "1"]);
    let permalink = format!("{hello}#kiln-comment-1");
    eventually(
        "the approved comment in the feed",
        Duration::from_secs(30),
        || {
            let body = http().get(feed_url.as_str()).send().ok()?.text().ok()?;
            body.contains(&permalink).then_some(())
        },
    );
    let feed = parse_feed(&python, &feed_url);
    assert_eq!(feed["bozo"], false, "{feed}");
    assert_eq!(
        entries(&feed),
        [("Ann".to_owned(), permalink.clone(), permalink)]
    );
}

/// The `href` of the page's Atom `<link rel="alternate">` in its `<head>`.
fn alternate_feed(page: &str) -> String {
    let head = &page[..page.find("</head>").expect("a </head>")];
    let at = head
        .find("<link rel=\"alternate\" type=\"application/atom+xml\"")
        .unwrap_or_else(|| panic!("no feed link in the head:\n{head}"));
    let link = &head[at..at + head[at..].find('>').unwrap()];
    let start = link.find("href=\"").unwrap() + "href=\"".len();
    let end = start + link[start..].find('"').unwrap();
    kiln_bake::inject::decode_attribute(&link[start..end])
}

/// (author, link, id) of every entry, in feed order.
fn entries(feed: &Value) -> Vec<(String, String, String)> {
    feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("author"), text("link"), text("id"))
        })
        .collect()
}

/// Fetches `url` and has feedparser read it; what it saw, as JSON.
fn parse_feed(python: &PathBuf, url: &url::Url) -> Value {
    let response = http().get(url.as_str()).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let bytes = response.bytes().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, &bytes).unwrap();
    let script = r#"
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
f = d.feed
print(json.dumps({
    "bozo": bool(d.bozo),
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "id": f.get("id"),
    "title": f.get("title"),
    "updated": f.get("updated"),
    "self": next((l.href for l in f.get("links", []) if l.rel == "self"), None),
    "entries": [{
        "id": e.get("id"),
        "link": e.get("link"),
        "author": e.get("author"),
        "title": e.get("title"),
        "updated": e.get("updated"),
        "content": e.content[0].value if e.get("content") else None,
        "content_type": e.content[0].type if e.get("content") else None,
    } for e in d.entries],
}))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "feedparser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
