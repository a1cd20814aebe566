//! Fragments mode (`kiln bake --fragments DIR`), for SSG dev servers that
//! render pages in memory and leave no output directory to bake: one file per
//! thread holding exactly what a placeholder would receive, which the SSG
//! adapters include inside their placeholder, plus `counts.json`.
//!
//! File names are the SHA-256 of the thread id in lowercase hex, so an id is
//! never used as a path and every adapter can compute the name in its own
//! language. A file is written only when its bytes change, so a dev server
//! watching the directory rebuilds only the pages whose thread changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::inject::{check_id, is_temp_name, write_atomic};
use crate::render::{hex, RenderOptions, Renderer, ThreadArgs};
use crate::source::{approved_count, Source};

/// The index of thread ids and their approved comments.
pub const COUNTS_FILE: &str = "counts.json";

/// How to write fragments.
#[derive(Debug, Clone)]
pub struct FragmentOptions {
    /// Where the fragment files go (created if missing).
    pub dir: PathBuf,
    /// The site's public URL without a trailing slash; a fragment's form
    /// returns readers to this URL's origin followed by the thread id.
    pub site_url: String,
    pub render: RenderOptions,
}

/// What a fragments run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FragmentSummary {
    /// Threads with a fragment.
    pub threads: usize,
    /// Files whose bytes changed and were rewritten (counts.json included).
    pub files_changed: usize,
    /// Fragments of threads that no longer exist, removed.
    pub removed: usize,
    pub warnings: Vec<String>,
}

impl fmt::Display for FragmentSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fragments for {} {}: {} {} changed",
            self.threads,
            if self.threads == 1 {
                "thread"
            } else {
                "threads"
            },
            self.files_changed,
            if self.files_changed == 1 {
                "file"
            } else {
                "files"
            }
        )?;
        if self.removed > 0 {
            write!(f, ", {} removed", self.removed)?;
        }
        Ok(())
    }
}

/// The fragment file name of a thread: `<sha256 of the id, hex>.html`.
pub fn fragment_name(thread_id: &str) -> String {
    format!("{}.html", hex(&Sha256::digest(thread_id.as_bytes())))
}

/// Whether `name` looks like a file this module writes: only such files are
/// ever removed, so nothing else in the directory is at risk.
fn is_fragment_name(name: &str) -> bool {
    name.strip_suffix(".html").is_some_and(|stem| {
        stem.len() == 64
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The page a thread's form returns readers to. Thread ids are published
/// paths by convention, so `origin + id`; an id that is not a path (set in
/// front matter) can only return them to the site itself.
pub fn page_url_for(site_url: &str, thread_id: &str) -> String {
    let origin = url::Url::parse(site_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    if thread_id.starts_with('/') && !thread_id.starts_with("//") && origin != "null" {
        format!("{origin}{thread_id}")
    } else {
        format!("{}/", site_url.trim_end_matches('/'))
    }
}

/// Writes one fragment per thread that `source` has, and `counts.json`.
pub fn bake_fragments(source: &mut dyn Source, opts: &FragmentOptions) -> Result<FragmentSummary> {
    let described = source.describe();
    let mut render = opts.render.clone();
    if let Some(mail) = source
        .mail()
        .with_context(|| format!("reading comments from {described}"))?
    {
        render.offer_notify = mail;
    }
    if !render.reactions {
        source.leave_out_likes();
    }
    let renderer = Renderer::new(render)?;
    let threads = source
        .threads(None)
        .with_context(|| format!("reading comments from {described}"))?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;

    let mut summary = FragmentSummary::default();
    let mut counts = BTreeMap::new();
    let mut kept = BTreeSet::new();
    for thread in &threads {
        if let Err(why) = check_id(&thread.id) {
            summary
                .warnings
                .push(format!("skipped a thread whose id {why}: {:?}", thread.id));
            continue;
        }
        let page_url = page_url_for(&opts.site_url, &thread.id);
        let html = renderer.render_thread(&ThreadArgs {
            id: &thread.id,
            thread: Some(thread),
            page_url: &page_url,
            // A dev server's page is not known here.
            page_title: "",
            id_prefix: "kiln-1",
            lang: None,
        })?;
        let name = fragment_name(&thread.id);
        summary.files_changed +=
            usize::from(write_if_changed(&opts.dir.join(&name), html.as_bytes())?);
        kept.insert(name);
        counts.insert(thread.id.as_str(), approved_count(thread));
        summary.threads += 1;
    }
    // counts.json goes last, after every fragment: Hugo (0.123 and later)
    // remembers a missing resource until something the page read changes, so
    // the Hugo adapter has a page without a fragment read counts.json, and
    // must see the new fragment by the time that file changes.
    let mut json = serde_json::to_vec_pretty(&counts)?;
    json.push(b'\n');
    summary.files_changed += usize::from(write_if_changed(&opts.dir.join(COUNTS_FILE), &json)?);

    for entry in
        std::fs::read_dir(&opts.dir).with_context(|| format!("listing {}", opts.dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = (is_fragment_name(name) && !kept.contains(name)) || is_temp_name(name);
        if stale && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
            // A killed run's temp file is no fragment.
            summary.removed += usize::from(is_fragment_name(name));
        }
    }
    Ok(summary)
}

/// Atomically replaces `path` with `bytes` unless it already holds them.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    match std::fs::read(path) {
        Ok(old) if old == bytes => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    write_atomic(path, bytes, None)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_sha256_of_the_id() {
        // printf '%s' /posts/hello/ | sha256sum
        assert_eq!(
            fragment_name("/posts/hello/"),
            "03ffb7919f60d174601a1dfbcea6beca0b092e1241e93ec2055a936fc850eb4b.html"
        );
        assert!(is_fragment_name(&fragment_name("any id")));
        assert!(!is_fragment_name("counts.json"));
        assert!(!is_fragment_name("notes.html"));
        assert!(!is_fragment_name(&fragment_name("x").to_uppercase()));
    }

    #[test]
    fn forms_return_to_the_page_the_id_names() {
        let site = "http://127.0.0.1:1313/blog";
        assert_eq!(
            page_url_for(site, "/blog/posts/a/"),
            "http://127.0.0.1:1313/blog/posts/a/"
        );
        assert_eq!(
            page_url_for(site, "legacy-42"),
            "http://127.0.0.1:1313/blog/"
        );
        assert_eq!(
            page_url_for(site, "//evil.example/"),
            "http://127.0.0.1:1313/blog/"
        );
    }
}
