//! The XSS corpus (`tests/fixtures/xss-corpus.txt`) in real headless
//! Chromium with JavaScript on. Every payload is posted through the real
//! receiver in the text, the name, the website and the page URL, approved,
//! baked into a real page, and the page is loaded, hovered, focused and
//! clicked all over; then the same for every receiver page that shows what
//! was typed: the error page, the reply page, the thank-you page, the
//! commenter's edit page, and the admin queue and edit page. A detector
//! installed before any page script (`alert`, `confirm`, `prompt`, `print`
//! and `__kilnXss` replaced, each call recorded in the page and sent as a
//! beacon) must see nothing.
//!
//! The receiver's pages run under a Content-Security-Policy with no script
//! at all, which alone would stop every payload; so their HTML is also saved
//! and served again from the test's own server without that header, to
//! prove that the escaping and the sanitizer hold without the policy. A
//! control page made from the same corpus with no escaping, loaded the same
//! way, must fire, or the detector would prove nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

const CORPUS: &str = include_str!("../fixtures/xss-corpus.txt");

/// Threads: name and text payloads; website payloads; page-URL payloads
/// (never baked: the page URL is not shown on the page); one comment with
/// every text payload at once, for pages that show one comment.
const TEXT_THREAD: &str = "/xss/text/";
const WEBSITE_THREAD: &str = "/xss/website/";
const URL_THREAD: &str = "/xss/url/";
const COMBO_THREAD: &str = "/xss/combo/";

/// Where a payload went, encoded in the number its script would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Text = 1,
    Name = 2,
    Website = 3,
    Control = 4,
    Url = 5,
}

struct Payload {
    /// 1-based position in the corpus.
    number: usize,
    family: String,
    /// The payload with the file's escapes undone, `XSSN` still in it.
    template: String,
}

impl Payload {
    fn id(&self, field: Field) -> usize {
        self.number * 10 + field as usize
    }

    /// The payload as posted in `field`: its number in place of `XSSN`,
    /// and its `{b64:...}` parts encoded.
    fn in_field(&self, field: Field) -> String {
        let text = self.template.replace("XSSN", &self.id(field).to_string());
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{b64:") {
            let inner = &rest[start + "{b64:".len()..];
            let end = inner.find('}').expect("a {b64: ...} is closed");
            out.push_str(&rest[..start]);
            out.push_str(&base64(&inner.as_bytes()[..end]));
            rest = &inner[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn corpus() -> Vec<Payload> {
    let lines = CORPUS
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    lines
        .enumerate()
        .map(|(i, line)| {
            let (family, payload) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("corpus line {line:?} has no family tag and tab"));
            Payload {
                number: i + 1,
                family: family.to_owned(),
                template: unescape(payload),
            }
        })
        .collect()
}

/// Undoes the corpus file's escapes: `\n`, `\t`, `\\` and `\u{HEX}`.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                chars.next();
                assert_eq!(chars.next(), Some('{'), "\\u is followed by {{ in {text:?}");
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let value = u32::from_str_radix(&hex, 16).expect("hex in \\u{...}");
                out.push(char::from_u32(value).expect("a Unicode scalar value"));
                continue;
            }
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The detector, run in every document and frame before the page's own
/// scripts: the four dialog functions and `__kilnXss` record each call in
/// the top window's `__kilnFired` (when it can reach it), in its own, and
/// as a beacon to the test's server (which reaches it from any origin,
/// unless a policy forbids it).
fn detector(beacons: &str) -> String {
    format!(
        r#"(() => {{
  const beacon = {beacons:?};
  const record = (how, args) => {{
    const entry = how + " " + String(args.length ? args[0] : "") + " at " + String(location.href).slice(0, 160);
    try {{ (window.__kilnFired = window.__kilnFired || []).push(entry); }} catch (e) {{}}
    try {{ if (top !== window) (top.__kilnFired = top.__kilnFired || []).push(entry); }} catch (e) {{}}
    try {{ navigator.sendBeacon(beacon, entry); }} catch (e) {{}}
  }};
  for (const how of ["alert", "confirm", "prompt", "print"]) {{
    window[how] = function (...args) {{
      record(how, args);
      return how === "confirm" ? false : how === "prompt" ? null : undefined;
    }};
  }}
  window.__kilnXss = (...args) => record("__kilnXss", args);
}})();"#
    )
}

/// Keeps every document (every frame's too) from following a link or
/// submitting a form, unless the URL's scheme is one that runs script
/// (`javascript:`, `data:`, `vbscript:`), which is let through, so such a
/// URL runs if it can. Going to another page is not script running, and
/// the run must stay on the page.
const STAY_ON_THE_PAGE: &str = r#"
const docs = [];
const collect = (doc) => {
  docs.push(doc);
  for (const frame of doc.querySelectorAll("iframe, frame, object, embed")) {
    try { if (frame.contentDocument) collect(frame.contentDocument); } catch (e) {}
  }
};
collect(document);
// Only a URL whose scheme runs script where it is opened may be followed.
const leaves = (doc, url) => {
  try {
    return !["javascript:", "data:", "vbscript:"].includes(new URL(url, doc.baseURI).protocol);
  } catch (e) { return true; }
};
const hrefOf = (link) => link.getAttribute("href") || link.getAttribute("xlink:href") || "";
for (const doc of docs) {
  if (doc.__kilnStays) continue;
  doc.__kilnStays = true;
  doc.addEventListener("click", (e) => {
    const link = e.target.closest ? e.target.closest("a, area") : null;
    if (link && leaves(doc, hrefOf(link))) e.preventDefault();
  }, true);
  doc.addEventListener("submit", (e) => {
    const by = e.submitter && e.submitter.getAttribute("formaction");
    if (leaves(doc, by || e.target.getAttribute("action") || "")) e.preventDefault();
  }, true);
}
return docs.length;
"#;

/// Hovers, focuses and clicks every element in `scope` on the top page,
/// and every element of every frame's document, by script: each `on*`
/// attribute's own event is dispatched, then the mouse events of a pointer
/// passing over, then `focus()` and `click()`, which follows a
/// `javascript:` link or submits a form.
const TOUCH_EVERYTHING: &str = r#"
const scope = arguments[0];
const docs = [];
const collect = (doc) => {
  docs.push(doc);
  for (const frame of doc.querySelectorAll("iframe, frame, object, embed")) {
    try { if (frame.contentDocument) collect(frame.contentDocument); } catch (e) {}
  }
};
collect(document);
const leaves = (doc, url) => {
  try {
    return !["javascript:", "data:", "vbscript:"].includes(new URL(url, doc.baseURI).protocol);
  } catch (e) { return true; }
};
const mouse = ["pointerover", "pointerenter", "mouseover", "mouseenter", "pointermove", "mousemove",
  "pointerdown", "mousedown", "pointerup", "mouseup", "dblclick", "auxclick", "contextmenu"];
const away = ["mouseout", "mouseleave", "pointerout", "pointerleave"];
let touched = 0;
for (const doc of docs) {
  const view = doc.defaultView;
  const all = doc === document && scope
    ? doc.querySelectorAll(scope + ", " + scope + " *")
    : doc.querySelectorAll("*");
  for (const el of all) {
    touched++;
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) {
        try { el.dispatchEvent(new view.Event(name.slice(2))); } catch (e) {}
      }
    }
    for (const type of mouse) {
      try { el.dispatchEvent(new view.MouseEvent(type, { bubbles: true, cancelable: true, view })); } catch (e) {}
    }
    try { if (el.focus) el.focus({ preventScroll: true }); } catch (e) {}
    // A submit button whose form goes to an http(s) URL would only be
    // stopped by the listener above, after Chromium's slow validation
    // bubble; a label only passes the click on to its field, touched too.
    const submits = el.form && ["submit", "image"].includes(el.type);
    const action = submits && (el.getAttribute("formaction") || el.form.getAttribute("action") || "");
    const inert = (submits && leaves(doc, action)) || el.localName === "label";
    try {
      if (inert) {}
      else if (el.click) el.click();
      else el.dispatchEvent(new view.MouseEvent("click", { bubbles: true, cancelable: true, view }));
    } catch (e) {}
    try { if (el.blur) el.blur(); } catch (e) {}
    for (const type of away) {
      try { el.dispatchEvent(new view.MouseEvent(type, { bubbles: true, view })); } catch (e) {}
    }
  }
}
return touched;
"#;

/// The centres of the elements matching the selector, in page
/// coordinates, top first.
const POINTS: &str = r#"
const points = [];
for (const el of document.querySelectorAll(arguments[0])) {
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) continue;
  points.push([r.left + r.width / 2 + scrollX, r.top + Math.min(r.height / 2, 8) + scrollY]);
}
points.sort((a, b) => a[1] - b[1]);
return points;
"#;

/// What the real pointer hovers and clicks: every link a commenter made,
/// the website on their name and the links in their text. (The script
/// pass touches everything; a real click costs some 15 ms on two cores.)
const POINTED_AT: &str = ".kiln-comment .kiln-author a, .kiln-comment .kiln-body a";

/// What the detector saw on one page kind, and what that page had in it.
#[derive(Default)]
struct Seen {
    /// Detector entries, as `how id at url` (canaries removed).
    fired: Vec<String>,
    /// Elements touched by the script pass, points clicked by the pointer.
    touched: u64,
    clicked: u64,
}

/// One browser, one detector and the server the beacons reach.
struct Harness<'a> {
    browser: Browser,
    site: &'a StaticSite,
    beacons_read: std::cell::Cell<usize>,
}

impl<'a> Harness<'a> {
    fn start(site: &'a StaticSite) -> Option<Harness<'a>> {
        let browser = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap()?;
        browser
            .run_on_every_new_document(&detector(&format!("{}{}", site.url, StaticSite::BEACONS)))
            .unwrap();
        Some(Harness {
            browser,
            site,
            beacons_read: std::cell::Cell::new(0),
        })
    }

    /// Loads `url`, touches everything in `scope` (by script in every
    /// frame, and with the real pointer on the top page when `pointer`),
    /// waits until what that could have started has run, and returns what
    /// the detector saw. `policy` says the page runs under kiln's policy,
    /// which refuses the canary too, and beacons.
    fn exercise(&self, url: &str, scope: &str, pointer: bool, policy: bool) -> Seen {
        self.browser.goto(url).unwrap();
        self.exercise_here(scope, pointer, policy)
    }

    /// `exercise` on the page the browser is on.
    fn exercise_here(&self, scope: &str, pointer: bool, policy: bool) -> Seen {
        let b = &self.browser;
        let started = Instant::now();
        let url = b.current_url().unwrap();
        let mut seen = Seen::default();
        self.alive(b.run_script(STAY_ON_THE_PAGE, json!([])));
        if pointer {
            seen.clicked = self.pointer_pass();
        }
        // Frames a click may have added.
        self.alive(b.run_script(STAY_ON_THE_PAGE, json!([])));
        let touched = self.alive(b.run_script(TOUCH_EVERYTHING, json!([scope])));
        seen.touched = touched.as_u64().unwrap_or(0);
        let refused = self.settle(policy);
        let fired = self.alive(b.run_script("return window.__kilnFired || []", json!([])));
        let mut fired: Vec<String> = fired
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        // Beacons from frames that could not reach the top window, or from
        // a document that navigated away.
        let beacons = self.site.beacons();
        fired.extend(beacons[self.beacons_read.get()..].iter().cloned());
        self.beacons_read.set(beacons.len());
        fired.extend(refused);
        let mut fired: Vec<String> = fired
            .into_iter()
            .filter(|entry| !entry.contains("canary"))
            .collect();
        fired.sort();
        fired.dedup();
        seen.fired = fired;
        eprintln!(
            "xss: {url}: {} elements touched, {} clicked, {} fired, in {:?}",
            seen.touched,
            seen.clicked,
            seen.fired.len(),
            started.elapsed()
        );
        seen
    }

    /// The real pointer over every element a reader could point at, one
    /// window's height at a time: trusted hover and click events.
    fn pointer_pass(&self) -> u64 {
        let b = &self.browser;
        let points = self.alive(b.run_script(POINTS, json!([POINTED_AT])));
        let points: Vec<(f64, f64)> = points
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let size = self.alive(b.run_script("return [innerWidth, innerHeight]", json!([])));
        let (width, height) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
        let mut clicked = 0;
        let mut at = 0;
        while at < points.len() {
            let top = points[at].1 - 4.0;
            let scrolled =
                self.alive(b.run_script("scrollTo(0, arguments[0]); return scrollY", json!([top])));
            let scrolled = scrolled.as_f64().unwrap();
            let band: Vec<(f64, f64)> = points[at..]
                .iter()
                .take_while(|p| p.1 - scrolled < height - 2.0)
                .filter(|p| p.0 >= 0.0 && p.0 < width)
                .map(|p| (p.0, p.1 - scrolled))
                .collect();
            let taken = points[at..]
                .iter()
                .take_while(|p| p.1 - scrolled < height - 2.0)
                .count()
                .max(1);
            self.alive(b.hover_and_click_at(&band).map(|()| Value::Null));
            clicked += band.len() as u64;
            at += taken;
        }
        clicked
    }

    /// Waits until everything the touching started has run: a
    /// `javascript:` link clicked last runs after every one clicked before
    /// it. Under kiln's policy it is refused instead, which Chromium says
    /// in the console.
    ///
    /// Returns, under the policy, what Chromium refused to run before the
    /// canary: an inline handler or a `javascript:` URL there is a payload
    /// that only the policy stopped.
    fn settle(&self, policy: bool) -> Vec<String> {
        let b = &self.browser;
        let mut refused = Vec::new();
        if policy {
            let log = b.console_log();
            let log = self.alive(log.map(|lines| json!(lines)));
            refused.extend(
                log.as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|line| {
                        line.contains("Content Security Policy") || line.contains("Refused to")
                    })
                    .map(|line| format!("refused-by-the-policy {line}")),
            );
        }
        self.alive(b.run_script(
            "const a = document.createElement('a');
             a.href = \"javascript:top.__kilnXss('canary')\";
             document.body.append(a); a.click(); return null",
            json!([]),
        ));
        let started = Instant::now();
        eventually("the canary to run", Duration::from_secs(15), || {
            if policy {
                let log = b.console_log().unwrap();
                log.iter()
                    .any(|line| line.contains("javascript:") || line.contains("JavaScript URL"))
                    .then_some(())
                    .ok_or_else(|| format!("console: {log:?}"))
            } else {
                let fired = self.alive(b.run_script("return window.__kilnFired || []", json!([])));
                let canary = fired.to_string().contains("canary");
                let beacon = self.site.beacons().iter().any(|b| b.contains("canary"));
                (canary && beacon)
                    .then_some(())
                    .ok_or_else(|| format!("after {:?}: {fired}", started.elapsed()))
            }
        });
        refused
    }

    /// A WebDriver answer, or a failure that says a real dialog opened:
    /// the detector missed a call, which counts as a payload that ran.
    fn alive(&self, answer: anyhow::Result<Value>) -> Value {
        match answer {
            Ok(value) => value,
            Err(err) => {
                let err = format!("{err:#}");
                assert!(
                    !err.contains("unexpected alert open"),
                    "a real dialog opened, so a payload ran past the detector: {err}"
                );
                panic!("{err}")
            }
        }
    }
}

/// A small static site: one page with the three baked threads.
fn write_site(public: &Path) {
    let page = public.join("xss");
    std::fs::create_dir_all(&page).unwrap();
    let threads: String = [TEXT_THREAD, WEBSITE_THREAD, COMBO_THREAD]
        .iter()
        .map(|t| format!("<section data-kiln-thread=\"{t}\"></section>\n"))
        .collect();
    std::fs::write(
        page.join("index.html"),
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>XSS corpus</title></head>\n<body><main><h1>XSS corpus</h1>\n{threads}</main></body></html>\n"
        ),
    )
    .unwrap();
}

/// The unescaped control page: every payload raw in the body, as a
/// name in an attribute and as text, and as a link's target, in the
/// contexts kiln's templates use, with no escaping at all. Payloads that
/// swallow the rest of a document (`<plaintext>`) come last.
fn control_page(corpus: &[Payload]) -> String {
    let mut ordered: Vec<&Payload> = corpus.iter().collect();
    ordered.sort_by_key(|p| swallows_the_rest(&p.template));
    let body: String = ordered
        .iter()
        .map(|p| {
            let raw = p.in_field(Field::Control);
            format!(
                "<article class=\"kiln-comment\"><header><span class=\"kiln-author\">\
                 <a href=\"{raw}\"><span title=\"{raw}\">{raw}</span></a></span></header>\
                 <div class=\"kiln-body\"><p>{raw}</p></div></article>\n"
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>control</title></head>\n\
         <body><section data-kiln-thread=\"/control/\">\n{body}</section></body></html>\n"
    )
}

/// Whether `html` opens an element whose text runs to its end tag (or to
/// the end of the document) without closing it.
fn swallows_the_rest(html: &str) -> bool {
    let html = html.to_ascii_lowercase();
    let raw = [
        "style", "script", "textarea", "title", "xmp", "noscript", "noembed", "noframes", "iframe",
    ];
    html.contains("<plaintext")
        || raw.iter().any(|tag| {
            html.matches(&format!("<{tag}")).count() > html.matches(&format!("</{tag}")).count()
        })
}

/// The payload numbers and fields in what the detector saw.
fn ids(seen: &Seen) -> BTreeSet<usize> {
    seen.fired
        .iter()
        .filter_map(|entry| entry.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

#[test]
fn the_detector_sees_an_unescaped_page_run_the_corpus() {
    let corpus = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path();
    std::fs::create_dir_all(public.join("control")).unwrap();
    std::fs::write(public.join("control/index.html"), control_page(&corpus)).unwrap();
    let site = StaticSite::serve(public);
    let Some(harness) = Harness::start(&site) else {
        return;
    };

    let control = format!("{}/control/", site.url);
    let seen = harness.exercise(&control, "[data-kiln-thread]", true, false);
    let fired: BTreeSet<usize> = ids(&seen).iter().map(|id| id / 10).collect();
    let families: BTreeSet<&str> = corpus
        .iter()
        .filter(|p| fired.contains(&p.number))
        .map(|p| p.family.as_str())
        .collect();
    let report = format!(
        "control: {} of {} payloads fired, families {families:?}, {} elements touched, {} clicked",
        fired.len(),
        corpus.len(),
        seen.touched,
        seen.clicked
    );
    eprintln!("{report}");
    assert!(
        fired.len() * 2 > corpus.len(),
        "the detector must see most of the corpus run on an unescaped page: {report}\n{:#?}",
        seen.fired
    );
    for family in ["handler", "url", "svg", "mxss", "breakout"] {
        assert!(
            families.contains(family),
            "no {family} payload fired on the control page: {report}"
        );
    }
    assert!(
        fired.iter().all(|n| *n >= 1 && *n <= corpus.len()),
        "every id names a payload: {fired:?}"
    );

    // Under the receiver's policy the same page runs (nearly) nothing, but
    // what the policy refused is seen: the check the receiver's live pages
    // get can fail.
    site.add_header(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
    );
    let seen = harness.exercise(&control, "[data-kiln-thread]", false, true);
    let refused = seen
        .fired
        .iter()
        .filter(|e| e.starts_with("refused-by-the-policy"))
        .count();
    eprintln!(
        "control under the policy: {refused} refusals seen, {} calls",
        seen.fired.len() - refused
    );
    // Chromium logs a repeated refusal once, so this counts kinds of
    // refusal more than payloads.
    assert!(
        refused >= 10
            && seen
                .fired
                .iter()
                .any(|e| e.contains("inline event handler")),
        "the console must show the policy refusing the corpus: {:#?}",
        seen.fired
    );
}

/// Receiver pages per saved document (see [`write_saved`]). Each focus
/// restyles the whole document, so the touching costs the square of its
/// size: a few dozen pages a document is much faster than hundreds.
const PAGES_PER_DOCUMENT: usize = 60;

/// The pages of one kind as a few documents (`all-N.html`): each page's
/// `<body>` in a `<section>` of its own, one after the other. A document
/// loads and is touched far faster than a frame per page (some 30 ms each
/// on two cores), and as kiln's markup is balanced, each page's content
/// parses as it does alone. Each page is also kept as it came, `N.html`.
/// Returns the documents' names.
fn write_saved(dir: &Path, pages: &[String]) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for (chunk, pages_in_chunk) in pages.chunks(PAGES_PER_DOCUMENT).enumerate() {
        let mut all = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saved</title></head><body>\n",
        );
        for (j, html) in pages_in_chunk.iter().enumerate() {
            let i = chunk * PAGES_PER_DOCUMENT + j;
            std::fs::write(dir.join(format!("{i}.html")), html).unwrap();
            let lower = html.to_ascii_lowercase();
            let start = lower
                .find("<body")
                .and_then(|at| Some(at + lower[at..].find('>')? + 1))
                .unwrap_or(0);
            let end = lower.rfind("</body>").unwrap_or(html.len());
            all.push_str(&format!(
                "<section data-page=\"{i}\">{}</section>\n",
                &html[start..end]
            ));
        }
        all.push_str("</body></html>\n");
        let name = format!("all-{chunk}.html");
        std::fs::write(dir.join(&name), all).unwrap();
        names.push(name);
    }
    names
}

/// What the receiver was sent, and where it lands, for the browser to load.
struct Posted {
    /// Saved receiver pages (as sent, for loading without the policy) by
    /// page kind.
    saved: BTreeMap<&'static str, Vec<String>>,
    /// Edit links, from JSON answers and thank-you pages.
    edit_links: Vec<String>,
    /// Where a no-JS post with a payload in its page URL landed.
    thank_you: Vec<String>,
    /// Refusals of a payload in the text or name (a pass, but worth seeing).
    refused: Vec<String>,
    /// The comment with every text payload, and its edit link.
    combo: (i64, String),
    /// The payloads whose text and name were stored.
    stored: BTreeSet<usize>,
}

fn post_json(receiver: &Receiver, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/comments", receiver.url))
        .json(body)
        .send()
        .expect("POST /comments");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn get(url: &str, cookie: Option<&str>) -> String {
    let mut request = http().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("kiln_admin={cookie}"));
    }
    let resp = request.send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let html = resp.text().unwrap();
    assert_eq!(status, 200, "GET {url}: {html}");
    html
}

/// The edit link on a thank-you page.
fn edit_link_on(html: &str) -> Option<String> {
    let at =
        html.find("class=\"kiln-edit-link\" href=\"")? + "class=\"kiln-edit-link\" href=\"".len();
    let end = at + html[at..].find('"')?;
    Some(kiln_bake::inject::decode_attribute(&html[at..end]))
}

/// Posts every payload in every field: text and name together over JSON
/// (stored, to be approved and baked); the website and the page URL each
/// through the no-JS form (stored, or refused with the error page); and
/// all three through the form with an address the receiver refuses, for
/// the error page that shows them all again.
fn post_everything(receiver: &Receiver, page: &str, corpus: &[Payload]) -> Posted {
    let mut posted = Posted {
        saved: BTreeMap::new(),
        edit_links: Vec::new(),
        thank_you: Vec::new(),
        refused: Vec::new(),
        combo: (0, String::new()),
        stored: BTreeSet::new(),
    };
    for p in corpus {
        let n = p.number;
        let (status, answer) = post_json(
            receiver,
            &json!({
                "thread": TEXT_THREAD, "url": page,
                "name": p.in_field(Field::Name), "text": p.in_field(Field::Text),
            }),
        );
        // A name the receiver refuses (a line break in it) must not keep
        // the text from the page: then the text goes alone.
        let (status, answer) = if status == 422 && answer["error"]["field"] == "name" {
            posted
                .refused
                .push(format!("name of {n}: {}", answer["error"]["message"]));
            post_json(
                receiver,
                &json!({
                    "thread": TEXT_THREAD, "url": page,
                    "name": format!("Text {n}"), "text": p.in_field(Field::Text),
                }),
            )
        } else {
            (status, answer)
        };
        if status == 201 {
            posted.stored.insert(n);
            posted.edit_links.push(
                answer["edit"]["url"]
                    .as_str()
                    .expect("an edit link")
                    .to_owned(),
            );
        } else {
            posted
                .refused
                .push(format!("text and name of {n}: {status} {answer}"));
        }

        let website = p.in_field(Field::Website);
        let name = format!("Website {n}");
        let text = format!("Website payload {n}.");
        let (status, location, body) = post_form(
            receiver,
            &[
                ("thread", WEBSITE_THREAD),
                ("url", page),
                ("name", &name),
                ("text", &text),
                ("website", &website),
            ],
        );
        landed(receiver, &mut posted, status, location, body);

        let url = format!("{page}?{}", p.in_field(Field::Url));
        let name = format!("Page URL {n}");
        let text = format!("Page URL payload {n}.");
        let fields = [
            ("thread", URL_THREAD),
            ("url", url.as_str()),
            ("name", &name),
            ("text", &text),
        ];
        let (status, location, body) = post_form(receiver, &fields);
        if let Some(location) = &location {
            posted.thank_you.push(location.clone());
        }
        landed(receiver, &mut posted, status, location, body);

        let (name, text) = (p.in_field(Field::Name), p.in_field(Field::Text));
        let (status, _, body) = post_form(
            receiver,
            &[
                ("thread", TEXT_THREAD),
                ("url", page),
                ("name", &name),
                ("email", "not an address"),
                ("website", &website),
                ("text", &text),
            ],
        );
        assert_eq!(status, 422, "a bad address is refused: {body}");
        posted.saved.entry("error").or_default().push(body);
    }
    let (status, answer) = post_json(
        receiver,
        &json!({ "thread": COMBO_THREAD, "url": page, "name": "Every text payload", "text": combo_text(corpus, &posted.stored) }),
    );
    assert_eq!(status, 201, "{answer}");
    posted.combo = (
        answer["comment"]["id"].as_i64().expect("the comment's id"),
        answer["edit"]["url"].as_str().unwrap().to_owned(),
    );
    posted
}

/// Where a no-JS post landed: the thank-you page (saved, with its edit
/// link) or the error page (saved).
fn landed(
    receiver: &Receiver,
    posted: &mut Posted,
    status: u16,
    location: Option<String>,
    body: String,
) {
    match (status, location) {
        (303, Some(location)) => {
            assert!(
                location.starts_with(&format!("{}/posted/", receiver.url)),
                "{location}"
            );
            let html = get(&location, None);
            posted
                .edit_links
                .push(edit_link_on(&html).expect("the thank-you page offers the edit link"));
            posted.saved.entry("thank-you").or_default().push(html);
        }
        (422, None) => posted.saved.entry("error").or_default().push(body),
        (status, location) => panic!("unexpected answer {status} {location:?}: {body}"),
    }
}

/// Every text payload that was stored on its own (a payload refused
/// alone would have the whole refused), in one comment, as paragraphs.
fn combo_text(corpus: &[Payload], stored: &BTreeSet<usize>) -> String {
    corpus
        .iter()
        .filter(|p| stored.contains(&p.number))
        .map(|p| p.in_field(Field::Text))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page on the site whose form posts every text payload at once, with
/// an address the receiver refuses: submitted by the browser, it lands on
/// the receiver's real error page, under the receiver's real policy.
fn combo_error_form(
    receiver: &Receiver,
    page: &str,
    corpus: &[Payload],
    stored: &BTreeSet<usize>,
) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>post</title></head><body>\
         <form method=\"post\" action=\"{}/comments\">\
         <input type=\"hidden\" name=\"thread\" value=\"{COMBO_THREAD}\">\
         <input type=\"hidden\" name=\"url\" value=\"{}\">\
         <input name=\"name\" value=\"{}\">\
         <input name=\"email\" value=\"not an address\">\
         <input name=\"website\" value=\"{}\">\
         <textarea name=\"text\">{}</textarea>\
         <button type=\"submit\">Send</button></form></body></html>\n",
        receiver.url,
        escape_html(page),
        escape_html(&corpus[0].in_field(Field::Name)),
        escape_html(&corpus[0].in_field(Field::Website)),
        escape_html(&combo_text(corpus, stored)),
    )
}

/// Whether the markup carries a Content-Security-Policy of its own
/// (`<meta http-equiv>`), read with a real HTML parser.
fn has_a_policy(html: &str) -> bool {
    let found = std::cell::Cell::new(false);
    let mut rewriter = lol_html::HtmlRewriter::new(
        lol_html::Settings::new().append_element_content_handler(lol_html::element!(
            "meta[http-equiv]",
            |el| {
                let what = el.get_attribute("http-equiv").unwrap_or_default();
                if what.trim().eq_ignore_ascii_case("content-security-policy") {
                    found.set(true);
                }
                Ok(())
            }
        )),
        |_: &[u8]| {},
    );
    rewriter.write(html.as_bytes()).unwrap();
    rewriter.end().unwrap();
    found.get()
}

/// The ids of the comments in `threads`, from the real database.
fn ids_in(db: &Db, threads: &[&str]) -> Vec<i64> {
    let db = peek(db);
    let mut ids = Vec::new();
    for thread in threads {
        let rows = db.rows(
            "SELECT c.id FROM comments c JOIN threads t ON t.id = c.thread_id \
             WHERE t.key = $1 ORDER BY c.id",
            &[(*thread).into()],
        );
        ids.extend(rows.iter().map(|row| row[0].int()));
    }
    ids
}

/// Names what fired: the payload, its family and the field it was in.
fn explain(corpus: &[Payload], kind: &str, entry: &str) -> String {
    let id: Option<usize> = entry.split_whitespace().nth(1).and_then(|n| n.parse().ok());
    let Some(id) = id else {
        return format!("{kind}: {entry} (no payload number)");
    };
    let field = match id % 10 {
        1 => "text",
        2 => "name",
        3 => "website",
        4 => "control",
        5 => "page URL",
        _ => "?",
    };
    match corpus.get((id / 10).wrapping_sub(1)) {
        Some(p) => format!(
            "{kind}: payload {} ({}) in the {field} ran: {:?} [{entry}]",
            p.number,
            p.family,
            p.in_field(Field::Text)
        ),
        None => format!("{kind}: {entry} (unknown payload)"),
    }
}

#[test]
fn no_payload_runs_on_the_baked_page_or_any_receiver_page() {
    let started = Instant::now();
    let corpus = corpus();
    assert!(
        corpus.len() >= 150,
        "the corpus has {} payloads",
        corpus.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("public");
    write_site(&public);
    let site = StaticSite::serve(&public);
    let db = Db::fresh(tmp.path());
    let many = "100000";
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &site.url,
        token: None,
        extra_env: &[
            (
                "KILN_SERVER_SECRET",
                "the xss corpus test's secret, long enough to sign",
            ),
            // Long payloads are stored, not refused, so they reach the page.
            ("KILN_LIMITS_NAME", "2000"),
            ("KILN_LIMITS_WEBSITE", "2000"),
            ("KILN_LIMITS_TEXT", "30000"),
            ("KILN_SERVER_MAX_BODY_BYTES", "1000000"),
            ("KILN_SPAM_POSTS_PER_IP", many),
            ("KILN_SPAM_POSTS_PER_THREAD", many),
            ("KILN_SPAM_POSTS_GLOBAL", many),
            ("KILN_SPAM_MAX_LINKS", "1000"),
            ("KILN_SPAM_DUPLICATE_DAYS", "0"),
        ],
    });
    let page = format!("{}/xss/", site.url);
    let mut posted = post_everything(&receiver, &page, &corpus);
    eprintln!("xss: posted in {:?}", started.elapsed());

    // Approve the baked threads' comments and bake.
    let baked = ids_in(&db, &[TEXT_THREAD, WEBSITE_THREAD, COMBO_THREAD]);
    let mut approve = vec!["--db", db.arg(), "approve"];
    let ids: Vec<String> = baked.iter().map(i64::to_string).collect();
    approve.extend(ids.iter().map(String::as_str));
    kiln_ok(tmp.path(), &approve);
    let state = tmp.path().join("state.bin");
    kiln_ok(
        tmp.path(),
        &[
            "--db",
            db.arg(),
            "bake",
            "--from",
            db.arg(),
            "--site-url",
            &site.url,
            "--receiver-url",
            &receiver.url,
            "--state",
            state.to_str().unwrap(),
            public.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(public.join("xss/index.html")).unwrap();
    assert_eq!(
        comment_nesting(&html).len(),
        baked.len(),
        "every approved comment is on the baked page"
    );
    // The payloads reached the page, as the reader's text.
    let names = texts_of(&html, ".kiln-author");
    let shown = names.iter().filter(|n| n.contains("alert(")).count();
    assert!(shown >= 150, "{shown} payload names shown: {names:#?}");

    // The receiver's pages, as sent: reply pages for every baked comment,
    // edit pages for every comment, the admin queue and edit page.
    let cookie = admin_login(&receiver, tmp.path());
    for id in &baked {
        let thread = ids_in(&db, &[TEXT_THREAD]).contains(id);
        let thread = if *id == posted.combo.0 {
            COMBO_THREAD
        } else if thread {
            TEXT_THREAD
        } else {
            WEBSITE_THREAD
        };
        let url = reply_url(&receiver, thread, &page, *id);
        posted
            .saved
            .entry("reply")
            .or_default()
            .push(get(&url, None));
    }
    for link in &posted.edit_links {
        posted
            .saved
            .entry("edit")
            .or_default()
            .push(get(link, None));
    }
    for id in ids_in(
        &db,
        &[TEXT_THREAD, WEBSITE_THREAD, URL_THREAD, COMBO_THREAD],
    ) {
        let url = format!("{}/admin/comments/{id}", receiver.url);
        posted
            .saved
            .entry("admin edit")
            .or_default()
            .push(get(&url, Some(&cookie)));
    }
    let queues: Vec<String> = [TEXT_THREAD, WEBSITE_THREAD, URL_THREAD, COMBO_THREAD]
        .iter()
        .map(|thread| admin_queue_url(&receiver, thread))
        .collect();
    for url in &queues {
        let html = get(url, Some(&cookie));
        posted.saved.entry("admin queue").or_default().push(html);
    }
    // Saved without the policy: the browser sees only the markup.
    let mut copies: Vec<(&str, String)> = Vec::new();
    for (kind, pages) in &posted.saved {
        for html in pages {
            assert!(
                !has_a_policy(html),
                "{kind}: a policy in the markup would make the copy prove nothing"
            );
        }
        let dir = kind.replace(' ', "-");
        for name in write_saved(&public.join("saved").join(&dir), pages) {
            copies.push((kind, format!("{}/saved/{dir}/{name}", site.url)));
        }
    }
    std::fs::write(
        public.join("post-combo.html"),
        combo_error_form(&receiver, &page, &corpus, &posted.stored),
    )
    .unwrap();
    eprintln!(
        "xss: {} receiver pages saved in {:?}: {:?}",
        posted.saved.values().map(Vec::len).sum::<usize>(),
        started.elapsed(),
        posted
            .saved
            .iter()
            .map(|(k, v)| format!("{k} {}", v.len()))
            .collect::<Vec<_>>()
    );

    let Some(harness) = Harness::start(&site) else {
        return;
    };
    let mut results: Vec<(String, Seen)> = Vec::new();
    // The baked page, with the real pointer too.
    results.push((
        "baked page".into(),
        harness.exercise(&page, "[data-kiln-thread]", true, false),
    ));
    // The receiver's pages, live, under the receiver's policy.
    let (combo_id, combo_edit) = posted.combo.clone();
    let live = [
        (
            "reply (live)",
            reply_url(&receiver, COMBO_THREAD, &page, combo_id),
        ),
        ("edit (live)", combo_edit),
        ("thank-you (live)", posted.thank_you[0].clone()),
    ];
    for (kind, url) in &live {
        results.push((kind.to_string(), harness.exercise(url, "body", false, true)));
    }
    harness
        .browser
        .goto(&format!("{}/post-combo.html", site.url))
        .unwrap();
    harness.browser.submit("button").unwrap();
    results.push((
        "error (live)".into(),
        harness.exercise_here("body", false, true),
    ));
    // The admin pages, logged in through the real login form.
    harness
        .browser
        .goto(&format!("{}/admin", receiver.url))
        .unwrap();
    harness
        .browser
        .fill("#ka-password", ADMIN_PASSWORD)
        .unwrap();
    harness.browser.submit("#ka-login button").unwrap();
    assert!(harness.browser.exists("#ka-list").unwrap(), "logged in");
    for url in &queues {
        results.push((
            "admin queue (live)".into(),
            harness.exercise(url, "body", false, true),
        ));
    }
    let admin_edit = format!("{}/admin/comments/{combo_id}", receiver.url);
    results.push((
        "admin edit (live)".into(),
        harness.exercise(&admin_edit, "body", false, true),
    ));
    // And every page saved, without the policy.
    for (kind, url) in &copies {
        results.push((
            format!("{kind} (no policy)"),
            harness.exercise(url, "", false, false),
        ));
    }

    let mut summary: BTreeMap<String, (usize, u64, u64)> = BTreeMap::new();
    let mut ran = Vec::new();
    for (kind, seen) in &results {
        let entry = summary.entry(kind.clone()).or_default();
        entry.0 += 1;
        entry.1 += seen.touched;
        entry.2 += seen.clicked;
        assert!(seen.touched > 0, "{kind}: nothing was touched");
        ran.extend(seen.fired.iter().map(|e| explain(&corpus, kind, e)));
    }
    eprintln!(
        "xss: {} payloads; pages loaded, elements touched, points clicked: {summary:#?}\n\
         refused in text or name: {:#?}\nin {:?}",
        corpus.len(),
        posted.refused,
        started.elapsed()
    );
    assert!(ran.is_empty(), "payloads ran: {ran:#?}");
}

fn reply_url(receiver: &Receiver, thread: &str, page: &str, parent: i64) -> String {
    url::Url::parse_with_params(
        &format!("{}/reply", receiver.url),
        &[
            ("thread", thread),
            ("url", page),
            ("parent", &parent.to_string()),
        ],
    )
    .unwrap()
    .to_string()
}

fn admin_queue_url(receiver: &Receiver, thread: &str) -> String {
    url::Url::parse_with_params(
        &format!("{}/admin", receiver.url),
        &[("status", "all"), ("thread", thread)],
    )
    .unwrap()
    .to_string()
}
