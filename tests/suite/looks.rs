//! Issue 16, "how it must be shown": kiln's threads on real themes, as their
//! users install them, in real Chromium. Jekyll's minima (Debian's package),
//! Pelican's notmyidea and simple (they ship with Pelican), the starter
//! `hugo new theme` makes on current Hugo, and the Astro example, each with
//! a nested conversation, in light and dark (`prefers-color-scheme`
//! emulated) at 1280 and 390 px. On every one of those pages:
//! - axe-core finds no WCAG 2 A/AA violation inside the thread and its form;
//! - comment text, names, dates, labels and links in text contrast at least
//!   4.5:1 with the background actually computed behind them (the page's,
//!   through every layer between);
//! - the theme's header styles do not reach the author line, and links in
//!   comment text are underlined.
//!
//! `bake.theme = "dark"` and `"light"` are checked the same way on the Hugo
//! starter. Screenshots of every page land in target/looks/
//! (SITE-SCHEME-WIDTH.png, SITE-theme-THEME.png) for a person to look at.
//! One browser session serves every page.

use std::time::Instant;

use serde_json::json;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::themed::{self, Themed};
use crate::support::*;

const WIDTHS: [(u32, u32); 2] = [(1280, 900), (390, 844)];
const SCHEMES: [&str; 2] = ["light", "dark"];

/// Loads axe-core into the page once (indirect eval: the global scope).
const LOAD_AXE: &str = "if (!window.axe) { (0, eval)(arguments[0]); } return typeof window.axe;";

/// axe-core on the first thread, WCAG 2.0-2.2 A and AA rules; one line per
/// violation. WebDriver waits for the promise.
const RUN_AXE: &str = r#"
const thread = document.querySelector('.kiln-thread');
return axe.run(thread, {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  resultTypes: ['violations'],
}).then((r) => r.violations.map((v) =>
  `${v.id} (${v.impact}), ${v.nodes.length} node(s), e.g. ${v.nodes[0].target.join(' ')}: ${v.nodes[0].failureSummary.replace(/\s+/g, ' ')}`));
"#;

/// The contrast of each piece of thread text with the background computed
/// behind it: every ancestor's background colour composited over the
/// canvas, from the root down. Returns { min, low: [...], unknown: [...] }.
const CONTRAST: &str = r#"
const parse = (s) => {
  let m = /^rgba?\(([^)]*)\)$/.exec(s);
  if (m) {
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  m = /^color\(srgb ([^)]*)\)$/.exec(s);
  if (m) {
    const p = m[1].split(/[\s\/]+/).filter(Boolean).map(parseFloat);
    return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
  }
  return null;
};
const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
const lum = (c) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const scheme = getComputedStyle(document.documentElement).colorScheme;
const canvas = /dark/.test(scheme) && !/light/.test(scheme) ? [18, 18, 18, 1] : [255, 255, 255, 1];
const unknown = [];
const background = (el) => {
  const chain = [];
  for (let e = el; e; e = e.parentElement) chain.push(e);
  let bg = canvas;
  for (const e of chain.reverse()) {
    const value = getComputedStyle(e).backgroundColor;
    const c = parse(value);
    if (c === null) { unknown.push(`${e.tagName}.${e.className}: background ${value}`); return null; }
    if (c[3] > 0) bg = over(c, bg);
  }
  return bg;
};
const selectors = ['.kiln-body', '.kiln-body a', '.kiln-author', '.kiln-meta time', '.kiln-form label', '.kiln-heading', '.kiln-reply'];
let min = Infinity;
const low = [];
for (const selector of selectors) {
  for (const el of document.querySelectorAll('.kiln-thread ' + selector)) {
    const fg = parse(getComputedStyle(el).color);
    const bg = background(el);
    if (fg === null || bg === null) { unknown.push(`${selector}: color ${getComputedStyle(el).color}`); continue; }
    const r = ratio(over(fg, bg), bg);
    min = Math.min(min, r);
    if (r < 4.5) low.push(`${selector} ${r.toFixed(2)}:1 (text ${getComputedStyle(el).color} on rgb(${bg.slice(0, 3).map(Math.round).join(', ')}))`);
  }
}
return { min, low: [...new Set(low)], unknown };
"#;

/// Theme clashes (item 8): header styles on the author line, links in text
/// without an underline.
const CLASHES: &str = r#"
const out = [];
for (const meta of document.querySelectorAll('.kiln-thread .kiln-meta')) {
  const s = getComputedStyle(meta);
  if (s.borderBottomStyle !== 'none' || s.borderTopStyle !== 'none') { out.push(`a border on the author line: ${s.borderBottom}`); break; }
}
for (const a of document.querySelectorAll('.kiln-thread .kiln-body a')) {
  if (!getComputedStyle(a).textDecorationLine.includes('underline')) { out.push('a link in comment text is not underlined'); break; }
}
if (document.querySelector('.kiln-thread header')) out.push('a <header> inside the thread');
return out;
"#;

#[test]
fn threads_read_well_on_real_themes_in_light_and_dark_at_two_widths() {
    let started = Instant::now();
    let Some(axe) = themed::installed_tool("axe/node_modules/axe-core/axe.min.js") else {
        return;
    };
    let axe = std::fs::read_to_string(axe).unwrap();
    let mut sites: Vec<Themed> = Vec::new();
    sites.extend(themed::jekyll_minima());
    sites.extend(themed::pelican("notmyidea"));
    sites.extend(themed::pelican("simple"));
    if let Some(hugo) = themed::installed_tool("venv/bin/hugo") {
        let site = themed::hugo_new_theme(&hugo, "hugo-starter");
        themed::put_partial_in_single_layout(&site);
        sites.push(site);
    }
    sites.extend(themed::astro());
    for site in &sites {
        // The first build finds the threads; the second bakes comments in.
        site.build();
        site.add_comments("");
    }
    let built = started.elapsed();
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let shots = repo_root().join("target").join("looks");
    std::fs::create_dir_all(&shots).unwrap();

    let mut failures = Vec::new();
    let mut pages = 0;
    for site in &sites {
        // A post's page: the first thread's, which has the nested replies.
        let (_, page) = site.threads().into_iter().next().expect("a thread");
        let served = StaticSite::serve(&site.out);
        let url = format!("{}/{page}", served.url);
        for (width, height) in WIDTHS {
            browser.set_window_size(width, height).unwrap();
            for scheme in SCHEMES {
                browser
                    .emulate_media_feature("prefers-color-scheme", scheme)
                    .unwrap();
                browser.goto(&url).unwrap();
                pages += 1;
                let at = format!("{} {scheme} {width}px ({page})", site.name);
                let nested = browser
                    .count(".kiln-replies .kiln-replies .kiln-comment")
                    .unwrap();
                if nested == 0 {
                    failures.push(format!("{at}: no nested comments on the page"));
                }
                let loaded = browser.run_script(LOAD_AXE, json!([axe])).unwrap();
                assert_eq!(loaded, json!("object"), "axe-core did not load");
                let violations = browser.run_script(RUN_AXE, json!([])).unwrap();
                for v in violations.as_array().unwrap() {
                    failures.push(format!("{at}: axe: {}", v.as_str().unwrap()));
                }
                let contrast = browser.run_script(CONTRAST, json!([])).unwrap();
                for key in ["low", "unknown"] {
                    for line in contrast[key].as_array().unwrap() {
                        failures.push(format!("{at}: contrast: {}", line.as_str().unwrap()));
                    }
                }
                if !contrast["min"].as_f64().is_some_and(|min| min >= 4.5) {
                    failures.push(format!("{at}: lowest contrast {}", contrast["min"]));
                }
                let clashes = browser.run_script(CLASHES, json!([])).unwrap();
                for line in clashes.as_array().unwrap() {
                    failures.push(format!("{at}: {}", line.as_str().unwrap()));
                }
                browser
                    .run_script(
                        "document.querySelector('.kiln-thread .kiln-list').scrollIntoView(); return 0;",
                        json!([]),
                    )
                    .unwrap();
                let shot = shots.join(format!("{}-{scheme}-{width}.png", site.name));
                browser.screenshot(&shot).unwrap();
            }
        }
    }
    // The explicit themes draw kiln's own panel on any page: checked on the
    // (light-only) Hugo starter, with the reader's system in the other mode.
    if let Some(site) = sites.iter().find(|s| s.name == "hugo-starter") {
        for (theme, scheme) in [("dark", "light"), ("light", "dark")] {
            site.add_comments(&format!("theme = \"{theme}\"\n"));
            let (_, page) = site.threads().into_iter().next().expect("a thread");
            let served = StaticSite::serve(&site.out);
            browser.set_window_size(1280, 900).unwrap();
            browser
                .emulate_media_feature("prefers-color-scheme", scheme)
                .unwrap();
            browser.goto(&format!("{}/{page}", served.url)).unwrap();
            pages += 1;
            let at = format!("{} bake.theme = {theme}, {scheme} system", site.name);
            let class = browser
                .attr(".kiln-thread", "class")
                .unwrap()
                .unwrap_or_default();
            if !class.contains(&format!("kiln-theme-{theme}")) {
                failures.push(format!("{at}: the thread's class is {class:?}"));
            }
            browser.run_script(LOAD_AXE, json!([axe])).unwrap();
            let violations = browser.run_script(RUN_AXE, json!([])).unwrap();
            for v in violations.as_array().unwrap() {
                failures.push(format!("{at}: axe: {}", v.as_str().unwrap()));
            }
            let contrast = browser.run_script(CONTRAST, json!([])).unwrap();
            if !contrast["min"].as_f64().is_some_and(|min| min >= 4.5) {
                failures.push(format!(
                    "{at}: lowest contrast {}: {}",
                    contrast["min"], contrast["low"]
                ));
            }
            browser
                .run_script(
                    "document.querySelector('.kiln-thread .kiln-list').scrollIntoView(); return 0;",
                    json!([]),
                )
                .unwrap();
            browser
                .screenshot(&shots.join(format!("{}-theme-{theme}.png", site.name)))
                .unwrap();
        }
    }
    eprintln!(
        "looks: {} sites, {pages} pages checked in {:.1?} ({:.1?} building); screenshots in {}",
        sites.len(),
        started.elapsed(),
        built,
        shots.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
