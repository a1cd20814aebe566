//! The Astro adapter end to end. A scratch copy of `examples/astro` is built
//! by the real `astro build`, installed with npm by `scripts/install-tools`,
//! and the `kiln-astro` integration's `astro:build:done` hook bakes the
//! comments of a real receiver into it: with Astro 5 (on the machine's Node
//! 20) in `build.format` `'directory'` under `base: '/blog'` and in `'file'`,
//! and with Astro 7 (on Node 22 from npm) in `'file'` under `base: '/blog'`.
//! The fragments test runs the real `astro dev` on fragments from
//! `kiln bake --fragments`, and a real Chromium to see it reload.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

/// The site's public origin in these tests (Astro's dev port). Nothing is
/// served there: it is what bake writes into the forms' page URLs.
const ORIGIN: &str = "http://127.0.0.1:4321";
/// The config file each test writes next to the example's own.
const TEST_CONFIG: &str = "kiln-test.config.mjs";

#[test]
fn directory_format_under_a_base_path() {
    let site_url = format!("{ORIGIN}/blog");
    built_and_baked(Variant {
        astro: Astro::V5,
        format: "directory",
        base: "/blog",
        site_url: &site_url,
        posts: [
            ("posts/hello-world/index.html", "/blog/posts/hello-world/"),
            ("posts/second-post/index.html", "/blog/posts/second-post/"),
            // The third post names its own thread with `kiln_thread`.
            ("posts/third/index.html", "third-post"),
        ],
    });
}

#[test]
fn file_format() {
    built_and_baked(Variant {
        astro: Astro::V5,
        format: "file",
        base: "/",
        site_url: ORIGIN,
        posts: [
            ("posts/hello-world.html", "/posts/hello-world.html"),
            ("posts/second-post.html", "/posts/second-post.html"),
            ("posts/third.html", "third-post"),
        ],
    });
}

#[test]
fn astro_7_file_format_under_a_base_path() {
    let site_url = format!("{ORIGIN}/blog");
    built_and_baked(Variant {
        astro: Astro::V7,
        format: "file",
        base: "/blog",
        site_url: &site_url,
        posts: [
            ("posts/hello-world.html", "/blog/posts/hello-world.html"),
            ("posts/second-post.html", "/blog/posts/second-post.html"),
            ("posts/third.html", "third-post"),
        ],
    });
}

/// The adapter's own unit tests (`npm test` there: thread-id rules and
/// option checks), with node's test runner.
#[test]
fn adapter_unit_tests() {
    let Some(node) = require_tool("node", "KILN_NODE") else {
        return;
    };
    run_ok(
        Command::new(node)
            .current_dir(repo_root().join("ssg-adapters/astro"))
            .args(["--test", "test/"]),
    );
}

/// One URL style of the example site, the Astro that builds it, and what
/// its pages must carry.
struct Variant<'a> {
    astro: Astro,
    format: &'a str,
    base: &'a str,
    site_url: &'a str,
    /// (page file in the output, its thread id), as [`SitePages::posts`].
    posts: [(&'a str, &'a str); 3],
}

/// Builds the site with the integration's bake, checks it, then builds it
/// again and checks that nothing changed.
fn built_and_baked(variant: Variant) {
    let Some(astro) = variant.astro.installed() else {
        return;
    };
    let seeded = seed(variant.site_url, variant.posts.map(|(_, id)| id));
    let site = Site::new(&astro, variant.format, variant.base);
    std::fs::write(
        site.dir.join("kiln.toml"),
        seeded.kiln_toml(variant.site_url),
    )
    .unwrap();

    let log = site.build(&seeded);
    let out = site.dir.join("dist");
    check_baked(
        &seeded,
        &SitePages {
            out: &out,
            site_url: variant.site_url,
            posts: variant.posts,
            list: "index.html",
        },
    );
    // The About page says `comments: false`: only the posts have threads.
    let mut posts: Vec<&str> = variant.posts.iter().map(|(file, _)| *file).collect();
    posts.sort();
    assert_eq!(pages_with_threads(&out), posts, "pages with a thread");
    assert!(
        log.contains("[kiln-astro] scanned "),
        "the integration logs bake's summary:\n{log}"
    );

    let before = html_bytes(&out);
    site.build(&seeded);
    assert_same_html(&before, &html_bytes(&out));
}

/// A bake that cannot run fails the build, so a deploy step after
/// `astro build` never ships pages without their comments.
#[test]
fn a_failed_bake_fails_the_build() {
    let Some(astro) = Astro::V5.installed() else {
        return;
    };
    let site = Site::new(&astro, "directory", "/");
    let missing = site.dir.join("no-such-kiln").display().to_string();
    let out = site
        .astro("build", &[("KILN_BIN".to_owned(), missing.clone())])
        .output()
        .expect("run astro build");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "astro build succeeded:\n{log}");
    assert!(
        log.contains(&format!("kiln bake failed: `{missing}` was not found")),
        "the build says why:\n{log}"
    );
}

#[test]
fn fragments_in_astro_dev() {
    let Some(astro) = Astro::V5.installed() else {
        return;
    };
    let threads = ["/posts/hello-world/", "/posts/second-post/", "third-post"];
    let seeded = seed(ORIGIN, threads);
    let site = Site::new(&astro, "directory", "/");
    std::fs::write(site.dir.join("kiln.toml"), seeded.kiln_toml(ORIGIN)).unwrap();
    let fragments = site.dir.join("kiln-fragments");
    let name = |i: usize| fragment_name(threads[i]);

    // Only threads with comments get a fragment.
    site.bake_fragments(&seeded);
    let mut expected = vec![name(0), name(1), "counts.json".to_owned()];
    expected.sort();
    assert_eq!(file_names(&fragments), expected, "fragment files");
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fragments.join("counts.json")).unwrap()).unwrap();
    assert_eq!(
        counts,
        serde_json::json!({ threads[0]: 2, threads[1]: 1 }),
        "counts.json"
    );

    // A re-bake with nothing new writes nothing; one more comment on the
    // second post rewrites its fragment and counts.json, and nothing else.
    let first = snapshot(&fragments);
    site.bake_fragments(&seeded);
    assert_eq!(snapshot(&fragments), first, "a re-bake changed fragments");
    let fifth = seeded.add_approved(threads[1], &format!("{ORIGIN}{}", threads[1]), "Fifth.");
    site.bake_fragments(&seeded);
    let mut expected = vec![name(1), "counts.json".to_owned()];
    expected.sort();
    assert_eq!(
        changed_files(&first, &snapshot(&fragments)),
        expected,
        "files rewritten after one approval"
    );

    // `astro dev` shows each fragment in its page's placeholder, with the
    // page's published path as the id whatever URL the browser asked for.
    let dev = DevServer::start(&site, &seeded);
    let get = |path: &str| {
        let resp = http()
            .get(format!("{}{path}", dev.url))
            .send()
            .unwrap_or_else(|e| panic!("GET {path} from astro dev: {e}"));
        assert_eq!(resp.status(), 200, "GET {path} from astro dev");
        resp.text().unwrap()
    };
    let page = get("/posts/second-post");
    assert_eq!(attribute_values(&page, "data-kiln-thread"), [threads[1]]);
    assert_eq!(comment_nesting(&page), [(4, None), (fifth, None)]);
    let page = get("/posts/hello-world/");
    assert_eq!(attribute_values(&page, "data-kiln-thread"), [threads[0]]);
    assert_eq!(comment_nesting(&page), [(1, None), (2, Some(1))]);
    let page = get("/posts/third/");
    assert_eq!(attribute_values(&page, "data-kiln-thread"), [threads[2]]);
    assert_eq!(comment_nesting(&page), []);
    let home = get("/");
    for (id, count) in threads
        .iter()
        .zip(["2 comments", "2 comments", "No comments yet"])
    {
        assert_eq!(
            texts_of(&home, &format!("[data-kiln-count=\"{id}\"]")),
            [count],
            "the count of {id} under astro dev"
        );
    }
    assert!(attribute_values(&get("/about/"), "data-kiln-thread").is_empty());

    // A page open in a browser reloads by itself when a fragment changes.
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let comments = "article[id^='kiln-comment-']";
    browser
        .goto(&format!("{}/posts/hello-world/", dev.url))
        .unwrap();
    assert_eq!(browser.count(comments).unwrap(), 2);
    seeded.add_approved(threads[0], &format!("{ORIGIN}{}", threads[0]), "Sixth.");
    site.bake_fragments(&seeded);
    eventually(
        "the open page to reload with the new comment",
        Duration::from_secs(30),
        || {
            if browser.count(comments).unwrap_or(0) == 3 {
                Ok(())
            } else {
                Err(format!("astro dev said:\n{}", dev.log()))
            }
        },
    );
    assert!(
        dev.log().contains("comments changed"),
        "the integration logs the reload:\n{}",
        dev.log()
    );
}

/// An Astro that `scripts/install-tools` installs with npm.
#[derive(Clone, Copy)]
enum Astro {
    /// The example's own dependency, on the machine's Node.
    V5,
    /// `examples/astro/astro7`, with the Node 22 it needs from npm.
    V7,
}

impl Astro {
    /// The `node_modules` holding this Astro. Missing, it is an error under
    /// CI or `KILN_REQUIRE_TOOLS`; otherwise the test says it did not run.
    fn installed(self) -> Option<PathBuf> {
        let (dir, major) = match self {
            Astro::V5 => ("examples/astro", "5."),
            Astro::V7 => ("examples/astro/astro7", "7."),
        };
        let node_modules = repo_root().join(dir).join("node_modules");
        let manifest = std::fs::read_to_string(node_modules.join("astro/package.json")).ok();
        let version = manifest.and_then(|m| {
            let m: serde_json::Value = serde_json::from_str(&m).ok()?;
            Some(m["version"].as_str()?.to_owned())
        });
        match version {
            Some(v) if v.starts_with(major) => return Some(node_modules),
            Some(v) => panic!("{dir} has astro {v}, not {major}x; run scripts/install-tools"),
            None => {}
        }
        let why = format!("astro is not installed in {dir}");
        if tools_required() {
            panic!("{why}; run scripts/install-tools (npm ci there)");
        }
        eprintln!("NOTICE: {why}; this test did not run. scripts/install-tools installs it.");
        None
    }
}

/// A scratch copy of the example site in one URL style. It shares the
/// installed `node_modules` (a symlink) but keeps its own `kiln.toml`,
/// output, fragments and caches, so tests can run side by side and leave
/// nothing in the repository.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    /// The `node_modules` whose Astro (and Node, if any) builds it.
    node_modules: PathBuf,
}

impl Site {
    fn new(node_modules: &Path, format: &str, base: &str) -> Site {
        let example = repo_root().join("examples/astro");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("site");
        let skip = [
            "node_modules",
            "dist",
            ".astro",
            "kiln-fragments",
            "kiln.toml",
            "astro7",
        ];
        copy_tree(&example, &dir, &skip);
        std::os::unix::fs::symlink(node_modules, dir.join("node_modules")).unwrap();
        // The example's own config, with the URL style under test; Astro's
        // and Vite's caches (by default inside node_modules) stay here.
        let config = format!(
            "// Written by kiln's Astro test: the example's config in one URL style.\n\
             import site from './astro.config.mjs';\n\
             export default {{\n  ...site,\n  build: {{ ...site.build, format: '{format}' }},\n  \
             base: '{base}',\n  devToolbar: {{ enabled: false }},\n  cacheDir: './.cache/astro',\n  \
             vite: {{ ...site.vite, cacheDir: './.cache/vite' }},\n}};\n"
        );
        std::fs::write(dir.join(TEST_CONFIG), config).unwrap();
        Site {
            _tmp: tmp,
            dir,
            node_modules: node_modules.to_owned(),
        }
    }

    /// `astro SUBCOMMAND --config TEST_CONFIG`, in the site, with what a
    /// hook's bake needs and no stray KILN_* settings from the test's own
    /// environment. `node_modules/.bin` goes first on PATH, so a `node`
    /// installed there runs Astro. Astro asks no server about telemetry or
    /// updates, and prints no colours: its colour check turns them on when
    /// `CI` is set, and escape codes would split the lines the tests read.
    fn astro(&self, subcommand: &str, env: &[(String, String)]) -> Command {
        let bin = self.node_modules.join(".bin");
        let mut path = vec![bin.clone()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut cmd = Command::new(bin.join("astro"));
        cmd.current_dir(&self.dir)
            .env("PATH", std::env::join_paths(path).unwrap())
            .args([subcommand, "--config", TEST_CONFIG])
            .env("ASTRO_TELEMETRY_DISABLED", "1")
            .env("ASTRO_DISABLE_UPDATE_CHECK", "true")
            .env("NO_COLOR", "1")
            .env_remove("FORCE_COLOR");
        for (k, _) in std::env::vars() {
            if k.starts_with("KILN_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().cloned());
        cmd
    }

    /// `astro build`, whose kiln hook bakes; returns what it printed.
    fn build(&self, seeded: &Seeded) -> String {
        let out = run_ok(&mut self.astro("build", &seeded.bake_env()));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kiln bake --fragments kiln-fragments` in the site, as a developer
    /// runs it beside `astro dev` (kiln.toml there says where from).
    fn bake_fragments(&self, seeded: &Seeded) {
        let mut cmd = kiln_cmd(&self.dir);
        cmd.args(["bake", "--quiet", "--fragments", "kiln-fragments"])
            .envs(seeded.bake_env());
        run_ok(&mut cmd);
    }
}

/// A running `astro dev`, killed when dropped.
struct DevServer {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl DevServer {
    fn start(site: &Site, seeded: &Seeded) -> DevServer {
        // No port: Astro binds its 4321, or, being Vite underneath, the next
        // port that it can bind, and prints where it listens. (Astro 5
        // takes `--port 0` for no port at all, and Vite's 5173 goes the
        // same way.)
        let mut cmd = site.astro("dev", &seeded.bake_env());
        cmd.args(["--host", "127.0.0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start astro dev");
        let stdout = child.stdout.take().unwrap();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = mpsc::channel();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Local") {
                    if let Some(at) = line.find("http://") {
                        let url = line[at..].split_whitespace().next().unwrap_or_default();
                        let _ = tx.send(url.trim_end_matches('/').to_owned());
                    }
                }
                eprintln!("[astro dev] {line}");
                kept.lock().unwrap().push(line);
            }
        });
        let mut dev = DevServer {
            child,
            url: String::new(),
            log,
        };
        dev.url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("astro dev did not start:\n{}", dev.log()));
        dev
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTML pages under `out` with a `data-kiln-thread` placeholder.
fn pages_with_threads(out: &Path) -> Vec<String> {
    html_bytes(out)
        .into_iter()
        .filter(|(_, bytes)| {
            !attribute_values(&String::from_utf8_lossy(bytes), "data-kiln-thread").is_empty()
        })
        .map(|(page, _)| page)
        .collect()
}

/// Names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Names of the files whose bytes or modification time differ between two
/// [`snapshot`]s of the same directory, sorted.
fn changed_files(
    before: &[(PathBuf, Vec<u8>, std::time::SystemTime)],
    after: &[(PathBuf, Vec<u8>, std::time::SystemTime)],
) -> Vec<String> {
    let names = |s: &[(PathBuf, Vec<u8>, std::time::SystemTime)]| {
        s.iter().map(|(p, _, _)| p.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(before), names(after), "the same files exist");
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}
