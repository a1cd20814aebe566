//! Issue 16, item 2: a newcomer's first build, before `kiln serve` has ever
//! run, so there is no database: with `kiln bake` alone and with the
//! Jekyll, Pelican and Astro adapters' hooks, the site builds, each thread
//! is baked empty with its form, and one line says why. Then the site gets
//! comments and the next build shows them.

use std::path::Path;

use crate::support::themed::{self, Themed};
use crate::support::*;

/// The one line bake prints when there is no comment source yet.
const WHY: &str = "no comments yet";

#[test]
fn kiln_bake_builds_a_site_before_the_receiver_ever_ran() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    std::fs::create_dir_all(out.join("posts/a")).unwrap();
    std::fs::write(
        out.join("posts/a/index.html"),
        "<!DOCTYPE html><html><head><title>A</title></head><body><div data-kiln-thread></div></body></html>",
    )
    .unwrap();
    let run = kiln_cmd(dir.path())
        .args(["bake", "public"])
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line says why:\n{stderr}");
    assert!(
        stderr.contains(WHY) && stderr.contains("kiln.sqlite3"),
        "{stderr}"
    );
    let page = std::fs::read_to_string(out.join("posts/a/index.html")).unwrap();
    assert_eq!(
        attribute_values(&page, "action").len(),
        1,
        "the form is baked: {page}"
    );
    assert!(page.contains("No comments yet"), "{page}");
    assert!(
        !dir.path().join("kiln.sqlite3").exists(),
        "bake creates no database"
    );
}

/// Builds `site` with no comment source, then with comments.
fn first_build_then_comments(site: Themed) {
    let log = site.build();
    assert_eq!(
        log.matches(WHY).count(),
        1,
        "{}: one line says why the threads are empty:\n{log}",
        site.name
    );
    for bad in [
        "Traceback",
        "COULD NOT BE BUILT",
        "kiln bake failed",
        "error",
    ] {
        assert!(!log.contains(bad), "{}: {bad:?} in\n{log}", site.name);
    }
    let threads = site.threads();
    assert!(!threads.is_empty(), "{}: no thread was built", site.name);
    for (id, page) in &threads {
        let html = std::fs::read_to_string(site.out.join(page)).unwrap();
        assert!(
            html.contains("class=\"kiln-form\"") && html.contains("No comments yet"),
            "{}: {page} ({id}) has no empty thread with its form",
            site.name
        );
    }
    let log = site.add_comments("");
    assert!(!log.contains(WHY), "{}: {log}", site.name);
    let (_, page) = &threads[0];
    let html = std::fs::read_to_string(site.out.join(page)).unwrap();
    assert!(
        html.contains("A reply to the reply, one level deeper."),
        "{}: {page} shows no comments after they arrived",
        site.name
    );
    assert!(!Path::new(&site.dir.join("kiln.sqlite3")).exists());
}

#[test]
fn jekyll_first_build_without_a_database() {
    let Some(site) = themed::jekyll_minima() else {
        return;
    };
    first_build_then_comments(site);
}

#[test]
fn pelican_first_build_without_a_database() {
    let Some(site) = themed::pelican("notmyidea") else {
        return;
    };
    first_build_then_comments(site);
}

#[test]
fn astro_first_build_without_a_database() {
    let Some(site) = themed::astro() else { return };
    first_build_then_comments(site);
}

/// `kiln init` leaves a site that builds at once: the `kiln.toml` it writes
/// names the database the receiver will create, and until then the
/// adapter's bake places empty threads.
#[test]
fn kiln_init_leaves_a_pelican_site_ready_to_build() {
    let Some(site) = themed::pelican("simple") else {
        return;
    };
    std::fs::remove_file(site.dir.join("kiln.toml")).unwrap();
    kiln_ok(&site.dir, &["init", "pelican", "."]);
    let log = site.build();
    assert_eq!(log.matches(WHY).count(), 1, "{log}");
    let threads = site.threads();
    assert!(!threads.is_empty(), "{log}");
    let html = std::fs::read_to_string(site.out.join(&threads[0].1)).unwrap();
    assert!(html.contains("class=\"kiln-form\""), "{html}");
}
