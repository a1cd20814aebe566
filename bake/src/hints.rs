//! Where a page's placeholders can be, from a byte search before lol_html
//! parses it. A selector like `[data-kiln-thread]` makes lol_html read the
//! attributes of every tag on the page; `section[data-kiln-thread]` lets it
//! skip every other tag by name, which is most of a full bake's parsing cost.
//!
//! The search only guesses. `inject` checks each narrowed pass against
//! [`Hints::mentions`] and parses the page again with the plain selectors
//! when the counts differ, so a wrong guess costs time, never a placeholder.

use memchr::{memchr2_iter, memrchr};

/// The two placeholder attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Thread,
    Count,
}

/// What the byte search found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hints {
    /// Lower-case names of the tags that appear to carry `data-kiln-thread`.
    pub thread_tags: Vec<String>,
    /// The same for `data-kiln-count`.
    pub count_tags: Vec<String>,
    /// How often either attribute name appears, in any case, followed by a
    /// byte that can end an attribute name. Every real placeholder is one of
    /// these, so a pass that matched this many elements matched them all.
    pub mentions: usize,
    /// Whether a tag name was found in front of every mention; if not, only
    /// a pass with the plain selectors can be trusted.
    pub all_named: bool,
}

impl Hints {
    pub fn of(bytes: &[u8]) -> Hints {
        let mut hints = Hints {
            all_named: true,
            ..Hints::default()
        };
        const PREFIX: &[u8] = b"data-kiln-";
        // The `k` of "kiln" sits five bytes into the prefix.
        for k in memchr2_iter(b'k', b'K', bytes) {
            let Some(start) = k.checked_sub(5) else {
                continue;
            };
            let Some(prefix) = bytes.get(start..start + PREFIX.len()) else {
                break;
            };
            if !prefix.eq_ignore_ascii_case(PREFIX) {
                continue;
            }
            let after = &bytes[start + PREFIX.len()..];
            let kind = if names(after, b"thread") {
                Kind::Thread
            } else if names(after, b"count") {
                Kind::Count
            } else {
                continue;
            };
            hints.mentions += 1;
            let Some(tag) = tag_before(&bytes[..start]) else {
                hints.all_named = false;
                continue;
            };
            let tags = match kind {
                Kind::Thread => &mut hints.thread_tags,
                Kind::Count => &mut hints.count_tags,
            };
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        hints
    }

    /// Whether the page mentions no placeholder at all, so that it cannot
    /// hold one and need not be parsed.
    pub fn is_empty(&self) -> bool {
        self.mentions == 0
    }

    /// The selector for one kind of placeholder in a narrowed pass, e.g.
    /// `div[data-kiln-thread], section[data-kiln-thread]`; `None` when the
    /// page has none of that kind.
    pub fn selector(&self, kind: Kind) -> Option<String> {
        let (tags, attr) = match kind {
            Kind::Thread => (&self.thread_tags, "data-kiln-thread"),
            Kind::Count => (&self.count_tags, "data-kiln-count"),
        };
        if tags.is_empty() {
            return None;
        }
        let list: Vec<String> = tags.iter().map(|tag| format!("{tag}[{attr}]")).collect();
        Some(list.join(", "))
    }
}

/// Whether `after` starts with the attribute name `name` (any case) and
/// the name ends there. An HTML attribute name ends at whitespace, `/`,
/// `>` or `=`, or at the end of the input.
fn names(after: &[u8], name: &[u8]) -> bool {
    after.len() >= name.len()
        && after[..name.len()].eq_ignore_ascii_case(name)
        && after.get(name.len()).is_none_or(|&b| {
            matches!(
                b,
                b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>' | b'='
            )
        })
}

/// The name of the tag that seems to hold an attribute starting right after
/// `before`: the nearest `<` before it, then a name of ASCII letters, digits
/// and hyphens, then whitespace or `/`. `None` when that is not what is there.
fn tag_before(before: &[u8]) -> Option<String> {
    let open = memrchr(b'<', before)?;
    let rest = &before[open + 1..];
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))?;
    let (name, next) = (&rest[..len], rest[len]);
    let starts_well = name.first().is_some_and(u8::is_ascii_alphabetic);
    let separated = matches!(next, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/');
    (starts_well && separated).then(|| String::from_utf8_lossy(name).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_and_counts_mentions() {
        let page = b"<html><body><SECTION class=\"c\" Data-Kiln-Thread=\"\">old</SECTION>\
            <p>Posts: <span data-kiln-count=\"/a/\"></span> <span data-kiln-count></span></p>\
            <div data-kiln-url=\"x\" data-kiln-thread>";
        let hints = Hints::of(page);
        assert_eq!(hints.thread_tags, ["section", "div"]);
        assert_eq!(hints.count_tags, ["span"]);
        assert_eq!(hints.mentions, 4);
        assert!(hints.all_named);
        assert_eq!(
            hints.selector(Kind::Thread).unwrap(),
            "section[data-kiln-thread], div[data-kiln-thread]"
        );
        assert_eq!(
            hints.selector(Kind::Count).unwrap(),
            "span[data-kiln-count]"
        );
    }

    #[test]
    fn other_names_are_not_mentions() {
        let hints = Hints::of(b"<div data-kiln-threads data-kiln-url=x data-kiln></div>kiln");
        assert!(hints.is_empty(), "{hints:?}");
        assert_eq!(Hints::of(b"data-kiln-count").mentions, 1, "at the very end");
    }

    #[test]
    fn unsure_guesses_are_flagged() {
        // A `<` inside a quoted value hides the real tag name.
        let quoted = Hints::of(b"<div title=\"a <b\" data-kiln-thread></div>");
        assert_eq!(quoted.mentions, 1);
        assert!(!quoted.all_named, "{quoted:?}");
        // Text that names the attribute, with no tag in front of it.
        let text = Hints::of(b"<p>Add data-kiln-thread to a div.</p>");
        assert_eq!(text.mentions, 1);
        assert!(!text.all_named, "{text:?}");
        // A `<` in an unquoted value makes a plausible but wrong guess; the
        // count check in `inject` is what catches this one.
        let unquoted = Hints::of(b"<div a=x<b data-kiln-thread></div>");
        assert_eq!(unquoted.thread_tags, ["b"]);
    }
}
