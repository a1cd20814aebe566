//! What kiln's fuzz targets assert, in one place so that every target holds
//! kiln's output to the same rules: HTML that kiln puts into a page is inert
//! whatever a commenter typed (no script element, no event handler, no
//! script URL), and a submission that passes the receiver's checks holds
//! nothing those checks promise to refuse.
//!
//! Every check panics with what it found: a panic is what libFuzzer reports
//! as a finding and keeps as a reproducer.

use std::cell::RefCell;
use std::sync::LazyLock;

use kiln_bake::inject::decode_attribute;
use kiln_receiver::config::Config;
use kiln_receiver::submission::{is_bidi_control, Submission, MAX_THREAD};
use lol_html::{element, HtmlRewriter, Settings};

/// One element as lol_html saw it: its tag name and its attributes, with
/// values as written (character references not decoded).
#[derive(Debug)]
pub struct Element {
    pub tag: String,
    pub attributes: Vec<(String, String)>,
}

/// Every element of `html`, in document order, or why lol_html could not
/// parse it.
pub fn elements(html: impl AsRef<[u8]>) -> Result<Vec<Element>, String> {
    let found = RefCell::new(Vec::new());
    let settings = Settings::new().append_element_content_handler(element!("*", |el| {
        found.borrow_mut().push(Element {
            tag: el.tag_name(),
            attributes: el
                .attributes()
                .iter()
                .map(|a| (a.name(), a.value()))
                .collect(),
        });
        Ok(())
    }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter
        .write(html.as_ref())
        .and_then(|()| rewriter.end())
        .map_err(|e| e.to_string())?;
    Ok(found.into_inner())
}

/// `html` with the content of every placeholder (`data-kiln-thread`,
/// `data-kiln-count`) removed: what a bake must leave exactly as it was.
pub fn outside_placeholders(html: &[u8]) -> Result<Vec<u8>, String> {
    let empty = |el: &mut lol_html::html_content::Element<'_, '_>| {
        if el.can_have_content() {
            el.set_inner_content("", lol_html::html_content::ContentType::Text);
        }
        Ok(())
    };
    let settings = Settings::new()
        .append_element_content_handler(element!("[data-kiln-thread]", empty))
        .append_element_content_handler(element!("[data-kiln-count]", empty));
    let mut out = Vec::with_capacity(html.len());
    let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
    rewriter
        .write(html)
        .and_then(|()| rewriter.end())
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Elements that run script or load another document. No comment and no
/// thread kiln renders may hold one (the targets render with Gravatar off,
/// so no `<img>` either).
const ACTIVE_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "img",
    "noscript", "template", "math",
];

/// Attributes a browser follows as a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "data",
    "cite",
    "background",
    "srcset",
    "ping",
    "itemid",
];

/// The character references kiln's escapers write: its own `escape_html`
/// (`&amp; &lt; &gt; &quot; &#39;`) and ammonia's serializer (`&amp;
/// &nbsp; &quot; &lt; &gt;`). An attribute value with any other `&` was not
/// escaped by kiln.
const REFERENCES: &[&str] = &["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;"];

/// Panics unless `html` is inert: it parses, holds no [`ACTIVE_TAGS`], no
/// event-handler attribute (`on…`), no `srcdoc` or `http-equiv`, and no URL attribute with a `javascript:`, `vbscript:` or
/// `data:` URL however it is spelled. `what` names the HTML in the message.
pub fn assert_inert(html: &str, what: &str) {
    let elements = elements(html).unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{html}"));
    for el in &elements {
        assert!(
            !ACTIVE_TAGS.contains(&el.tag.as_str()),
            "{what} has a <{}> element:\n{html}",
            el.tag
        );
        for (name, value) in &el.attributes {
            assert!(
                !name.starts_with("on") && !matches!(name.as_str(), "srcdoc" | "http-equiv"),
                "{what} has a {name} attribute on <{}>:\n{html}",
                el.tag
            );
            assert_escaped(value, what, html);
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                assert!(
                    !is_script_url(value),
                    "{what} has {name}={value:?} on <{}>:\n{html}",
                    el.tag
                );
            }
        }
    }
}

/// Panics if `value` holds an `&` that is not one of [`REFERENCES`].
fn assert_escaped(value: &str, what: &str, html: &str) {
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        rest = &rest[at..];
        assert!(
            REFERENCES.iter().any(|r| rest.starts_with(r)),
            "{what} has an attribute value with a reference kiln does not write: {value:?}\n{html}"
        );
        rest = &rest[1..];
    }
}

/// Whether a browser would run or render `raw` (an attribute value as
/// written) as a script or a document of its own: it drops ASCII
/// whitespace and control characters from a URL and ignores the scheme's
/// case.
pub fn is_script_url(raw: &str) -> bool {
    let url: String = decode_attribute(raw)
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    ["javascript:", "vbscript:", "data:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// The receiver's configuration in the targets: the defaults, with one site.
pub static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    let mut config = Config::default();
    config.sites.origins = vec!["https://blog.example".to_owned()];
    config
});

/// The fields a submission error may name.
const FIELDS: &[&str] = &[
    "thread", "url", "parent", "name", "email", "website", "text", "title", "body",
];

/// Runs the receiver's checks on `submission` and panics if they accept
/// what they promise to refuse, or refuse without naming a known field and
/// saying why.
pub fn assert_checked(submission: &Submission) {
    let checked = match submission.check(&CONFIG, None) {
        Ok(checked) => checked,
        Err(errors) => {
            assert!(
                !errors.is_empty(),
                "refused without a reason: {submission:?}"
            );
            for e in &errors {
                assert!(FIELDS.contains(&e.field), "unknown field in {e:?}");
                assert!(!e.message.is_empty(), "no message in {e:?}");
            }
            return;
        }
    };
    let c = &checked.comment;
    let limits = &CONFIG.limits;
    assert!(
        !c.thread.is_empty()
            && c.thread.len() <= MAX_THREAD
            && !c.thread.chars().any(char::is_control),
        "accepted thread id {:?}",
        c.thread
    );
    let page = url::Url::parse(&c.page_url).expect("the stored page URL parses");
    assert_eq!(page, checked.page, "the page URL is stored as checked");
    assert_eq!(
        page.origin().ascii_serialization(),
        "https://blog.example",
        "accepted a page on another site: {page}"
    );
    assert!(
        page.username().is_empty() && page.password().is_none() && page.fragment().is_none(),
        "accepted a page URL with userinfo or a fragment: {page}"
    );
    assert!(
        c.parent.is_none_or(|p| p > 0),
        "accepted parent {:?}",
        c.parent
    );
    for (field, value, limit) in [
        ("name", Some(c.author.as_str()), limits.name),
        ("email", c.email.as_deref(), limits.email),
        ("website", c.website.as_deref(), limits.website),
    ] {
        let Some(value) = value else { continue };
        assert!(
            !value
                .chars()
                .any(|ch| ch.is_control() || is_bidi_control(ch)),
            "accepted {field} {value:?} with a control or direction character"
        );
        assert!(
            value.chars().count() <= limit,
            "accepted {field} over its limit"
        );
        assert_eq!(value, value.trim(), "{field} is stored trimmed");
    }
    if let Some(website) = &c.website {
        let url = url::Url::parse(website).expect("an accepted website parses");
        assert!(
            matches!(url.scheme(), "http" | "https")
                && url.username().is_empty()
                && url.password().is_none(),
            "accepted website {website:?}"
        );
    }
    assert!(!c.text.trim().is_empty(), "accepted an empty comment");
    assert!(
        c.text.chars().count() <= limits.text,
        "accepted a comment over its limit"
    );
    assert!(
        !c.text
            .chars()
            .any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')),
        "accepted a comment with control characters: {:?}",
        c.text
    );
    assert!(
        !c.text.contains('\r'),
        "line breaks are stored as \\n: {:?}",
        c.text
    );
    assert!(
        !c.page_title
            .chars()
            .any(|ch| ch.is_control() || is_bidi_control(ch)),
        "kept a page title with control characters: {:?}",
        c.page_title
    );
}
