//! The renderer's own promises, across its parts: the fast path renders
//! what tera renders, every built-in template renders, and an override
//! always goes through tera.

use super::*;
use crate::avatar;
use crate::export::{unix_to_rfc3339, Comment, CommentStatus, Thread};

fn comment(id: i64, parent: Option<i64>, author: &str, website: Option<&str>) -> Comment {
    Comment {
        id,
        parent,
        status: CommentStatus::Approved,
        author: author.into(),
        website: website.map(Into::into),
        text: format!("Comment {id} by {author}: *emphasis* & <b>bold</b> \"quoted\" 'single'"),
        created_at: unix_to_rfc3339(1_795_000_000 + id * 3_600),
        // Every third comment has no key (neither address nor name),
        // every fourth a Gravatar hash as well.
        avatar: (id % 3 != 0)
            .then(|| format!("{:016x}", (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        gravatar: (id % 4 == 0).then(|| format!("{id:064x}")),
        likes: (id % 5) as u64,
        // Every fifth signed in, so the fast path meets its verified shapes.
        verified: id % 5 == 0,
        html: None,
    }
}

/// Every shape the fast path knows, with values that need escaping.
fn threads() -> Vec<Thread> {
    let hostile = "<script>alert('x')</script> & \"Ann\"";
    let mut deleted = comment(3, Some(1), "gone", None);
    deleted.status = CommentStatus::Deleted;
    let mut deep = vec![
        comment(1, None, hostile, Some("https://ann.example/?a=1&b=\"2\"")),
        comment(2, Some(1), "Bo", None),
        deleted,
        comment(4, Some(3), "Cy", Some("http://cy.example")),
        comment(5, None, "Dee ünïcode", Some("javascript:alert(1)")),
    ];
    // Deeper than max_depth, so the deepest replies are listed flat and
    // say whom they answer.
    for id in 6..14 {
        deep.push(comment(id, Some(id - 1), &format!("Level {id}"), None));
    }
    let mut unparsable = comment(20, None, "Eve", None);
    unparsable.created_at = "yesterday <b>".into();
    unparsable.html = Some("<p>stored &amp; sanitized</p>".into());
    vec![
        Thread {
            id: "/posts/a/".into(),
            url: String::new(),
            comments: deep,
        },
        Thread {
            id: "x\"<y>&'z".into(),
            url: String::new(),
            comments: vec![comment(30, None, "One", None)],
        },
        Thread {
            id: "/posts/b.html".into(),
            url: String::new(),
            comments: vec![unparsable],
        },
        Thread {
            id: "/only-deleted/".into(),
            url: String::new(),
            comments: vec![{
                let mut c = comment(40, None, "Zed", None);
                c.status = CommentStatus::Deleted;
                c
            }],
        },
    ]
}

#[test]
fn signed_forms_carry_their_threads_token_on_both_paths() {
    let tokens = FormTokens {
        signer: crate::signing::Signer::new(b"a key of thirty-two bytes or more!"),
        expires_at: 2_000_000_000,
    };
    let opts = RenderOptions {
        receiver_url: "https://comments.example".into(),
        form_tokens: Some(tokens.clone()),
        ..RenderOptions::default()
    };
    let fast = Renderer::new(opts.clone()).unwrap();
    assert!(fast.fast.is_some());
    let mut slow = Renderer::new(opts.clone()).unwrap();
    slow.fast = None;
    for id in ["/a/", "/b/?x=1&y=\"2\""] {
        let args = ThreadArgs {
            id,
            thread: None,
            page_url: "https://site.example/a/",
            page_title: "",
            id_prefix: "kiln",
            lang: None,
        };
        let html = fast.render_thread(&args).unwrap();
        assert_eq!(html, slow.render_thread(&args).unwrap());
        let token = tokens.token(id);
        assert!(
            html.contains(&format!("name=\"token\" value=\"{token}\"")),
            "{html}"
        );
        assert_eq!(
            tokens
                .signer
                .verify(FORM_TOKEN_PURPOSE, &token, 1_999_999_999)
                .unwrap(),
            id
        );
    }
    let plain = Renderer::new(RenderOptions::default()).unwrap();
    assert_ne!(plain.fingerprint(), fast.fingerprint());
}

#[test]
fn the_fast_path_renders_exactly_what_tera_renders() {
    let opts = RenderOptions {
        receiver_url: "https://comments.example/base".into(),
        ..RenderOptions::default()
    };
    // Avatars as identicons (the default), Gravatar's, and none.
    for opts in [
        opts.clone(),
        RenderOptions {
            gravatar: true,
            ..opts.clone()
        },
        // With the sign-in link, whose page URL is a hole twice.
        RenderOptions {
            signin: true,
            ..opts.clone()
        },
        RenderOptions {
            avatars: false,
            ..opts.clone()
        },
        // Like buttons, signed and not.
        RenderOptions {
            reactions: true,
            ..opts.clone()
        },
        RenderOptions {
            reactions: true,
            form_tokens: Some(FormTokens {
                signer: crate::signing::Signer::new(b"a key of thirty-two bytes or more!"),
                expires_at: 2_000_000_000,
            }),
            ..opts
        },
    ] {
        fast_path_matches_tera(opts);
    }
}

#[test]
fn with_reactions_each_shown_comment_has_a_like_form_with_its_count() {
    let tokens = FormTokens {
        signer: crate::signing::Signer::new(b"a key of thirty-two bytes or more!"),
        expires_at: 2_000_000_000,
    };
    let threads = threads();
    let thread = &threads[0];
    let args = ThreadArgs {
        id: &thread.id,
        thread: Some(thread),
        page_url: "https://site.example/a/?x=1&y=2",
        page_title: "",
        id_prefix: "kiln",
        lang: None,
    };
    let liked = Renderer::new(RenderOptions {
        receiver_url: "https://comments.example".into(),
        form_tokens: Some(tokens.clone()),
        reactions: true,
        ..RenderOptions::default()
    })
    .unwrap();
    let mut slow = Renderer::new(liked.options().clone()).unwrap();
    slow.fast = None;
    for renderer in [&liked, &slow] {
        let html = renderer.render_thread(&args).unwrap();
        let token = tokens.token(&thread.id);
        let shown: Vec<&Comment> = thread
            .comments
            .iter()
            .filter(|c| c.status == CommentStatus::Approved)
            .collect();
        assert_eq!(
            html.matches("<form class=\"kiln-like\"").count(),
            shown.len()
        );
        for c in shown {
            let form = format!(
                "<form class=\"kiln-like\" method=\"post\" action=\"https://comments.example/react\"><input type=\"hidden\" name=\"comment\" value=\"{}\"><input type=\"hidden\" name=\"url\" value=\"https://site.example/a/?x=1&amp;y=2\"><input type=\"hidden\" name=\"token\" value=\"{token}\"><button type=\"submit\"><span aria-hidden=\"true\">♥</span> <span class=\"kiln-sr\">Like this comment; likes so far: </span><b class=\"kiln-likes\">{}</b></button></form>",
                c.id, c.likes
            );
            assert!(html.contains(&form), "comment {}: {html}", c.id);
        }
    }
    // Off by default: no form, whatever the counts say.
    let plain = Renderer::new(RenderOptions::default()).unwrap();
    let html = plain.render_thread(&args).unwrap();
    assert!(!html.contains("<form class=\"kiln-like\""), "{html}");
    assert_ne!(plain.fingerprint(), liked.fingerprint());
}

fn fast_path_matches_tera(opts: RenderOptions) {
    let fast = Renderer::new(opts.clone()).unwrap();
    assert!(
        fast.fast.is_some(),
        "the built-in templates take the fast path"
    );
    let mut slow = Renderer::new(opts.clone()).unwrap();
    slow.fast = None;

    let threads = threads();
    let mut cases: Vec<(Option<&Thread>, &str)> = threads
        .iter()
        .map(|t| (Some(t), "https://site.example/p?q=1&r=\"2\""))
        .collect();
    cases.push((None, "https://site.example/empty/"));
    cases.push((None, ""));
    cases.push((Some(&threads[0]), ""));
    for (i, (thread, page_url)) in cases.into_iter().enumerate() {
        let args = ThreadArgs {
            id: thread.map_or("/never-commented/", |t| t.id.as_str()),
            thread,
            page_url,
            page_title: if i % 2 == 0 { "Ann & Bo's <post>" } else { "" },
            id_prefix: &format!("kiln-{i}"),
            // Each language has skeletons of its own.
            lang: Some(["en", "de-AT", "ru", "ar", "ja", "xx"][i % 6]),
        };
        let (a, b) = (
            fast.render_thread(&args).unwrap(),
            slow.render_thread(&args).unwrap(),
        );
        assert_eq!(a, b, "case {i}");
        assert!(!a.contains('\u{F8FF}'), "no marker is left behind");
    }
    let one = &threads[0].comments[0];
    assert_eq!(
        fast.render_comment("/posts/a/", "https://site.example/a/", one, "en")
            .unwrap(),
        slow.render_comment("/posts/a/", "https://site.example/a/", one, "en")
            .unwrap()
    );

    // The avatars went where they belong, and only there.
    let html = fast
        .render_thread(&ThreadArgs {
            id: "/posts/a/",
            thread: Some(&threads[0]),
            page_url: "https://site.example/a/",
            page_title: "",
            id_prefix: "kiln",
            lang: None,
        })
        .unwrap();
    let svgs = html.matches("<svg class=\"kiln-avatar\"").count();
    let imgs = html.matches("<img class=\"kiln-avatar\"").count();
    let shown = threads[0]
        .comments
        .iter()
        .filter(|c| c.status == CommentStatus::Approved)
        .count();
    let gravatars = threads[0]
        .comments
        .iter()
        .filter(|c| c.status == CommentStatus::Approved && c.gravatar.is_some())
        .count();
    match (opts.avatars, opts.gravatar) {
        (false, _) => assert_eq!(svgs + imgs, 0),
        (true, false) => assert_eq!((svgs, imgs), (shown, 0)),
        (true, true) => assert_eq!((svgs, imgs), (shown - gravatars, gravatars)),
    }
    assert!(!html.contains("style="), "no inline styles");
    let neutral = html.matches(avatar::NEUTRAL).count();
    assert_eq!(
        neutral > 0,
        opts.avatars,
        "comments without a key get the neutral avatar"
    );
}

#[test]
fn back_links_are_only_made_to_allowed_origins() {
    let site = |url: &url::Url| url.origin().ascii_serialization() == "https://site.example";
    let link = BackLink::checked(" https://site.example/a/?q=1#frag ", site).unwrap();
    assert_eq!(link.as_str(), "https://site.example/a/?q=1#frag");
    assert_eq!(
        link.with_fragment("kiln-received").as_str(),
        "https://site.example/a/?q=1#kiln-received"
    );
    for raw in [
        "https://evil.example/",
        "http:evil.example",
        "http:\\\\evil.example\\",
        "https://site.example@evil.example/",
        "https://evil.example\\@site.example/",
        "https://user@site.example/",
        "https://user:pw@site.example/",
        "//evil.example/",
        "/a/",
        "javascript:alert(1)",
        "data:text/html,x",
        "",
    ] {
        assert_eq!(BackLink::checked(raw, site), None, "{raw}");
    }
    // The check is the caller's: with none allowed, nothing is linked.
    assert_eq!(
        BackLink::checked("https://site.example/a/", |_| false),
        None
    );
}

#[test]
fn every_builtin_template_renders() {
    let renderer = Renderer::new(RenderOptions::default()).unwrap();
    assert!(renderer.pages.is_some(), "pages wait until they are needed");
    let form = renderer.form_context("/t/", "https://site.example/t/", Some(3));
    assert!(renderer
        .render_error(404, "Not here")
        .unwrap()
        .contains("Not here"));
    let site = |url: &url::Url| url.origin().ascii_serialization() == "https://site.example";
    let back = BackLink::checked("https://site.example/t/", site);
    assert!(back.is_some());
    assert!(renderer
        .render_received(back.as_ref(), false, None, "en")
        .unwrap()
        .contains("https://site.example/t/"));
    let received = renderer
        .render_received(
            back.as_ref(),
            true,
            Some(("https://r/edit/T", "14:05 UTC")),
            "en",
        )
        .unwrap();
    assert!(received.contains("is published"), "{received}");
    assert!(received.contains("href=\"https://r/edit/T\""), "{received}");
    assert!(received.contains("until 14:05 UTC"), "{received}");
    let edit = renderer
        .render_edit(&EditPage {
            action: "https://r/edit/T".into(),
            comment_html: "<p>now</p>".into(),
            pending: true,
            values: EditValues {
                text: "<b>typed</b>".into(),
                ..EditValues::default()
            },
            errors: [("text".to_owned(), "Comment is too long.".to_owned())].into(),
            id_prefix: "kiln-edit".into(),
            edit_until: "14:05 UTC".into(),
            notice: String::new(),
            back_url: BackLink::checked("javascript:alert(1)", |_| true),
        })
        .unwrap();
    assert!(
        edit.contains("&lt;b&gt;typed&lt;&#x2F;b&gt;") || edit.contains("&lt;b&gt;typed&lt;/b&gt;"),
        "{edit}"
    );
    assert!(edit.contains(">Comment is too long.</a>"), "{edit}");
    assert!(
        !edit.contains("Comment: "),
        "the field is named once: {edit}"
    );
    assert!(!edit.contains("javascript:"), "{edit}");
    assert!(renderer
        .render_reply(&form, Some("<p>parent</p>"), back.as_ref())
        .unwrap()
        .contains("<p>parent</p>"));
    assert!(renderer
        .render_form_error(&form, back.as_ref())
        .unwrap()
        .contains("name=\"parent\" value=\"3\""));
    for (name, _) in templates::RENDERER {
        assert!(
            renderer
                .pages
                .as_ref()
                .unwrap()
                .get()
                .unwrap()
                .get_template(name)
                .is_ok(),
            "{name} is loaded"
        );
    }
}

#[test]
fn an_overridden_template_always_goes_through_tera() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("comment.html"),
        "<article id=\"{{ anchor }}\">{% if author == \"Bo\" %}Bo!{% else %}{{ author | upper }}{% endif %}{{ replies | safe }}</article>",
    )
    .unwrap();
    let renderer = Renderer::new(RenderOptions {
        templates_dir: Some(dir.path().to_owned()),
        ..RenderOptions::default()
    })
    .unwrap();
    assert!(renderer.fast.is_none());
    let html = renderer
        .render_thread(&ThreadArgs {
            id: "/posts/a/",
            thread: Some(&threads()[0]),
            page_url: "https://site.example/a/",
            page_title: "A",
            id_prefix: "kiln-1",
            lang: None,
        })
        .unwrap();
    assert!(html.contains("Bo!") && html.contains("LEVEL 6"), "{html}");
}

/// Issue 16, items 1 and 8: the thread wears the configured theme as a
/// class, its list is not named like the placeholder, the author line is
/// no <header> for themes to style, and links in comment text are
/// underlined. On both paths (fast and tera).
#[test]
fn threads_carry_their_theme_and_names_themes_do_not_target() {
    for theme in [Theme::Auto, Theme::Light, Theme::Dark, Theme::Inherit] {
        let renderer = Renderer::new(RenderOptions {
            theme,
            ..RenderOptions::default()
        })
        .unwrap();
        let thread = &threads()[0];
        for page_url in ["https://example.org/posts/a/", ""] {
            let html = renderer
                .render_thread(&ThreadArgs {
                    id: &thread.id,
                    thread: Some(thread),
                    page_url,
                    page_title: "A",
                    id_prefix: "kiln-1",
                    lang: None,
                })
                .unwrap();
            let class = format!("class=\"kiln-thread kiln-theme-{}\"", theme.name());
            assert!(html.contains(&class), "{class} in {html}");
            assert!(html.contains("<div class=\"kiln-list\">"), "{html}");
            assert!(!html.contains("kiln-comments"), "{html}");
            assert!(!html.contains("<header"), "{html}");
            assert!(html.contains("<div class=\"kiln-meta\">"), "{html}");
        }
    }
    let css = Renderer::new(RenderOptions::default())
        .unwrap()
        .render_stylesheet()
        .unwrap();
    assert!(
        css.contains(".kiln-body a") && css.contains("text-decoration:underline"),
        "links in comment text are underlined"
    );
}

/// Issue 16, item 1: the thread follows the page, never the reader's
/// system setting; only kiln's own pages (body.kiln-page) look at it.
#[test]
fn the_stylesheet_never_switches_a_thread_on_the_system_colour_scheme() {
    let css = Renderer::new(RenderOptions::default())
        .unwrap()
        .render_stylesheet()
        .unwrap();
    for block in css.split("@media").skip(1) {
        if block.trim_start().starts_with("(prefers-color-scheme") {
            let rules = block.split_once('{').unwrap().1;
            assert!(
                rules.trim_start().starts_with("body.kiln-page{"),
                "a dark-mode rule reaches beyond kiln's own pages: @media{block}"
            );
        }
    }
    // The auto theme sets no text colour or background of its own.
    let first = css.lines().next().unwrap();
    assert!(
        first.starts_with(".kiln-thread{") && first.contains("currentColor"),
        "{first}"
    );
    let base = css.split(".kiln-theme-inherit").next().unwrap();
    assert!(
        !base.contains("color:#") && !base.contains("background:#"),
        "{base}"
    );
}

/// Issue 16, item 5: no "email me" box when the receiver sends no mail,
/// in baked forms and in the form the receiver shows again.
#[test]
fn the_notify_box_is_offered_only_when_mail_is_on() {
    for offer_notify in [true, false] {
        let renderer = Renderer::new(RenderOptions {
            offer_notify,
            ..RenderOptions::default()
        })
        .unwrap();
        let thread = &threads()[1];
        let html = renderer
            .render_thread(&ThreadArgs {
                id: &thread.id,
                thread: Some(thread),
                page_url: "https://example.org/x/",
                page_title: "",
                id_prefix: "kiln-1",
                lang: None,
            })
            .unwrap();
        assert_eq!(html.contains("name=\"notify\""), offer_notify);
        let form = renderer
            .render_form(&renderer.form_context("t", "https://example.org/x/", Some(3)))
            .unwrap();
        assert_eq!(form.contains("name=\"notify\""), offer_notify);
        assert!(form.contains("name=\"text\""), "the rest of the form stays");
    }
}
