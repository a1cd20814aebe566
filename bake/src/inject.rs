//! Puts rendered threads into a page: finds the placeholders with lol_html
//! (a streaming rewriter, so the rest of the page passes through byte for
//! byte) and replaces the file atomically, only when its bytes change.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fs::{self, File, Permissions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use lol_html::errors::RewritingError;
use lol_html::html_content::{ContentType, Element};
use lol_html::{ElementContentHandlers, HtmlRewriter, Selector, Settings};

use crate::export::Thread;
use crate::hints::{Hints, Kind};
use crate::render::{escape_html, Renderer, ThreadArgs};
use crate::source::{approved_count, Stamp};

const THREAD_ATTR: &str = "data-kiln-thread";
const COUNT_ATTR: &str = "data-kiln-count";
const URL_ATTR: &str = "data-kiln-url";
/// Longer ids are refused: they are almost certainly a templating mistake.
pub const MAX_ID_BYTES: usize = 500;

/// The URL path a page is published under, from its path relative to the
/// output directory with `/` separators: `posts/a/index.html` → `/posts/a/`,
/// `index.html` → `/`, `posts/a.html` → `/posts/a.html`. Characters a
/// browser would escape in `location.pathname` are percent-encoded.
pub fn published_path(relative: &str) -> String {
    let path = match relative.rsplit_once('/') {
        Some((dir, "index.html" | "index.htm")) => format!("/{dir}/"),
        None if matches!(relative, "index.html" | "index.htm") => "/".to_owned(),
        _ => format!("/{relative}"),
    };
    if path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
    {
        return path;
    }
    let mut url = url::Url::parse("http://kiln.invalid/").expect("a valid base URL");
    url.set_path(&path);
    url.path().to_owned()
}

/// The path of the site's base URL without its trailing slash: `/blog` for
/// `https://example.org/blog/`, empty for a site at the root (or a relative
/// or unparsable URL). It prefixes the default thread id, so an empty
/// `data-kiln-thread` means the path a browser shows, base path included.
pub fn base_path(site_url: &str) -> String {
    url::Url::parse(site_url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// Decodes character references in an attribute value, which lol_html hands
/// over raw: numeric ones (`&#39;`, `&#x2F;`) and the named ones templating
/// engines emit (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;`).
/// Anything else is kept as written.
pub fn decode_attribute(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest
            .find(';')
            .and_then(|end| Some((reference(&rest[1..end])?, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
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

/// The character a reference (between `&` and `;`) stands for.
fn reference(name: &str) -> Option<char> {
    let number = |digits: &str, radix| {
        let valid = !digits.is_empty() && digits.len() <= 8;
        let code = u32::from_str_radix(digits, radix).ok().filter(|_| valid)?;
        // Like a browser: NUL, surrogates and out-of-range become U+FFFD.
        Some(
            char::from_u32(code)
                .filter(|&c| c != '\0')
                .unwrap_or('\u{fffd}'),
        )
    };
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => match name.strip_prefix('#')? {
            hex if hex.starts_with(['x', 'X']) => number(&hex[1..], 16),
            dec => number(dec, 10),
        },
    }
}

/// Why a thread id cannot be used, if it cannot.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.len() > MAX_ID_BYTES {
        return Err(format!("is longer than {MAX_ID_BYTES} bytes"));
    }
    if id.chars().any(char::is_control) {
        return Err(format!("{id:?} contains control characters"));
    }
    Ok(())
}

/// What a page needs in order to be rewritten.
pub struct Placing<'a> {
    pub renderer: &'a Renderer,
    pub threads: &'a HashMap<String, Thread>,
    pub stamps: &'a HashMap<String, Stamp>,
    /// Prefix of page URLs, without a trailing slash.
    pub site_url: &'a str,
    /// The site's [`base_path`], which prefixes default thread ids.
    pub base: &'a str,
    /// With feeds on, the URL path their files are under (ending in `/`):
    /// a page that shows a thread links that thread's feed from its
    /// `<head>`.
    pub feeds: Option<&'a str>,
}

/// What one pass over a page found (and, when rewriting, produced).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageReport {
    /// Thread ids of the placeholders filled, in page order.
    pub threads: Vec<String>,
    /// Ids of the count placeholders filled.
    pub counts: Vec<String>,
    /// When rewriting, the page URL and title each of `threads` was
    /// placed with, in the same order: what its feed links to.
    pub shown: Vec<(String, String)>,
    /// Comments shown across the page's threads (approved ones).
    pub comments: u64,
    pub warnings: Vec<String>,
    /// lol_html could not rewrite the page safely; it must be left as is.
    pub unparsable: bool,
}

impl PageReport {
    pub fn has_placeholders(&self) -> bool {
        !self.threads.is_empty() || !self.counts.is_empty()
    }
}

/// Finds the ids a page's placeholders refer to, without rendering anything.
/// `base` is the site's [`base_path`].
pub fn scan_page(bytes: &[u8], relative: &str, base: &str) -> Result<PageReport> {
    let found = run(bytes, relative, base, None)?;
    Ok(found.map(|(_, report)| report).unwrap_or_default())
}

/// The page with every placeholder filled in; `None` when the page does
/// not mention a placeholder attribute at all (in any case, as HTML
/// attribute names go), so it is left alone without being parsed.
pub fn rewrite_page(
    bytes: &[u8],
    relative: &str,
    placing: &Placing<'_>,
) -> Result<Option<(Vec<u8>, PageReport)>> {
    run(bytes, relative, placing.base, Some(placing))
}

/// Parses a page once (twice when the narrowed pass cannot be trusted);
/// with `placing` it rewrites, without it it only looks. `None`: no
/// placeholder can be there, and nothing was parsed.
fn run(
    bytes: &[u8],
    relative: &str,
    base: &str,
    placing: Option<&Placing<'_>>,
) -> Result<Option<(Vec<u8>, PageReport)>> {
    let hints = Hints::of(bytes);
    if hints.is_empty() {
        return Ok(None);
    }
    if hints.all_named {
        if let Some(narrowed) = Selectors::narrowed(&hints) {
            let pass = pass(bytes, relative, base, placing, &narrowed)?;
            // Every mention was a placeholder the narrowed selectors
            // matched, so none was missed.
            if pass.matched == hints.mentions && !pass.report.unparsable {
                return Ok(Some((pass.output, pass.report)));
            }
        }
    }
    let pass = pass(bytes, relative, base, placing, Selectors::plain())?;
    Ok(Some((pass.output, pass.report)))
}

/// The selectors of one pass; `None` leaves that kind out.
struct Selectors {
    thread: Option<Selector>,
    count: Option<Selector>,
}

impl Selectors {
    /// `[data-kiln-thread]` and `[data-kiln-count]`, which match wherever
    /// the placeholders are.
    fn plain() -> &'static Selectors {
        static PLAIN: OnceLock<Selectors> = OnceLock::new();
        PLAIN.get_or_init(|| Selectors {
            thread: Some(
                format!("[{THREAD_ATTR}]")
                    .parse()
                    .expect("a valid selector"),
            ),
            count: Some(format!("[{COUNT_ATTR}]").parse().expect("a valid selector")),
        })
    }

    /// Only the tags the hints name; `None` if a selector does not parse
    /// (then the plain pass runs).
    fn narrowed(hints: &Hints) -> Option<Selectors> {
        let parse = |kind| match hints.selector(kind) {
            Some(text) => text.parse::<Selector>().ok().map(Some),
            None => Some(None),
        };
        Some(Selectors {
            thread: parse(Kind::Thread)?,
            count: parse(Kind::Count)?,
        })
    }
}

/// What one lol_html pass produced.
struct Pass {
    output: Vec<u8>,
    report: PageReport,
    /// Elements the placeholder selectors matched, usable or not.
    matched: usize,
}

/// One lol_html pass over the page.
fn pass(
    bytes: &[u8],
    relative: &str,
    base: &str,
    placing: Option<&Placing<'_>>,
    selectors: &Selectors,
) -> Result<Pass> {
    let path = published_path(relative);
    let default_id = format!("{base}{path}");
    let report = RefCell::new(PageReport::default());
    let matched = Cell::new(0usize);
    // Where the page's <title> text is (it comes before any placeholder in
    // the body), as a byte range of `bytes`. Read from where its tags are,
    // not with a text handler: lol_html writes a handled text chunk back
    // from its decoded text, which would turn bytes that are not UTF-8 (a
    // page in windows-1252) into U+FFFD outside the placeholders.
    let title: Rc<Cell<Option<(usize, usize)>>> = Rc::default();
    let placed = Cell::new(0usize);
    // Whether the page references the optional script yet: every thread
    // does, and so does the first count when no thread came before it, so
    // that list pages can top up their counts.
    let scripted = Cell::new(false);
    // The page's own language (`<html lang>`), which its threads and
    // counts speak when kiln knows it (`Renderer::lang_for`).
    let page_lang: RefCell<Option<String>> = RefCell::default();
    let thread_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        matched.set(matched.get() + 1);
        if inside_filled(el, THREAD_ATTR, relative, &report) {
            return Ok(());
        }
        let Some(id) = placeholder_id(el, THREAD_ATTR, &default_id, relative, &report) else {
            return Ok(());
        };
        if let Some(placing) = placing {
            placed.set(placed.get() + 1);
            scripted.set(true);
            let page_url = el
                .get_attribute(URL_ATTR)
                .map(|u| decode_attribute(&u))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| format!("{}{path}", placing.site_url));
            let thread = placing.threads.get(&id);
            let page_title = title
                .get()
                .and_then(|(start, end)| bytes.get(start..end))
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let page_title = decode_attribute(page_title.trim());
            let page_title = page_title.split_whitespace().collect::<Vec<_>>().join(" ");
            let html = placing
                .renderer
                .render_thread(&ThreadArgs {
                    id: &id,
                    thread,
                    page_url: &page_url,
                    page_title: &page_title,
                    id_prefix: &format!("kiln-{}", placed.get()),
                    lang: page_lang.borrow().as_deref(),
                })
                .map_err(|e| format!("{e:#}"))?;
            el.set_inner_content(&html, ContentType::Html);
            let mut report = report.borrow_mut();
            report.comments += thread.map_or(0, approved_count);
            report.shown.push((page_url, page_title));
        }
        report.borrow_mut().threads.push(id);
        Ok(())
    };
    let count_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        matched.set(matched.get() + 1);
        if inside_filled(el, COUNT_ATTR, relative, &report) {
            return Ok(());
        }
        let Some(id) = placeholder_id(el, COUNT_ATTR, &default_id, relative, &report) else {
            return Ok(());
        };
        if let Some(placing) = placing {
            let count = placing.stamps.get(&id).map_or(0, |s| s.count);
            let mut html = placing
                .renderer
                .render_count(
                    count,
                    placing.renderer.lang_for(page_lang.borrow().as_deref()),
                )
                .map_err(|e| format!("{e:#}"))?;
            // Counts are only ever topped up live: without that, the script
            // has nothing to do on a list page.
            let live = placing.renderer.live_url();
            let script = placing.renderer.script_url();
            if !live.is_empty() && !scripted.replace(true) && !script.is_empty() {
                // Inside the placeholder, so the next bake replaces it too.
                html.push_str(&format!(
                    "<script type=\"module\" src=\"{}\" data-kiln-live=\"{}\" defer></script>",
                    escape_html(&script),
                    escape_html(live)
                ));
            }
            el.set_inner_content(&html, ContentType::Html);
        }
        report.borrow_mut().counts.push(id);
        Ok(())
    };
    let html_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        if page_lang.borrow().is_none() {
            *page_lang.borrow_mut() = el.get_attribute("lang").map(|l| decode_attribute(&l));
        }
        Ok(())
    };
    let title_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        // A browser names the page by its first <title>; one inside a
        // placeholder being filled is not in the page after this bake.
        if el.removed() || title.get().is_some() {
            return Ok(());
        }
        let start = el.source_location().bytes().end;
        let title = Rc::clone(&title);
        el.on_end_tag(lol_html::end_tag!(move |end| {
            title.set(Some((start, end.source_location().bytes().start)));
            Ok(())
        }))
    };
    // Feed links go at the end of the page's <head>, which is behind us by
    // the time a placeholder says which threads the page shows: a marker
    // holds the place and is replaced once the pass is done.
    let feed_marker = placing
        .and_then(|p| p.feeds)
        .filter(|_| selectors.thread.is_some())
        .map(|_| format!("<!--kiln-feed-links-{:016x}-->", random()));
    let head_seen = Cell::new(false);
    let head_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        if el.removed() || head_seen.replace(true) {
            return Ok(());
        }
        let Some(marker) = feed_marker.clone() else {
            return Ok(());
        };
        el.on_end_tag(lol_html::end_tag!(move |end| {
            // Without a `</head>`, lol_html ends the head at a later end
            // tag (`</html>`); a link there would be in the body.
            if end.name() == "head" {
                end.before(&marker, ContentType::Html);
            }
            Ok(())
        }))
    };
    // The links the last bake put there; the marker puts back those still
    // wanted. With feeds turned off, they go.
    let old_link_handler = |el: &mut Element<'_, '_>| -> lol_html::HandlerResult {
        el.remove();
        Ok(())
    };
    let mut settings = Settings::new();
    if placing.is_some() {
        settings = settings
            .append_element_content_handler(lol_html::element!("html", html_handler))
            .append_element_content_handler(lol_html::element!("head > title", title_handler));
        // Only a page that says `data-kiln-feed` can hold one: the others
        // are spared the selector.
        let old_links = memchr::memmem::find(bytes, b"data-kiln-feed").is_some();
        if selectors.thread.is_some() && old_links {
            settings = settings.append_element_content_handler(lol_html::element!(
                "head > link[data-kiln-feed]",
                old_link_handler
            ));
        }
        if feed_marker.is_some() {
            settings =
                settings.append_element_content_handler(lol_html::element!("head", head_handler));
        }
    }
    if let Some(selector) = &selectors.thread {
        let handlers = ElementContentHandlers::default().element(thread_handler);
        settings = settings.append_element_content_handler((Cow::Borrowed(selector), handlers));
    }
    if let Some(selector) = &selectors.count {
        let handlers = ElementContentHandlers::default().element(count_handler);
        settings = settings.append_element_content_handler((Cow::Borrowed(selector), handlers));
    }
    let mut output = Vec::with_capacity(if placing.is_some() {
        bytes.len() + 16 * 1024
    } else {
        0
    });
    let keep = placing.is_some();
    let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| {
        if keep {
            output.extend_from_slice(chunk);
        }
    });
    let result = rewriter.write(bytes).and_then(|()| rewriter.end());
    let mut report = report.into_inner();
    if let (Some(marker), Some(prefix)) = (&feed_marker, placing.and_then(|p| p.feeds)) {
        if result.is_ok() {
            output = place_feed_links(output, marker, prefix, &report);
        }
    }
    match result {
        Ok(()) => {}
        // Our own failure (a template error): the whole bake should stop.
        Err(RewritingError::ContentHandlerError(e)) => anyhow::bail!("{relative}: {e}"),
        // lol_html refuses input it cannot parse unambiguously; leave it be.
        Err(e) => {
            report.unparsable = true;
            report
                .warnings
                .push(format!("{relative}: left unchanged: {e}"));
        }
    }
    Ok(Pass {
        output,
        report,
        matched: matched.get(),
    })
}

/// `output` with the feed marker replaced by a `<link rel="alternate">` to
/// the feed of each thread the page shows (once each, in page order), or
/// by nothing when it shows none.
fn place_feed_links(output: Vec<u8>, marker: &str, prefix: &str, report: &PageReport) -> Vec<u8> {
    let Some(at) = memchr::memmem::find(&output, marker.as_bytes()) else {
        return output;
    };
    let mut links = String::new();
    let mut seen = std::collections::HashSet::new();
    for (id, (_, title)) in report.threads.iter().zip(&report.shown) {
        if !seen.insert(id) {
            continue;
        }
        let title = match title.as_str() {
            "" => "Comments".to_owned(),
            title => format!("Comments on {title}"),
        };
        links.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{}\" href=\"{}{}\" data-kiln-feed>",
            escape_html(&title),
            escape_html(prefix),
            crate::feed::file_name(id),
        ));
    }
    let mut placed = Vec::with_capacity(output.len() + links.len());
    placed.extend_from_slice(&output[..at]);
    placed.extend_from_slice(links.as_bytes());
    placed.extend_from_slice(&output[at + marker.len()..]);
    placed
}

/// Whether a placeholder sits inside another one this pass is filling:
/// lol_html has already dropped it with the rest of that one's content, so
/// it is neither filled nor counted (it takes no `kiln-N` number, which would
/// shift the numbers of the threads after it until the next bake, where it
/// is gone). Says so in a warning: the page's template nests placeholders.
fn inside_filled(
    el: &Element<'_, '_>,
    attr: &str,
    relative: &str,
    report: &RefCell<PageReport>,
) -> bool {
    if !el.removed() {
        return false;
    }
    let line = format!("{relative}: skipped a {attr} placeholder inside another placeholder");
    report.borrow_mut().warnings.push(line);
    true
}

/// Elements whose content a browser reads as text (raw text and escapable
/// raw text elements, and those it reads as text when scripting is on).
const TEXT_ELEMENTS: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// The id a placeholder refers to, or `None` (with a warning) if it is unusable.
fn placeholder_id(
    el: &Element<'_, '_>,
    attr: &str,
    default_id: &str,
    relative: &str,
    report: &RefCell<PageReport>,
) -> Option<String> {
    let raw = el.get_attribute(attr).unwrap_or_default();
    let id = if raw.is_empty() {
        default_id.to_owned()
    } else {
        decode_attribute(&raw)
    };
    let problem = match check_id(&id) {
        Err(why) => Some(format!("its id {why}")),
        Ok(()) if !el.can_have_content() => {
            Some(format!("<{}> cannot have content", el.tag_name()))
        }
        // Their content is text to a browser, so a thread put there would
        // not be HTML, and its own `</script>` would end the element early.
        Ok(()) if TEXT_ELEMENTS.contains(&el.tag_name().as_str()) => {
            Some(format!("<{}> holds text, not HTML", el.tag_name()))
        }
        Ok(()) => None,
    };
    if let Some(problem) = problem {
        let line = format!("{relative}: skipped a {attr} placeholder: {problem}");
        report.borrow_mut().warnings.push(line);
        return None;
    }
    Some(id)
}

/// A file's identity for change detection: if all three match what we
/// recorded after our last write, nobody has written it since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMeta {
    pub len: u64,
    pub mtime_ns: u64,
    /// Catches writers that replace files by renaming (0 where unsupported).
    pub ino: u64,
}

impl FileMeta {
    pub fn of(meta: &fs::Metadata) -> Self {
        FileMeta {
            len: meta.len(),
            mtime_ns: mtime_ns(meta),
            ino: inode(meta),
        }
    }
}

pub fn mtime_ns(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> u64 {
    0
}

/// Replaces `path` with `bytes` so that a concurrent reader sees the old file
/// or the new one, never a mix: write a hidden temp file beside it, then
/// rename it over. `permissions` (the original file's) are kept.
///
/// There is no fsync: atomicity here protects readers (a web server serving
/// the site while we bake), and after a crash the site can simply be baked
/// again. Syncing every page would multiply the time of a full bake.
///
/// Returns the metadata of the new file.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
) -> Result<FileMeta> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let temp = dir.join(format!(
        ".{}.kiln-tmp-{:016x}",
        name.to_string_lossy(),
        random()
    ));
    let result = (|| {
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("creating {}", temp.display()))?;
        file.write_all(bytes)
            .with_context(|| format!("writing {}", temp.display()))?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)
                .with_context(|| format!("setting permissions of {}", temp.display()))?;
        }
        // Renaming keeps the file's mtime, so this is what a later stat sees.
        let meta = file
            .metadata()
            .with_context(|| format!("reading metadata of {}", temp.display()))?;
        drop(file);
        fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(FileMeta::of(&meta))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Whether `name` is one of [`write_atomic`]'s temp files
/// (`.NAME.kiln-tmp-` and 16 hex digits). One that is still there when a
/// bake lists its directory was left by a bake that was killed between
/// writing and renaming it, and is removed: it is never a page, and a
/// deploy would publish it. (Two bakes of one directory at the same time
/// could remove each other's; that fails the other's rename, never a page.)
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.rsplit_once(".kiln-tmp-").is_some_and(|(_, suffix)| {
            suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Unpredictable enough that two bakes never pick the same temp name.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_paths() {
        assert_eq!(published_path("index.html"), "/");
        assert_eq!(published_path("index.htm"), "/");
        assert_eq!(published_path("posts/a/index.html"), "/posts/a/");
        assert_eq!(published_path("posts/a.html"), "/posts/a.html");
        assert_eq!(
            published_path("posts/index.html.bak.html"),
            "/posts/index.html.bak.html"
        );
        assert_eq!(published_path("notindex.html"), "/notindex.html");
        assert_eq!(published_path("a b/café/index.html"), "/a%20b/caf%C3%A9/");
    }

    /// Found by the `inject` fuzz target: a thread placeholder inside
    /// another took a number (`kiln-2`) though its content was dropped, so
    /// the next bake, which no longer sees it, numbered the threads after it
    /// differently and rewrote a page whose comments had not changed.
    #[test]
    fn a_placeholder_inside_a_filled_one_is_skipped_and_a_second_bake_changes_nothing() {
        let page = "<html><body><div data-kiln-thread><div data-kiln-thread=\"x\"></div>\
                    <span data-kiln-count></span></div><p>between</p>\
                    <section data-kiln-thread=\"y\"></section></body></html>";
        with_placing(|placing| {
            let (first, report) = rewrite_page(page.as_bytes(), "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(report.threads, ["/p/", "y"]);
            assert!(report.counts.is_empty(), "{report:?}");
            assert_eq!(report.warnings.len(), 2, "{report:?}");
            assert!(report.warnings[0].contains("inside another placeholder"));
            let html = String::from_utf8_lossy(&first);
            assert!(
                html.contains("id=\"kiln-2-text\""),
                "y is the second thread"
            );
            let (second, _) = rewrite_page(&first, "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&second), html);
        });
    }

    /// Found by the `inject` fuzz target: a `<title>` inside a placeholder
    /// being filled still named the page for the threads after it, so the
    /// next bake, where it is gone, gave their forms another title.
    #[test]
    fn only_the_pages_first_title_outside_placeholders_names_it() {
        let page = "<html><head><title>Outer</title><title>Second</title></head><body>\
                    <div data-kiln-thread><head><title>Inner</title></head></div>\
                    <section data-kiln-thread=\"y\"></section></body></html>";
        with_placing(|placing| {
            let (first, report) = rewrite_page(page.as_bytes(), "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(report.threads, ["/p/", "y"]);
            let html = String::from_utf8_lossy(&first);
            assert_eq!(
                html.matches("name=\"title\" value=\"Outer\"").count(),
                2,
                "{html}"
            );
            let (second, _) = rewrite_page(&first, "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&second), html);
        });
        let page = "<html><body><div data-kiln-thread><head><title>Inner</title></head></div>\
                    <section data-kiln-thread=\"y\"></section></body></html>";
        with_placing(|placing| {
            let (first, _) = rewrite_page(page.as_bytes(), "p/index.html", placing)
                .unwrap()
                .unwrap();
            let html = String::from_utf8_lossy(&first);
            assert!(!html.contains("value=\"Inner\""), "{html}");
            let (second, _) = rewrite_page(&first, "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&second), html);
        });
    }

    /// Found by the `inject` fuzz target: a count placeholder on a
    /// `<script>` was filled with HTML (the count and kiln's own script
    /// element), whose `</script>` ended the element early and changed the
    /// page outside the placeholder.
    #[test]
    fn placeholders_on_elements_that_hold_text_are_skipped() {
        for tag in ["script", "style", "textarea", "title", "noscript", "iframe"] {
            let page = format!(
                "<html><body><{tag} data-kiln-count=\"/a/\">x</{tag}>\
                 <{tag} data-kiln-thread>y</{tag}></body></html>"
            );
            with_placing(|placing| {
                let (output, report) = rewrite_page(page.as_bytes(), "p/index.html", placing)
                    .unwrap()
                    .unwrap();
                assert_eq!(String::from_utf8_lossy(&output), page);
                assert!(!report.has_placeholders(), "{tag}: {report:?}");
                assert_eq!(report.warnings.len(), 2, "{tag}: {report:?}");
                assert!(report.warnings[0].contains("holds text, not HTML"));
            });
        }
    }

    #[test]
    fn temp_names_are_recognized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.html");
        write_atomic(&path, b"x", None).unwrap();
        // The name write_atomic uses, as it builds it.
        let temp = format!(".page.html.kiln-tmp-{:016x}", random());
        assert!(is_temp_name(&temp), "{temp}");
        assert!(!is_temp_name("page.html"));
        assert!(!is_temp_name(".page.html.kiln-tmp-notahexnumber!"));
        assert!(!is_temp_name("page.html.kiln-tmp-0123456789abcdef"));
    }

    #[test]
    fn id_rules() {
        assert!(check_id("/posts/a/").is_ok());
        assert!(check_id(&"x".repeat(500)).is_ok());
        assert!(check_id(&"x".repeat(501)).is_err());
        assert!(check_id("a\nb").is_err());
        assert!(check_id("a\u{7f}b").is_err());
        assert!(
            check_id("../../etc/passwd").is_ok(),
            "ids are opaque, never paths"
        );
    }

    /// Found by the `inject` fuzz target: the title was read with a text
    /// handler, so lol_html wrote it back from decoded text and a page whose
    /// title is not UTF-8 (windows-1252 here) lost its bytes outside the
    /// placeholder. The title still reaches the form, lossily decoded.
    #[test]
    fn a_title_that_is_not_utf8_is_left_byte_for_byte() {
        let head =
            b"<html><head><meta charset=windows-1252><title>Caf\xe9 &amp; \xff</title></head>";
        let page = [
            &head[..],
            b"<body><div data-kiln-thread></div></body></html>",
        ]
        .concat();
        with_placing(|placing| {
            let (output, report) = rewrite_page(&page, "p/index.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(report.threads, ["/p/"]);
            assert!(
                output.starts_with(head),
                "{}",
                String::from_utf8_lossy(&output)
            );
            let html = String::from_utf8_lossy(&output);
            assert!(
                html.contains("name=\"title\" value=\"Caf\u{FFFD} &amp; \u{FFFD}\""),
                "{html}"
            );
        });
    }

    #[test]
    fn attribute_references() {
        assert_eq!(decode_attribute("/a&amp;b/"), "/a&b/");
        assert_eq!(
            decode_attribute("it&#39;s &#x2F; &#X41;&quot;&lt;&gt;"),
            "it's / A\"<>"
        );
        assert_eq!(
            decode_attribute("a & b &copy; &#; &#xZZ; &amp"),
            "a & b &copy; &#; &#xZZ; &amp"
        );
        assert_eq!(
            decode_attribute("&#0;&#xD800;&#99999999;"),
            "\u{fffd}\u{fffd}\u{fffd}"
        );
        assert_eq!(decode_attribute("plain"), "plain");
    }

    #[test]
    fn pages_without_a_placeholder_are_not_parsed() {
        with_placing(|placing| {
            for page in ["<div data-kiln></div>", "<div data-kiln-url=\"/a/\">", ""] {
                assert_eq!(
                    rewrite_page(page.as_bytes(), "a.html", placing).unwrap(),
                    None
                );
            }
            let upper = "<SPAN DATA-KILN-COUNT></SPAN>";
            let (_, report) = rewrite_page(upper.as_bytes(), "a.html", placing)
                .unwrap()
                .unwrap();
            assert_eq!(report.counts, ["/a.html"]);
        });
    }

    /// Runs `check` with a placing that renders empty threads.
    fn with_placing(check: impl FnOnce(&Placing<'_>)) {
        let renderer = Renderer::new(crate::RenderOptions::default()).unwrap();
        let (threads, stamps) = (HashMap::new(), HashMap::new());
        check(&Placing {
            renderer: &renderer,
            threads: &threads,
            stamps: &stamps,
            site_url: "https://example.org",
            base: "",
            feeds: None,
        });
    }

    /// A page showing threads links each one's feed from its `<head>`,
    /// once per thread; baking the result again changes nothing, and with
    /// feeds off the links go.
    #[test]
    fn feed_links_go_in_the_head_and_stay_put() {
        let page = "<!doctype html><html><head><title>Post &amp; more</title>\n</head><body>\
                    <div data-kiln-thread></div><section data-kiln-thread=\"/x/\"></section>\
                    <aside data-kiln-thread></aside></body></html>";
        let renderer = Renderer::new(crate::RenderOptions::default()).unwrap();
        let (threads, stamps) = (HashMap::new(), HashMap::new());
        let mut placing = Placing {
            renderer: &renderer,
            threads: &threads,
            stamps: &stamps,
            site_url: "https://example.org",
            base: "",
            feeds: Some("/comments/feeds/"),
        };
        let (first, report) = rewrite_page(page.as_bytes(), "p/index.html", &placing)
            .unwrap()
            .unwrap();
        let html = String::from_utf8(first.clone()).unwrap();
        let link = |id: &str| {
            format!(
                "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Comments on Post &amp; more\" href=\"/comments/feeds/{}\" data-kiln-feed>",
                crate::feed::file_name(id)
            )
        };
        let links = format!("{}{}</head>", link("/p/"), link("/x/"));
        assert!(
            html.contains(&format!("<title>Post &amp; more</title>\n{links}")),
            "{html}"
        );
        assert_eq!(html.matches("data-kiln-feed").count(), 2, "{html}");
        assert!(!html.contains("kiln-feed-links"), "{html}");
        assert_eq!(
            report.shown[0],
            (
                "https://example.org/p/".to_owned(),
                "Post & more".to_owned()
            )
        );
        let (second, _) = rewrite_page(&first, "p/index.html", &placing)
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&second), html);
        // The narrowed pass and the plain one agree with feeds on too.
        let plain = pass(
            &first,
            "p/index.html",
            "",
            Some(&placing),
            Selectors::plain(),
        )
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&plain.output), html);
        placing.feeds = None;
        let (off, _) = rewrite_page(&first, "p/index.html", &placing)
            .unwrap()
            .unwrap();
        let off = String::from_utf8(off).unwrap();
        assert!(
            !off.contains("data-kiln-feed") && off.contains("</title>\n</head>"),
            "{off}"
        );
        placing.feeds = Some("/comments/feeds/");
        // A <head> whose end tag is left implicit gets no link, and no
        // marker is left behind.
        let open = "<html><head><title>T</title><body><div data-kiln-thread></div></body></html>";
        let (out, _) = rewrite_page(open.as_bytes(), "p/index.html", &placing)
            .unwrap()
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("kiln-feed"), "{out}");
        // A page with counts only gets no link and no marker.
        let list = "<html><head><title>L</title></head><body><span data-kiln-count=\"/a/\"></span></body></html>";
        let (out, _) = rewrite_page(list.as_bytes(), "index.html", &placing)
            .unwrap()
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("<title>L</title></head>"), "{out}");
    }

    /// Rewrites `page` as a bake does and with the plain selectors alone,
    /// and requires the same output and report. Returns the report, and
    /// whether the bake kept its narrowed pass.
    fn agrees_with_plain(placing: &Placing<'_>, page: &str) -> (PageReport, bool) {
        let bytes = page.as_bytes();
        let relative = "p/index.html";
        let expected = pass(bytes, relative, "", Some(placing), Selectors::plain()).unwrap();
        // `None` leaves the page as it is, which the plain pass must agree with.
        let (output, report) = rewrite_page(bytes, relative, placing)
            .unwrap()
            .unwrap_or_else(|| (bytes.to_vec(), PageReport::default()));
        assert_eq!(report, expected.report, "{page}");
        assert_eq!(
            String::from_utf8_lossy(&output),
            String::from_utf8_lossy(&expected.output),
            "{page}"
        );
        let hints = Hints::of(bytes);
        let kept = !hints.is_empty()
            && hints.all_named
            && Selectors::narrowed(&hints).is_some_and(|narrowed| {
                let pass = pass(bytes, relative, "", Some(placing), &narrowed).unwrap();
                pass.matched == hints.mentions && !pass.report.unparsable
            });
        (report, kept)
    }

    /// Pages where the byte search guesses wrong or cannot guess, and pages
    /// where it guesses right, each rewritten both ways.
    #[test]
    fn narrowed_passes_match_plain_ones() {
        let head = "<!doctype html><html><head><title>T</title></head><body>";
        let pages = [
            // Guessed right.
            "<main><section data-kiln-thread></section></main>",
            "<kiln-comments\tdata-kiln-thread=\"/x/\"/></kiln-comments><span data-kiln-count></span>",
            "<DIV CLASS=a DATA-KILN-THREAD>old</DIV>",
            // A `<` in an unquoted value: the guess is `b`, the tag is div.
            "<div a=x<b data-kiln-thread></div>",
            // A `<` in a quoted value: no guess.
            "<div title=\"1 <b\" data-kiln-thread></div>",
            // Mentions that are not placeholders.
            "<p>Put data-kiln-thread on a div: <code>&lt;div data-kiln-thread&gt;</code></p>\
             <aside data-kiln-thread></aside>",
            "<!-- <div data-kiln-thread> --><div data-kiln-thread></div>",
            "<script>let s = '<div data-kiln-thread>';</script><div data-kiln-thread></div>",
            // The same attribute twice on one element.
            "<div data-kiln-thread=\"/a/\" data-kiln-thread=\"/b/\"></div>",
            // A count inside a thread placeholder.
            "<div data-kiln-thread><span data-kiln-count></span></div>",
        ];
        with_placing(|placing| {
            for body in pages {
                let page = format!("{head}{body}</body></html>");
                let (report, _) = agrees_with_plain(placing, &page);
                assert!(!report.threads.is_empty(), "{body}: {report:?}");
            }
        });
    }

    /// Many pages put together from awkward pieces, each rewritten both
    /// ways: the narrowed pass (with its fallback) must never differ.
    #[test]
    fn narrowed_passes_match_plain_ones_on_generated_pages() {
        const PIECES: &[&str] = &[
            "<div data-kiln-thread>",
            "<section class=\"c\" data-kiln-thread=\"/x/\">",
            "<span data-kiln-count>",
            "<SPAN DATA-KILN-COUNT=\"/y/\">",
            "<div a=x<b data-kiln-thread>",
            "<p title=\"<i \" data-kiln-thread>",
            "<!-- <div data-kiln-thread> -->",
            "<script>let s = '<div data-kiln-thread>';</script>",
            "text naming data-kiln-count here",
            "<textarea><div data-kiln-thread></textarea>",
            "<svg><g data-kiln-thread></g></svg>",
            "<img data-kiln-thread>",
            "<x-y data-kiln-thread=\"/z/\">",
            "<div data-kiln-thread-x>",
            "<div/data-kiln-thread>",
            "<div data-kiln-thread data-kiln-count>",
            "<template><div data-kiln-thread></div></template>",
            "<a href=\"/k/\">kiln</a>",
            "</div>",
            "</section>",
            "</span>",
            "<p>",
            "</p>",
        ];
        // A fixed linear congruential generator: the same pages every run.
        let mut seed: u64 = 0x6b696c6e;
        let mut next = |below: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % below
        };
        let mut narrowed_pages = 0;
        with_placing(|placing| {
            for _ in 0..400 {
                let mut page =
                    String::from("<!doctype html><html><head><title>T</title></head><body>");
                for _ in 0..1 + next(10) {
                    page.push_str(PIECES[next(PIECES.len())]);
                }
                page.push_str("</body></html>");
                let (_, kept) = agrees_with_plain(placing, &page);
                narrowed_pages += usize::from(kept);
            }
        });
        // The fast path, not only the fallback, was tested on many pages.
        assert!(narrowed_pages > 50, "{narrowed_pages}");
    }

    #[test]
    fn scan_finds_ids_and_skips_bad_ones() {
        let long = "y".repeat(501);
        let html = format!(
            "<div data-kiln-thread></div><span data-kiln-count=\"/b/\"></span>\
             <div data-kiln-thread=\"{long}\"></div><div data-kiln-thread=\"a&#10;b\"></div>\
             <img data-kiln-thread=\"x\">"
        );
        let report = scan_page(html.as_bytes(), "a/index.html", "").unwrap();
        assert_eq!(report.threads, ["/a/"]);
        assert_eq!(report.counts, ["/b/"]);
        assert_eq!(report.warnings.len(), 3, "{:?}", report.warnings);
        assert!(
            report.warnings[0].contains("longer than 500"),
            "{:?}",
            report.warnings
        );
        assert!(
            report.warnings[1].contains("control characters"),
            "{:?}",
            report.warnings
        );
        assert!(
            report.warnings[2].contains("<img> cannot have content"),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn atomic_write_keeps_permissions_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.html");
        fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        }
        let permissions = fs::metadata(&path).unwrap().permissions();
        let meta = write_atomic(&path, b"new!", Some(permissions.clone())).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new!");
        assert_eq!(FileMeta::of(&fs::metadata(&path).unwrap()), meta);
        assert_eq!(fs::metadata(&path).unwrap().permissions(), permissions);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["page.html"]);
    }

    #[test]
    fn failed_atomic_write_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty directory fails after the temp
        // file was written.
        let target = dir.path().join("taken.html");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), "x").unwrap();
        let err = write_atomic(&target, b"data", None).unwrap_err();
        assert!(format!("{err:#}").contains("taken.html"), "{err:#}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken.html"]);
    }
}
