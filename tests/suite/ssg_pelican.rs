//! The Pelican adapter end to end: the real `pelican` from the venv that
//! `scripts/install-tools` fills with pip builds `examples/pelican` in both
//! of Pelican's URL styles (`{slug}.html`, `{slug}/index.html`), at the root
//! and under a `SITEURL` with a path. The plugin's `finalized` hook bakes
//! against a real receiver, and a rebuild changes nothing. Another build shows
//! the fragments that `kiln bake --fragments` wrote, with no bake at all. The
//! plugin in the venv must be the repository's, and its unit tests pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Where readers see the site; nothing has to listen there, because the
/// checks post the baked forms straight to the receiver.
const ORIGIN: &str = "http://127.0.0.1:8000";

/// How one build lays out and addresses the example site.
struct Style<'a> {
    /// `SITEURL` in Pelican's settings.
    siteurl: &'a str,
    /// The public URL of the site, base path included: `site_url` in kiln.toml.
    site_url: &'a str,
    /// Settings added after the example's own, as Python source.
    settings: &'a str,
    /// The three articles' files in the output, and their thread ids.
    posts: [(&'a str, &'a str); 3],
    /// The About page (`Comments: false`) in the output.
    about: &'a str,
}

/// Pelican's default style: `{slug}.html`, at the root of the host.
const UGLY_AT_THE_ROOT: Style = Style {
    siteurl: ORIGIN,
    site_url: ORIGIN,
    settings: "",
    posts: [
        ("hello-world.html", "/hello-world.html"),
        ("second-post.html", "/second-post.html"),
        ("third.html", "/third.html"),
    ],
    about: "pages/about.html",
};

/// `{slug}/index.html` for articles and pages.
const PRETTY: &str = r#"
ARTICLE_URL = "{slug}/"
ARTICLE_SAVE_AS = "{slug}/index.html"
PAGE_URL = "pages/{slug}/"
PAGE_SAVE_AS = "pages/{slug}/index.html"
"#;

#[test]
fn ssg_pelican_hook_bakes_slug_html_urls_found_through_the_namespace() {
    let Some(pelican) = pelican() else { return };
    let site = Site::new(&UGLY_AT_THE_ROOT);
    let first = site.build(&pelican);
    assert!(
        first.contains("kiln: scanned"),
        "the plugin was found in the pelican.plugins namespace (no PLUGINS setting) \
         and its finalized hook ran kiln bake:\n{first}"
    );
    site.check();
    site.rebuild_changes_nothing(&pelican);

    // A comment approved later reaches its page and the count on the next
    // build, although Pelican rewrote every page bake had filled before.
    let (file, id) = UGLY_AT_THE_ROOT.posts[2];
    let new = site
        .seeded
        .add_approved(id, &format!("{ORIGIN}{id}"), "A later comment.");
    site.build(&pelican);
    let html = site.read(file);
    assert_eq!(
        comment_nesting(&html),
        [(new, None)],
        "{file} after a rebuild"
    );
    assert_eq!(
        texts_of(
            &site.read("index.html"),
            &format!("[data-kiln-count=\"{id}\"]")
        ),
        ["1 comment"]
    );
}

#[test]
fn ssg_pelican_hook_bakes_pretty_urls_under_a_siteurl_with_a_path() {
    let Some(pelican) = pelican() else { return };
    let style = Style {
        siteurl: &format!("{ORIGIN}/blog"),
        site_url: &format!("{ORIGIN}/blog"),
        // Listing the plugin by its short name works as well as discovery.
        settings: &format!("{PRETTY}\nPLUGINS = [\"kiln\"]\n"),
        posts: [
            ("hello-world/index.html", "/blog/hello-world/"),
            ("second-post/index.html", "/blog/second-post/"),
            ("third/index.html", "/blog/third/"),
        ],
        about: "pages/about/index.html",
    };
    let site = Site::new(&style);
    let first = site.build(&pelican);
    assert!(first.contains("kiln: scanned"), "the hook ran:\n{first}");
    site.check();
    site.rebuild_changes_nothing(&pelican);
}

#[test]
fn ssg_pelican_includes_fragments_when_nothing_is_baked() {
    let Some(pelican) = pelican() else { return };
    // A dev setup: SITEURL empty (links relative to the host), no bake.
    let style = Style {
        siteurl: "",
        site_url: ORIGIN,
        settings: &format!("{PRETTY}\nKILN_BAKE = False\n"),
        posts: [
            ("hello-world/index.html", "/hello-world/"),
            ("second-post/index.html", "/second-post/"),
            ("third/index.html", "/third/"),
        ],
        about: "pages/about/index.html",
    };
    let site = Site::new(&style);
    let fragments = site.dir.join("kiln-fragments");
    site.bake_fragments(&fragments);
    let built = site.build(&pelican);
    assert!(
        !built.contains("kiln: scanned"),
        "KILN_BAKE = False: {built}"
    );

    // Each thread's fragment is its placeholder's content, verbatim. A thread
    // without comments has no fragment yet (`kiln bake --fragments` writes
    // one per thread it knows), so its placeholder says it is not baked.
    for (i, (file, id)) in style.posts.iter().enumerate() {
        let html = site.read(file);
        assert_eq!(attribute_values(&html, "data-kiln-thread"), [*id], "{file}");
        let fragment = std::fs::read_to_string(fragments.join(fragment_name(id)));
        match (i, fragment) {
            (2, Err(_)) => assert!(html.contains("kiln-placeholder"), "{file}: {html}"),
            (_, Ok(fragment)) => assert!(html.contains(&fragment), "{file} holds its fragment"),
            (_, Err(e)) => panic!("no fragment for {id}: {e}"),
        }
    }
    let form = attribute_values(&site.read(style.posts[0].0), "action");
    assert_eq!(form, [format!("{}/comments", site.seeded.receiver.url)]);
    let nesting = |file: &str| comment_nesting(&site.read(file));
    assert_eq!(nesting(style.posts[0].0), [(1, None), (2, Some(1))]);
    assert_eq!(nesting(style.posts[1].0), [(4, None)]);
    let list = site.read("index.html");
    for ((_, id), words) in style
        .posts
        .iter()
        .zip(["2 comments", "1 comment", "No comments yet"])
    {
        let counted = texts_of(&list, &format!("[data-kiln-count=\"{id}\"]"));
        assert_eq!(counted, [words], "the count of {id}, from counts.json");
    }
    for secret in [PENDING_TEXT, EMAIL] {
        assert!(
            pages_containing(&site.out, secret).is_empty(),
            "{secret:?} is on no page"
        );
    }

    // A first comment on the third post writes its fragment and counts.json,
    // nothing else, and the next build shows it.
    let before = snapshot(&fragments);
    let (file, id) = style.posts[2];
    let new = site.seeded.add_approved(
        id,
        &format!("{ORIGIN}{id}"),
        "A comment for the dev server.",
    );
    site.bake_fragments(&fragments);
    let after = snapshot(&fragments);
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(path, bytes, _)| !before.iter().any(|(p, b, _)| p == path && b == bytes))
        .map(|(path, _, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    changed.sort();
    let mut expected = [fragment_name(id), "counts.json".to_owned()];
    expected.sort();
    assert_eq!(changed, expected, "the files a new comment rewrites");
    site.build(&pelican);
    assert_eq!(comment_nesting(&site.read(file)), [(new, None)]);
}

#[test]
fn ssg_pelican_installed_plugin_is_the_one_in_the_repository() {
    let Some(pelican) = pelican() else { return };
    let python = pelican.with_file_name("python");
    let out = run_ok(Command::new(&python).args([
        "-B",
        "-c",
        "import os, pelican.plugins.kiln as k; print(os.path.dirname(k.__file__))",
    ]));
    let installed = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let source = repo_root().join("ssg-adapters/pelican/pelican/plugins/kiln");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            let name = path.file_name().unwrap();
            assert!(
                std::fs::read(&path).ok() == std::fs::read(installed.join(name)).ok(),
                "{} in the venv differs from the repository's: run scripts/install-tools",
                name.to_string_lossy()
            );
        }
    }
    // The plugin's own unit tests, on the same interpreter.
    run_ok(
        Command::new(&python)
            .args(["-B", "-m", "unittest", "discover", "-s"])
            .arg(repo_root().join("ssg-adapters/pelican/tests")),
    );
}

/// The venv's `pelican` (or `$KILN_PELICAN`), or `None` after saying why
/// the test does nothing; a panic where tools are required.
fn pelican() -> Option<PathBuf> {
    let path = std::env::var_os("KILN_PELICAN")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("venv").join("bin").join("pelican"));
    if path.is_file() {
        return Some(path);
    }
    if tools_required() {
        panic!(
            "pelican is required but {} is missing; run scripts/install-tools",
            path.display()
        );
    }
    eprintln!(
        "NOTICE: {} not found; this test did not run. scripts/install-tools installs it.",
        path.display()
    );
    None
}

/// A seeded receiver and a site directory for one build of the example:
/// `kiln.toml` and a settings file that takes the example's own settings
/// and changes only what the style needs. The content and templates are
/// read from `examples/pelican` itself.
struct Site<'a> {
    style: &'a Style<'a>,
    seeded: Seeded,
    dir: PathBuf,
    out: PathBuf,
    settings: PathBuf,
}

impl<'a> Site<'a> {
    fn new(style: &'a Style<'a>) -> Site<'a> {
        let ids = style.posts.map(|(_, id)| id);
        let seeded = seed(style.site_url, ids);
        let dir = seeded.dir().join("site");
        let out = dir.join("output");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("kiln.toml"), seeded.kiln_toml(style.site_url)).unwrap();
        let example = repo_root().join("examples").join("pelican");
        let settings = dir.join("kiln_e2e_conf.py");
        std::fs::write(
            &settings,
            format!(
                "# Written by kiln's Pelican test: the example's settings, one URL style.\n\
                 import sys\n\
                 sys.dont_write_bytecode = True\n\
                 sys.path.insert(0, {example})\n\
                 from pelicanconf import *  # noqa: F403\n\
                 PATH = {content}\n\
                 OUTPUT_PATH = {out}\n\
                 SITEURL = {siteurl}\n\
                 {style_settings}\n",
                example = py_str(&example),
                content = py_str(&example.join("content")),
                out = py_str(&out),
                siteurl = serde_json::to_string(style.siteurl).unwrap(),
                style_settings = style.settings,
            ),
        )
        .unwrap();
        Site {
            style,
            seeded,
            dir,
            out,
            settings,
        }
    }

    /// Runs `pelican -s SETTINGS` in the site directory, as a user would
    /// run it beside their kiln.toml; returns what it printed.
    fn build(&self, pelican: &Path) -> String {
        let mut cmd = Command::new(pelican);
        cmd.arg("-s").arg(&self.settings).current_dir(&self.dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("KILN_") && k != "KILN_REQUIRE_TOOLS" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.seeded.bake_env()).env("COLUMNS", "200");
        let out = run_ok(&mut cmd);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `kiln bake --fragments DIR` in the site directory (its kiln.toml).
    fn bake_fragments(&self, dir: &Path) {
        let mut cmd = kiln_cmd(&self.dir);
        cmd.arg("bake").arg("--fragments").arg(dir);
        cmd.envs(self.seeded.bake_env());
        run_ok(&mut cmd);
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.out.join(file))
            .unwrap_or_else(|e| panic!("cannot read {file} in the built site: {e}"))
    }

    /// The shared checks, and that the About page took no thread.
    fn check(&self) {
        check_baked(
            &self.seeded,
            &SitePages {
                out: &self.out,
                site_url: self.style.site_url,
                posts: self.style.posts,
                list: "index.html",
            },
        );
        let about = self.read(self.style.about);
        assert!(
            attribute_values(&about, "data-kiln-thread").is_empty()
                && attribute_values(&about, "action").is_empty(),
            "{} says `Comments: false`: no thread, no form",
            self.style.about
        );
    }

    fn rebuild_changes_nothing(&self, pelican: &Path) {
        let before = html_bytes(&self.out);
        self.build(pelican);
        assert_same_html(&before, &html_bytes(&self.out));
    }
}

/// A path as a Python string literal.
fn py_str(path: &Path) -> String {
    serde_json::to_string(path.to_str().expect("a UTF-8 path")).unwrap()
}
