//! A commenter's Markdown, name and website, as any text (the first line is
//! the name, the second the website, the rest the comment). The renderer's
//! output holds only the elements and attributes Markdown makes, links only
//! to http(s) and mailto URLs, never `<script`, and comes out of the
//! sanitizer unchanged. The whole thread around it is inert, and the fast
//! path renders exactly what the templates render.

#![no_main]

use std::sync::LazyLock;

use kiln_bake::export::{Comment, CommentStatus, Thread};
use kiln_bake::markdown::{sanitize, to_html, LINK_REL};
use kiln_bake::{RenderOptions, Renderer, ThreadArgs};
use libfuzzer_sys::fuzz_target;

/// What pulldown-cmark makes with kiln's options (tables, strikethrough);
/// raw HTML is shown as text, so nothing else may appear.
const MARKDOWN_TAGS: &[&str] = &[
    "p",
    "em",
    "strong",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];
const MARKDOWN_ATTRIBUTES: &[&str] = &["href", "rel", "title", "start"];

fn options() -> RenderOptions {
    RenderOptions {
        receiver_url: "https://comments.example".to_owned(),
        // The one script a thread may carry is kiln's own, off here so that
        // any <script> is a finding.
        script: false,
        ..RenderOptions::default()
    }
}

/// The built-in templates, on the fast path.
static FAST: LazyLock<Renderer> = LazyLock::new(|| Renderer::new(options()).unwrap());

/// The same templates through tera: a template directory overriding
/// `comment.html` with its own text turns the fast path off.
static TERA: LazyLock<(tempfile::TempDir, Renderer)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("comment.html"),
        include_str!("../../templates/comment.html"),
    )
    .unwrap();
    let renderer = Renderer::new(RenderOptions {
        templates_dir: Some(dir.path().to_owned()),
        ..options()
    })
    .unwrap();
    (dir, renderer)
});

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = input.splitn(3, '\n');
    let (name, website, text) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );

    for markdown in [input, text] {
        let html = to_html(markdown);
        assert_markdown_html(&html);
        assert_eq!(sanitize(&html), html, "sanitizing the output changed it");
    }

    let comment = |id, parent, status, text: &str| Comment {
        id,
        parent,
        status,
        author: name.to_owned(),
        website: (!website.is_empty()).then(|| website.to_owned()),
        text: text.to_owned(),
        created_at: "2026-11-23T10:00:00Z".to_owned(),
        avatar: Some("0123456789abcdef".to_owned()),
        gravatar: None,
        likes: 0,
        verified: false,
        html: None,
    };
    let thread = Thread {
        id: "/posts/fuzz/".to_owned(),
        url: "https://blog.example/posts/fuzz/".to_owned(),
        comments: vec![
            comment(1, None, CommentStatus::Approved, text),
            comment(2, Some(1), CommentStatus::Deleted, ""),
            comment(3, Some(2), CommentStatus::Approved, input),
        ],
    };
    let args = ThreadArgs {
        id: &thread.id,
        thread: Some(&thread),
        page_url: &thread.url,
        page_title: name,
        id_prefix: "kiln-1",
        lang: None,
    };
    let fast = FAST.render_thread(&args).unwrap();
    kiln_fuzz::assert_inert(&fast, "the thread");
    let tera = TERA.1.render_thread(&args).unwrap();
    assert_eq!(fast, tera, "the fast path and tera disagree");
});

/// Panics unless `html` is what Markdown alone can make.
fn assert_markdown_html(html: &str) {
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "<script in {html}"
    );
    kiln_fuzz::assert_inert(html, "the comment");
    for el in kiln_fuzz::elements(html).unwrap() {
        assert!(
            MARKDOWN_TAGS.contains(&el.tag.as_str()),
            "<{}> in {html}",
            el.tag
        );
        for (name, value) in &el.attributes {
            assert!(
                MARKDOWN_ATTRIBUTES.contains(&name.as_str()),
                "{name} on <{}> in {html}",
                el.tag
            );
            if name == "href" {
                let href = kiln_bake::inject::decode_attribute(value);
                let scheme = url::Url::parse(&href).map(|u| u.scheme().to_owned());
                assert!(
                    matches!(scheme.as_deref(), Ok("http" | "https" | "mailto")),
                    "href {href:?} in {html}"
                );
            }
            if name == "rel" {
                assert_eq!(value, LINK_REL, "{html}");
            }
        }
        if el.tag == "a" && el.attributes.iter().any(|(n, _)| n == "href") {
            assert!(
                el.attributes.iter().any(|(n, _)| n == "rel"),
                "a link without rel in {html}"
            );
        }
    }
}
