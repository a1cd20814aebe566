//! Turns a commenter's Markdown into HTML that is safe to put in a page.
//!
//! pulldown-cmark does the formatting and ammonia has the last word on what
//! survives. Raw HTML is shown as text rather than passed to ammonia, so a
//! commenter who types `<b>` sees `<b>`, as on most comment systems.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The link `rel` every commenter's link gets: no ranking credit, marked as
/// user-generated, and no `window.opener` for the target.
pub const LINK_REL: &str = "nofollow ugc noopener";

/// Built once: ammonia's builder holds several hash sets, and a bake cleans
/// tens of thousands of comments.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        // Pages must make no third-party request just to be read.
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        // A relative link in a comment would resolve against the host page,
        // which the commenter does not control.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some(LINK_REL))
        .strip_comments(true);
    builder
});

/// Names this renderer and sanitizer policy. HTML stored by a source under
/// another version is rendered again; every kiln release counts as a change.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "/md1");

/// Renders Markdown to sanitized HTML.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(defang);
    let mut html = String::with_capacity(markdown.len() * 3 / 2 + 16);
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize(&html)
}

/// The sanitizer alone, with the policy [`to_html`] ends with. What
/// `to_html` returns comes out of this unchanged (the `markdown` fuzz target
/// checks it): HTML that changed when cleaned again would be HTML a browser
/// could read differently from the sanitizer, the root of mutation XSS.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Rewrites the events ammonia would otherwise have to drop, so the reader
/// still sees what the commenter meant.
fn defang(event: Event<'_>) -> Event<'_> {
    match event {
        // Shown as typed; pulldown-cmark escapes text.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
        // An image becomes a link to it, so the page loads nothing from
        // elsewhere but the picture is one click away.
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn formats_and_marks_links() {
        let html = to_html("Hello *there*, see [docs](https://example.org/a?b=1&c=2).");
        assert_eq!(
            html,
            "<p>Hello <em>there</em>, see <a href=\"https://example.org/a?b=1&amp;c=2\" \
             rel=\"nofollow ugc noopener\">docs</a>.</p>\n"
        );
    }

    #[test]
    fn raw_html_is_text() {
        let html = to_html("<script>alert(1)</script> and <b onclick=\"x()\">bold</b>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn html_block_is_text_in_a_paragraph() {
        let html = to_html("<div onmouseover=\"x()\">\nhi\n</div>");
        assert!(html.starts_with("<p>&lt;div"), "{html}");
        assert!(!html.contains("<div"), "{html}");
    }

    #[test]
    fn dangerous_and_relative_links_lose_their_href() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "[x](/admin)",
            "<javascript:alert(1)>",
        ] {
            let html = to_html(md);
            assert!(!html.contains("href"), "{md} -> {html}");
        }
        assert!(to_html("[m](mailto:a@example.org)").contains("href=\"mailto:a@example.org\""));
    }

    #[test]
    fn images_become_links() {
        let html = to_html("![a cat](https://cdn.example.com/cat.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<a href=\"https://cdn.example.com/cat.png\" rel=\"nofollow ugc noopener\">a cat</a>"),
            "{html}"
        );
    }

    #[test]
    fn tables_and_strikethrough() {
        let html = to_html("~~old~~\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(!html.contains("style"), "{html}");
    }
}
