//! Text from other systems, made into what kiln stores: Markdown, which bake
//! renders and ammonia sanitizes like every comment. HTML from Disqus,
//! WordPress or Remark42 is first cut down by ammonia to the elements
//! Markdown can say (everything else keeps only its text), then htmd writes
//! it as Markdown. Names and other plain fields have their entities decoded,
//! once.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Keeps what Markdown can express; drops scripts and styles with their
/// content, and every attribute but a link's target and an image's source.
static TO_MARKDOWNABLE: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.add_tags([
        "a",
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
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
        "del",
        "s",
        "hr",
        "img",
    ])
    .add_tag_attributes("a", ["href"])
    .add_tag_attributes("img", ["src", "alt"])
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .url_relative(ammonia::UrlRelative::Deny)
    .link_rel(None)
    .strip_comments(true);
    b
});

/// HTML as the Markdown kiln stores. The result renders (through kiln's own
/// Markdown renderer and sanitizer) as the source showed it, less what
/// kiln never shows (scripts, styles, remote images inline).
pub fn html_to_markdown(html: &str) -> String {
    let clean = TO_MARKDOWNABLE.clean(html.trim()).to_string();
    let converter = htmd::HtmlToMarkdown::builder()
        .options(htmd::options::Options {
            bullet_list_marker: htmd::options::BulletListMarker::Dash,
            code_block_style: htmd::options::CodeBlockStyle::Fenced,
            ..Default::default()
        })
        .build();
    match converter.convert(&clean) {
        Ok(md) => md.trim().to_owned(),
        // htmd fails only on I/O it does not do here; keep the words.
        Err(_) => escape_markdown(&ammonia::Builder::empty().clean(&clean).to_string()),
    }
}

/// WordPress's stored comment text as HTML: it keeps raw tags and plain
/// line breaks, and makes paragraphs only when it shows them (`wpautop`).
/// A blank line ends a paragraph; a single newline is a line break.
pub fn wordpress_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut html = String::with_capacity(text.len() + 32);
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let lines: Vec<&str> = para.lines().collect();
        let block = starts_block(para);
        if !block {
            html.push_str("<p>");
        }
        for (n, line) in lines.iter().enumerate() {
            html.push_str(line);
            if let Some(next) = lines.get(n + 1) {
                // As wpautop: no break beside a block element's tags.
                if !ends_block(line) && !starts_block(next) {
                    html.push_str("<br>");
                } else {
                    html.push('\n');
                }
            }
        }
        if !block {
            html.push_str("</p>");
        }
        html.push('\n');
    }
    html
}

/// Block elements, beside which WordPress adds no `<p>` or `<br>`.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "address",
];

fn block_tag(tag: &str) -> bool {
    let name: String = tag
        .trim_start_matches('/')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    BLOCKS.contains(&name.to_ascii_lowercase().as_str())
}

fn starts_block(line: &str) -> bool {
    line.trim_start().strip_prefix('<').is_some_and(block_tag)
}

fn ends_block(line: &str) -> bool {
    let line = line.trim_end();
    line.ends_with('>') && line.rfind('<').is_some_and(|at| block_tag(&line[at + 1..]))
}

/// Plain text that Markdown shows as typed.
fn escape_markdown(plain: &str) -> String {
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        if "\\`*_{}[]()<>#+-.!|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Decodes HTML character references (`&amp;`, `&#8217;`, `&laquo;`) in a
/// plain field, once. Anything that is not a known reference, such as a
/// lone `&`, is kept as written.
pub fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| c == ';' || c == '&' || c.is_whitespace())
            .map(|e| e + 1);
        let decoded = end
            .filter(|&e| rest.as_bytes()[e] == b';')
            .and_then(|e| Some((reference(&rest[1..e])?, e)));
        match decoded {
            Some((text, e)) => {
                out.push_str(&text);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of one reference's name (between `&` and `;`).
fn reference(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code)
            .filter(|c| *c != '\0')
            .map(String::from);
    }
    quick_xml::escape::resolve_html5_entity(name).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_decoded_once() {
        assert_eq!(
            decode_entities("Ping 1 &laquo; What&#8217;s"),
            "Ping 1 « What’s"
        );
        assert_eq!(decode_entities("Tom &amp;amp; Jerry"), "Tom &amp; Jerry");
        assert_eq!(
            decode_entities("Tom & Jerry &x; &#xZZ;"),
            "Tom & Jerry &x; &#xZZ;"
        );
        assert_eq!(decode_entities("&lt;b&gt; &#x41;"), "<b> A");
    }

    #[test]
    fn html_becomes_markdown_that_renders_the_same() {
        let md = html_to_markdown(
            "<p>Hello <b>bold</b> and <a href=\"https://kiln.example/x\" rel=\"nofollow\">a link</a></p>\
             <p>second <script>alert(1)</script><span style=\"x\">kept words</span></p>",
        );
        assert_eq!(
            md,
            "Hello **bold** and [a link](https://kiln.example/x)\n\nsecond kept words"
        );
        let html = kiln_bake::markdown::to_html(&md);
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("alert"), "{html}");
    }

    #[test]
    fn markdown_characters_in_html_text_stay_text() {
        let md = html_to_markdown("<p>2 * 3 = 6 and \\o/ ¯\\_(ツ)_/¯ and &lt;b&gt;</p>");
        let html = kiln_bake::markdown::to_html(&md);
        assert_eq!(
            html, "<p>2 * 3 = 6 and \\o/ ¯\\_(ツ)_/¯ and &lt;b&gt;</p>\n",
            "{md}"
        );
    }

    #[test]
    fn wordpress_line_breaks_become_paragraphs_and_breaks() {
        assert_eq!(
            wordpress_html("one\r\ntwo\r\n\r\nthree"),
            "<p>one<br>two</p>\n<p>three</p>\n"
        );
        let md = html_to_markdown(&wordpress_html("one\ntwo\n\nthree"));
        assert_eq!(
            kiln_bake::markdown::to_html(&md),
            "<p>one<br>\ntwo</p>\n<p>three</p>\n"
        );
    }
}
