//! Escaping and URL checks shared by the tera templates (as their escape
//! function) and the fast path (which fills holes without tera), so both
//! write exactly the same bytes for the same value.

use std::borrow::Cow;

/// [`escape_html`], without copying text that needs no escaping.
pub(super) fn escape(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        Cow::Owned(escape_html(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Escapes the five characters HTML needs escaped (`&<>"'`); tera's own
/// escaping also turns `/` into `&#x2F;`, which makes URLs unreadable.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[copied..at]);
        out.push_str(entity);
        copied = at + 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The URL, normalized, if it is an absolute http(s) URL with a host.
pub fn http_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text.trim()).ok()?;
    let ok =
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
    ok.then(|| url.to_string())
}
