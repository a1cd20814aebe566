//! A page as any bytes, with or without placeholders, through bake's
//! injector. It never panics; a page it rewrites parses, differs from the
//! original only inside placeholders, and comes out of a second bake
//! unchanged; a page it passes over holds no placeholder at all.

#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use kiln_bake::export::{Comment, CommentStatus, Thread};
use kiln_bake::inject::{rewrite_page, Placing};
use kiln_bake::source::stamp_of;
use kiln_bake::{RenderOptions, Renderer, Stamp};
use libfuzzer_sys::fuzz_target;

static RENDERER: LazyLock<Renderer> = LazyLock::new(|| {
    Renderer::new(RenderOptions {
        receiver_url: "https://comments.example".to_owned(),
        ..RenderOptions::default()
    })
    .unwrap()
});

/// Comments for the page's own thread (its path) and for the id `x`.
static THREADS: LazyLock<HashMap<String, Thread>> = LazyLock::new(|| {
    ["/blog/posts/a/", "x"]
        .into_iter()
        .map(|id| {
            let thread = Thread {
                id: id.to_owned(),
                url: format!("https://site.example{id}"),
                comments: vec![Comment {
                    id: 1,
                    parent: None,
                    status: CommentStatus::Approved,
                    author: "Ann".to_owned(),
                    website: Some("https://ann.example/".to_owned()),
                    text: "Hello *there* <b>".to_owned(),
                    created_at: "2026-11-23T10:00:00Z".to_owned(),
                    avatar: None,
                    gravatar: None,
                    likes: 0,
                    verified: false,
                    html: None,
                }],
            };
            (id.to_owned(), thread)
        })
        .collect()
});

static STAMPS: LazyLock<HashMap<String, Stamp>> = LazyLock::new(|| {
    THREADS
        .iter()
        .map(|(id, thread)| (id.clone(), stamp_of(thread)))
        .collect()
});

fuzz_target!(|page: &[u8]| {
    let placing = Placing {
        renderer: &RENDERER,
        threads: &THREADS,
        stamps: &STAMPS,
        site_url: "https://site.example/blog",
        base: "/blog",
        // Feed links change `<head>`, outside the placeholders, which the
        // check below forbids: this target covers bake without feeds.
        feeds: None,
    };
    let relative = "posts/a/index.html";
    let rewritten = rewrite_page(page, relative, &placing).expect("only a template error fails");
    let Some((output, report)) = rewritten else {
        // Passed over unparsed: then no element may carry a placeholder.
        if let Ok(elements) = kiln_fuzz::elements(page) {
            for el in elements {
                assert!(
                    !el.attributes
                        .iter()
                        .any(|(n, _)| n == "data-kiln-thread" || n == "data-kiln-count"),
                    "a placeholder <{}> was passed over",
                    el.tag
                );
            }
        }
        return;
    };
    if report.unparsable {
        // Bake leaves such a page as it is.
        return;
    }
    kiln_fuzz::elements(&output).expect("a rewritten page parses");
    let before = kiln_fuzz::outside_placeholders(page).expect("the page parsed once");
    let after = kiln_fuzz::outside_placeholders(&output).expect("the output parses");
    if let Some(at) = first_difference(&before, &after) {
        panic!(
            "the bake changed the page outside its placeholders at byte {at}:\nbefore: {}\nafter:  {}",
            around(&before, at),
            around(&after, at)
        );
    }
    let (again, _) = rewrite_page(&output, relative, &placing)
        .expect("only a template error fails")
        .expect("the output still has its placeholders");
    if let Some(at) = first_difference(&output, &again) {
        panic!(
            "a second bake changed the page at byte {at}:\nfirst:  {}\nsecond: {}",
            around(&output, at),
            around(&again, at)
        );
    }
});

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    (a != b).then(|| a.iter().zip(b).take_while(|(x, y)| x == y).count())
}

/// A few hundred bytes around `at`, for the message.
fn around(bytes: &[u8], at: usize) -> String {
    let start = at.saturating_sub(200);
    let end = (at + 200).min(bytes.len());
    format!("{:?}", String::from_utf8_lossy(&bytes[start.min(end)..end]))
}
