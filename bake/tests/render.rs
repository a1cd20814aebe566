//! The renderer on its own: nesting, deleted comments, and the pages the
//! receiver shows.

mod common;

use std::collections::BTreeMap;

use common::{comment, thread};
use kiln_bake::export::{CommentStatus, Thread};
use kiln_bake::render::BackLink;
use kiln_bake::{RenderOptions, Renderer, ThreadArgs};

fn renderer(max_depth: usize) -> Renderer {
    Renderer::new(RenderOptions {
        max_depth,
        receiver_url: "https://c.example.org".into(),
        ..RenderOptions::default()
    })
    .unwrap()
}

fn render(renderer: &Renderer, thread: &Thread) -> String {
    renderer
        .render_thread(&ThreadArgs {
            id: &thread.id,
            thread: Some(thread),
            page_url: "https://example.org/p/",
            page_title: "P",
            id_prefix: "kiln-1",
            lang: None,
        })
        .unwrap()
}

/// The depth class of each comment, in document order.
fn depths(html: &str) -> Vec<(i64, usize)> {
    html.split("<article id=\"kiln-comment-")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap().parse().unwrap();
            let depth = rest.split("kiln-depth-").nth(1).unwrap();
            let depth = depth[..depth.find(|c: char| !c.is_ascii_digit()).unwrap()]
                .parse()
                .unwrap();
            (id, depth)
        })
        .collect()
}

#[test]
fn replies_nest_up_to_max_depth_then_list_flat_in_date_order() {
    // 1 ← 2 ← 3 ← 4 ← 5, and 6 answers 3 but was written before 5.
    let mut comments = vec![
        comment(1, None, "A", "one"),
        comment(2, Some(1), "B", "two"),
        comment(3, Some(2), "C", "three"),
        comment(4, Some(3), "D", "four"),
        comment(6, Some(3), "F", "six"),
        comment(5, Some(4), "E", "five"),
    ];
    for (c, hour) in comments.iter_mut().zip([1, 2, 3, 4, 5, 6]) {
        c.created_at = format!("2026-11-18T{hour:02}:00:00Z");
    }
    let html = render(&renderer(3), &thread("/p/", comments));
    assert_eq!(
        depths(&html),
        [(1, 1), (2, 2), (3, 3), (4, 3), (6, 3), (5, 3)]
    );
    // The flattened ones say whom they answer; the one under its parent does not.
    let article = |id: i64| {
        let start = html
            .find(&format!("<article id=\"kiln-comment-{id}\""))
            .unwrap();
        &html[start..start + html[start..].find("<div class=\"kiln-body\"").unwrap()]
    };
    assert!(!article(3).contains("in reply to"), "{}", article(3));
    assert!(
        article(4).contains("in reply to <a href=\"#kiln-comment-3\"><bdi>C</bdi></a>"),
        "{}",
        article(4)
    );
    assert!(
        article(5).contains("in reply to <a href=\"#kiln-comment-4\"><bdi>D</bdi></a>"),
        "{}",
        article(5)
    );

    let deep = render(&renderer(10), &thread("/p/", html_free_chain(6)));
    assert_eq!(
        depths(&deep),
        (1..=6).map(|i| (i, i as usize)).collect::<Vec<_>>()
    );
}

fn html_free_chain(n: i64) -> Vec<kiln_bake::export::Comment> {
    (1..=n)
        .map(|i| comment(i, (i > 1).then(|| i - 1), "X", "x"))
        .collect()
}

#[test]
fn max_depth_one_lists_everything_flat() {
    let html = render(&renderer(1), &thread("/p/", html_free_chain(4)));
    assert_eq!(depths(&html), [(1, 1), (2, 1), (3, 1), (4, 1)]);
    assert!(!html.contains("class=\"kiln-replies\""));
}

#[test]
fn orphans_show_at_the_top_and_deleted_comments_keep_their_replies() {
    let mut gone = comment(1, None, "Secret Name", "secret text");
    gone.status = CommentStatus::Deleted;
    let comments = vec![
        gone,
        comment(2, Some(1), "B", "still here"),
        comment(3, Some(99), "C", "orphan"),
    ];
    let html = render(&renderer(4), &thread("/p/", comments));
    assert_eq!(depths(&html), [(1, 1), (2, 2), (3, 1)]);
    assert!(html.contains("This comment was deleted."));
    assert!(
        !html.contains("Secret Name") && !html.contains("secret text"),
        "{html}"
    );
    assert!(html.contains("still here") && html.contains("orphan"));
    assert!(
        html.contains("<h2 class=\"kiln-heading\">2 comments</h2>"),
        "deleted ones are not counted"
    );
}

#[test]
fn comment_markup() {
    let mut c = comment(7, None, "Ann", "Hi **there**");
    c.website = Some("http://ann.example.net".into());
    c.created_at = "2026-11-23T12:00:00Z".into();
    let r = renderer(4);
    let html = r
        .render_comment("/p/ & more", "https://example.org/p/?a=1&b=2", &c, "en")
        .unwrap();
    assert!(html.starts_with(
        "<article id=\"kiln-comment-7\" class=\"kiln-comment kiln-depth-1\" itemprop=\"comment\" itemscope itemtype=\"https://schema.org/Comment\">"
    ), "{html}");
    assert!(html.contains("<a href=\"http://ann.example.net/\" rel=\"nofollow ugc noopener\" itemprop=\"url\"><span itemprop=\"name\"><bdi>Ann</bdi></span></a>"), "{html}");
    assert!(
        html.contains(
            "<time datetime=\"2026-11-23T12:00:00Z\" itemprop=\"dateCreated\">23 Nov 2026</time>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<div class=\"kiln-body\" itemprop=\"text\"><p>Hi <strong>there</strong></p>"
        ),
        "{html}"
    );
    assert!(html.contains("href=\"#kiln-comment-7\""), "{html}");
    assert!(
        html.contains("href=\"https://c.example.org/reply?thread=%2Fp%2F+%26+more&amp;url=https%3A%2F%2Fexample.org%2Fp%2F%3Fa%3D1%26b%3D2&amp;parent=7\""),
        "{html}"
    );
}

#[test]
fn form_error_page_names_the_field_and_keeps_the_values() {
    let r = renderer(4);
    let mut form = r.form_context("/p/", "https://example.org/p/", Some(3));
    form.values.name = "Ann \"the\" <b>".into();
    form.values.text = "\nMy long\ncomment".into();
    form.errors = BTreeMap::from([(
        "email".to_owned(),
        "Email must look like name@example.org.".to_owned(),
    )]);
    let back = BackLink::checked("https://example.org/p/", |_| true);
    let html = r.render_form_error(&form, back.as_ref()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // The message names its field; the summary says it once (issue 16).
    assert!(
        html.contains("<a href=\"#kiln-email\">Email must look like name@example.org.</a>"),
        "{html}"
    );
    // Headings go down one level at a time: the page's h1, the form's h2.
    assert!(
        html.contains("<h2 class=\"kiln-form-title\">Write a reply</h2>"),
        "{html}"
    );
    assert!(!html.contains("<h3"), "{html}");
    let reply = r.render_reply(&form, None, back.as_ref()).unwrap();
    assert!(reply.contains("<h1>Reply to a comment</h1>"), "{reply}");
    assert!(reply.contains("<h2 class=\"kiln-form-title\">"), "{reply}");
    assert!(!reply.contains("<h3"), "{reply}");
    // Under a thread's h2, the baked form's title stays an h3.
    let baked = r.render_form(&form).unwrap();
    assert!(baked.contains("<h3 class=\"kiln-form-title\">"), "{baked}");
    assert!(
        html.contains("value=\"Ann &quot;the&quot; &lt;b&gt;\""),
        "{html}"
    );
    // One newline after <textarea> is eaten by the parser, so the value's own survives.
    assert!(html.contains(">\n\nMy long\ncomment</textarea>"), "{html}");
    assert!(
        html.contains("aria-invalid=\"true\" aria-describedby=\"kiln-email-error\""),
        "{html}"
    );
    assert!(
        html.contains("<p id=\"kiln-email-error\" class=\"kiln-error\">Email must look like name@example.org.</p>")
    );
    assert!(html.contains("<input type=\"hidden\" name=\"parent\" value=\"3\">"));
    assert!(html.contains("action=\"https://c.example.org/comments\""));
    assert!(html.contains("<style>"), "the page carries its own CSS");
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "no external requests"
    );

    let mut hostile = form.clone();
    hostile.url = "javascript:alert(1)".into();
    let unusable = BackLink::checked(&hostile.url, |_| true);
    let page = r.render_form_error(&hostile, unusable.as_ref()).unwrap();
    assert!(!page.contains("href=\"javascript"), "{page}");
    assert!(
        !page.contains("Back to the page"),
        "no link back to a non-http URL"
    );
}

#[test]
fn receiver_pages() {
    let r = renderer(4);
    let back = BackLink::checked("https://example.org/p/", |_| true);
    let received = r.render_received(back.as_ref(), false, None, "en").unwrap();
    assert!(received.contains("awaits moderation"), "{received}");
    assert!(
        received.contains("<a class=\"kiln-back\" href=\"https://example.org/p/\">"),
        "{received}"
    );
    assert!(!r
        .render_received(
            BackLink::checked("javascript:alert(1)", |_| true).as_ref(),
            false,
            None,
            "en",
        )
        .unwrap()
        .contains("javascript"));
    let error = r.render_error(503, "The <database> is busy").unwrap();
    assert!(
        error.contains("The &lt;database&gt; is busy") && error.contains("503"),
        "{error}"
    );
    let form = r.form_context("/p/", "https://example.org/p/", Some(2));
    let reply = r
        .render_reply(&form, Some("<article>parent</article>"), back.as_ref())
        .unwrap();
    assert!(
        reply.contains("<article>parent</article>")
            && reply.contains("name=\"parent\" value=\"2\"")
    );
    assert_eq!(r.render_count(0, "en").unwrap(), "No comments yet");
    assert_eq!(r.render_count(1, "en").unwrap(), "1 comment");
    assert_eq!(r.render_count(12, "en").unwrap(), "12 comments");
}

#[test]
fn threads_reference_the_optional_script_unless_it_is_off() {
    let thread = Thread {
        id: "/p/".into(),
        url: String::new(),
        comments: vec![],
    };
    let on = render(&renderer(4), &thread);
    assert!(
        on.contains(
            "<script type=\"module\" src=\"https://c.example.org/kiln.js\" defer></script>"
        ),
        "{on}"
    );
    assert!(on.contains("data-kiln-cursor=\"0\""), "{on}");
    let off = Renderer::new(RenderOptions {
        receiver_url: "https://c.example.org".into(),
        script: false,
        ..RenderOptions::default()
    })
    .unwrap();
    assert!(!render(&off, &thread).contains("<script"));
}
