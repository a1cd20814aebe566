//! Streaming XML for the Disqus and WordPress importers: quick-xml reads the
//! file event by event (a 1 GB export is never held whole), and this walks
//! the events as elements with their local names (namespace prefixes and
//! URIs vary between exporters), attributes, and text with CDATA and
//! references joined. Errors name the file and the line.

use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{anyhow, Result};
use quick_xml::events::Event;
use quick_xml::Reader;

/// What a format does with the elements as they end.
pub trait Visitor {
    /// An element opened (or was empty, then `on_end` follows at once);
    /// `path` holds the local names of its ancestors, outermost first.
    fn on_start(&mut self, path: &[String], name: &str, attrs: &[(String, String)]);
    /// An element closed, with its text (outer white space kept).
    fn on_end(&mut self, path: &[String], name: &str, text: String);
}

/// Reads the XML file at `path` into `visitor`.
pub fn walk(path: &Path, input: Box<dyn BufRead>, visitor: &mut impl Visitor) -> Result<()> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut started = false;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                return Err(at_line(path, reader.error_position(), &e.to_string()));
            }
        };
        let fail = |what: &str| at_line(path, reader.buffer_position(), what);
        match event {
            Event::Start(e) => {
                started = true;
                let name = local(e.local_name().as_ref());
                let attrs = attributes(&e).map_err(|m| fail(&m))?;
                visitor.on_start(&stack, &name, &attrs);
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                started = true;
                let name = local(e.local_name().as_ref());
                let attrs = attributes(&e).map_err(|m| fail(&m))?;
                visitor.on_start(&stack, &name, &attrs);
                visitor.on_end(&stack, &name, String::new());
                text.clear();
            }
            Event::End(_) => {
                let name = stack
                    .pop()
                    .ok_or_else(|| fail("a closing tag without an opening one"))?;
                visitor.on_end(&stack, &name, std::mem::take(&mut text));
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| fail(&e.to_string()))?;
                if !started && !s.trim().is_empty() {
                    return Err(fail(&format!(
                        "text {:?} before the first element; the file is not XML as exported",
                        s.trim().chars().take(20).collect::<String>()
                    )));
                }
                text.push_str(&s);
            }
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| fail(&e.to_string()))?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| fail(&e.to_string()))?;
                match r.resolve_char_ref() {
                    Ok(Some(c)) => text.push(c),
                    _ => match quick_xml::escape::resolve_xml_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => return Err(fail(&format!("unknown entity &{name};"))),
                    },
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(fail(&format!("the file ends inside <{open}>")));
                }
                return Ok(());
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
}

/// A name without its namespace prefix, as text.
fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// An element's attributes as (local name, unescaped value).
fn attributes(
    e: &quick_xml::events::BytesStart,
) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("a malformed attribute: {e}"))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("a malformed attribute value: {e}"))?;
        out.push((local(a.key.local_name().as_ref()), value.into_owned()));
    }
    Ok(out)
}

/// An error at a byte offset of the file, with the line it is on.
fn at_line(path: &Path, offset: u64, what: &str) -> anyhow::Error {
    let line = super::open_text(path)
        .ok()
        .map(|r| {
            r.take(offset)
                .bytes()
                .filter(|b| matches!(b, Ok(b'\n')))
                .count()
                + 1
        })
        .unwrap_or(1);
    anyhow!("{}, line {line}: {what}", path.display())
}

/// The value of the attribute with this local name.
pub fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
