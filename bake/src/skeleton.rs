//! Pre-rendered templates with holes, the fast path for the built-in thread,
//! comment and form templates.
//!
//! A full bake renders one thread and form per page and one comment template
//! per comment: tens of thousands of tera renders, each looking every
//! variable up in a JSON context. The built-in templates only ever print
//! these variables (escaped, or raw for HTML that is already safe); they
//! never test or filter them. So each template is rendered once per shape
//! (deleted or not, with or without a website, ...) with a unique marker in
//! place of every variable, and a thread is then assembled by copying the
//! text between markers and the escaped values into them. Templates a site
//! overrides always go through tera; a test renders many threads both ways
//! and insists the bytes are identical.

use anyhow::{bail, Result};

/// Brackets each hole's number in the rendered text. A private-use
/// character: not in any template, and left alone by HTML escaping.
const MARK: char = '\u{F8FF}';

/// The marker that stands for hole `index` while a skeleton is rendered.
pub fn hole(index: usize) -> String {
    format!("{MARK}{index}{MARK}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(Box<str>),
    Hole(usize),
}

/// A rendered template split at its holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    parts: Vec<Part>,
    text_len: usize,
}

impl Skeleton {
    /// Splits `rendered` (a template rendered with [`hole`] markers for
    /// holes `0..holes`) into text and holes.
    pub fn parse(rendered: &str, holes: usize) -> Result<Self> {
        let mut parts = Vec::new();
        let mut text_len = 0;
        let mut rest = rendered;
        while let Some(start) = rest.find(MARK) {
            let after = &rest[start + MARK.len_utf8()..];
            let Some(end) = after.find(MARK) else {
                bail!("an unterminated hole marker in a rendered template");
            };
            let index: usize = match after[..end].parse() {
                Ok(i) if i < holes => i,
                _ => bail!("a damaged hole marker in a rendered template"),
            };
            if start > 0 {
                parts.push(Part::Text(rest[..start].into()));
                text_len += start;
            }
            parts.push(Part::Hole(index));
            rest = &after[end + MARK.len_utf8()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
            text_len += rest.len();
        }
        Ok(Skeleton { parts, text_len })
    }

    /// Appends the template to `out` with `values[i]` in hole `i`. Values
    /// go in exactly as given: escape those the template escapes.
    pub fn fill(&self, out: &mut String, values: &[&str]) {
        out.reserve(self.text_len + values.iter().map(|v| v.len()).sum::<usize>());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Hole(i) => out.push_str(values[*i]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_in_place_in_any_order_and_repeated() {
        let rendered = format!(
            "<a href=\"{}\">{}</a>{}{}",
            hole(1),
            hole(0),
            hole(1),
            hole(0)
        );
        let skeleton = Skeleton::parse(&rendered, 2).unwrap();
        let mut out = String::new();
        skeleton.fill(&mut out, &["text", "url"]);
        assert_eq!(out, "<a href=\"url\">text</a>urltext");
    }

    #[test]
    fn damaged_markers_are_refused() {
        assert!(Skeleton::parse(&format!("x{MARK}1"), 2).is_err());
        assert!(Skeleton::parse(&hole(2), 2).is_err());
        assert!(Skeleton::parse(&format!("{MARK}a{MARK}"), 2).is_err());
        assert_eq!(
            Skeleton::parse("plain", 0).unwrap(),
            Skeleton {
                parts: vec![Part::Text("plain".into())],
                text_len: 5
            }
        );
    }
}
