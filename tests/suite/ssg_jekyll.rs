//! The Jekyll adapter end to end. Debian's `jekyll` builds `examples/jekyll`
//! (minima theme, the plugin copied into `_plugins/`) with `pretty`, `date`
//! and extensionless (`/:categories/:title`) permalinks, at the root and
//! under `baseurl: /blog`. The plugin's `:post_write` hook bakes each build
//! from a real receiver, and a rebuild changes no page. Also shown: the
//! plugin installed as a gem, the plain-Liquid includes that stand in for it
//! in safe mode (GitHub Pages), fragments for a build that is not baked,
//! `jekyll serve` baking every rebuild, and a failing bake.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

/// Where readers see the site (Jekyll's dev port). Nothing has to listen
/// there for a build: the checks post the baked forms straight to the
/// receiver.
const ORIGIN: &str = "http://127.0.0.1:4000";

/// How one build publishes the example site.
struct Style<'a> {
    /// Jekyll settings layered over the example's `_config.yml`.
    config: &'a str,
    /// The site's public URL, base path included: `site_url` in kiln.toml.
    site_url: &'a str,
    /// The first three posts' files in `_site`, and their thread ids.
    posts: [(&'a str, &'a str); 3],
}

/// The example as it is: `permalink: pretty`, at the root of the host.
const PRETTY: Style = Style {
    config: "",
    site_url: ORIGIN,
    posts: [
        (
            "2024/01/10/hello-world/index.html",
            "/2024/01/10/hello-world/",
        ),
        (
            "notes/2024/02/14/second-post/index.html",
            "/notes/2024/02/14/second-post/",
        ),
        ("2024/03/03/third/index.html", "/2024/03/03/third/"),
    ],
};

#[test]
fn ssg_jekyll_hook_bakes_pretty_permalinks() {
    let Some(jekyll) = jekyll() else { return };
    let site = Site::new(PRETTY);
    let log = site.build(&jekyll);
    assert!(
        log.contains("kiln: scanned"),
        "the post_write hook ran kiln bake and its summary went through Jekyll's logger:\n{log}"
    );
    site.check();
    site.rebuild_changes_nothing(&jekyll);

    // A post whose front matter sets `kiln_thread` keeps that id, and a
    // comment approved later reaches it on the next build.
    let moved = "2024/04/01/moved/index.html";
    assert_eq!(
        attribute_values(&site.read(moved), "data-kiln-thread"),
        ["welcome-2019"]
    );
    let new = site.seeded.add_approved(
        "welcome-2019",
        &format!("{ORIGIN}/2024/04/01/moved/"),
        "A comment filed under the post's old thread id.",
    );
    site.build(&jekyll);
    assert_eq!(comment_nesting(&site.read(moved)), [(new, None)]);
    assert_eq!(
        texts_of(
            &site.read("index.html"),
            "[data-kiln-count=\"welcome-2019\"]"
        ),
        ["1 comment"]
    );
}

#[test]
fn ssg_jekyll_hook_bakes_date_permalinks_under_a_baseurl() {
    let Some(jekyll) = jekyll() else { return };
    let site = Site::new(Style {
        config: "permalink: date\nbaseurl: /blog\n",
        site_url: &format!("{ORIGIN}/blog"),
        posts: [
            (
                "2024/01/10/hello-world.html",
                "/blog/2024/01/10/hello-world.html",
            ),
            (
                "notes/2024/02/14/second-post.html",
                "/blog/notes/2024/02/14/second-post.html",
            ),
            ("2024/03/03/third.html", "/blog/2024/03/03/third.html"),
        ],
    });
    site.build(&jekyll);
    site.check();
    site.rebuild_changes_nothing(&jekyll);
}

#[test]
fn ssg_jekyll_hook_bakes_extensionless_permalinks() {
    let Some(jekyll) = jekyll() else { return };
    // Jekyll writes `/notes/second-post` to notes/second-post.html; the
    // thread id is the path readers see, without the extension.
    let site = Site::new(Style {
        config: "permalink: /:categories/:title\n",
        site_url: ORIGIN,
        posts: [
            ("hello-world.html", "/hello-world"),
            ("notes/second-post.html", "/notes/second-post"),
            ("third.html", "/third"),
        ],
    });
    // A `kiln_thread` with characters HTML gives meaning to: the tags
    // escape it, and bake reads back the same id.
    let odd = r#"welcome "2019" & <more>"#;
    let moved = site.dir.join("_posts/2024-04-01-moved.md");
    let text = std::fs::read_to_string(&moved).unwrap().replace(
        "kiln_thread: welcome-2019",
        &format!("kiln_thread: '{odd}'"),
    );
    std::fs::write(&moved, text).unwrap();
    let new = site
        .seeded
        .add_approved(odd, &format!("{ORIGIN}/moved"), "Under an odd id.");
    site.build(&jekyll);
    site.check();
    site.rebuild_changes_nothing(&jekyll);
    // The attribute as written (the parser hands it over undecoded), and
    // the comment filed under the decoded id on that page.
    let escaped = "welcome &quot;2019&quot; &amp; &lt;more&gt;";
    let page = site.read("moved.html");
    assert_eq!(attribute_values(&page, "data-kiln-thread"), [escaped]);
    assert_eq!(comment_nesting(&page), [(new, None)]);
    assert_eq!(
        texts_of(
            &site.read("index.html"),
            &format!("[data-kiln-count='{escaped}']")
        ),
        ["1 comment"]
    );
}

#[test]
fn ssg_jekyll_hook_bakes_pretty_permalinks_under_a_baseurl_with_a_trailing_slash() {
    let Some(jekyll) = jekyll() else { return };
    let site = Site::new(Style {
        config: "baseurl: /blog/\n",
        site_url: &format!("{ORIGIN}/blog"),
        posts: [
            (
                "2024/01/10/hello-world/index.html",
                "/blog/2024/01/10/hello-world/",
            ),
            (
                "notes/2024/02/14/second-post/index.html",
                "/blog/notes/2024/02/14/second-post/",
            ),
            ("2024/03/03/third/index.html", "/blog/2024/03/03/third/"),
        ],
    });
    site.build(&jekyll);
    site.check();
}

#[test]
fn ssg_jekyll_plugin_works_as_a_gem() {
    let Some(jekyll) = jekyll() else { return };
    let Some(gem) = require_tool("gem", "KILN_GEM") else {
        return;
    };
    // Build the gem from its gemspec and install it into a scratch GEM_PATH,
    // as `gem install jekyll-kiln` would (its only dependency, Jekyll, is the
    // Debian package already on the default path).
    let site = Site::new(Style {
        config: "plugins: [jekyll-kiln]\n",
        ..PRETTY
    });
    std::fs::remove_dir_all(site.dir.join("_plugins")).unwrap();
    let package = site.dir.join("jekyll-kiln.gem");
    run_ok(
        Command::new(&gem)
            .current_dir(adapter())
            .args(["build", "jekyll-kiln.gemspec", "--output"])
            .arg(&package),
    );
    let gems = site.seeded.dir().join("gems");
    run_ok(
        Command::new(&gem)
            .args([
                "install",
                "--local",
                "--ignore-dependencies",
                "--no-document",
            ])
            .arg("--install-dir")
            .arg(&gems)
            .arg(&package),
    );
    // The trailing separator keeps RubyGems' default paths after ours.
    let gem_path = format!("{}:", gems.display());
    let log = site.build_with(&jekyll, &[("GEM_PATH", &gem_path)], &[]);
    assert!(log.contains("kiln: scanned"), "the gem's hook ran:\n{log}");
    site.check();
}

#[test]
fn ssg_jekyll_includes_stand_in_for_the_plugin_in_safe_mode() {
    let Some(jekyll) = jekyll() else { return };
    // What the plugin's tags write, before any bake.
    let tags = Site::new(Style {
        config: "kiln:\n  bake: false\n",
        ..PRETTY
    });
    tags.build(&jekyll);

    // GitHub Pages builds in safe mode: no _plugins/, only whitelisted gems.
    // The site uses the two includes instead of the tags, and CI runs
    // `kiln bake _site` after the build, as the adapter's README shows.
    let site = Site::new(Style {
        config: "whitelist: [jekyll-feed, jekyll-seo-tag]\n",
        ..PRETTY
    });
    std::fs::remove_dir_all(site.dir.join("_plugins")).unwrap();
    copy_tree(
        &adapter().join("_includes"),
        &site.dir.join("_includes"),
        &[],
    );
    for layout in ["home.html", "page.html", "post.html"] {
        let path = site.dir.join("_layouts").join(layout);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("{% kiln_comments %}", "{% include kiln-comments.html %}")
            .replace(
                "{% kiln_count post %}",
                "{% include kiln-count.html page=post %}",
            )
            .replace("{% kiln_count page %}", "{% include kiln-count.html %}");
        assert!(!text.contains("{% kiln_"), "{layout} still uses a tag");
        std::fs::write(path, text).unwrap();
    }
    let log = site.build_with(&jekyll, &[], &["--safe"]);
    assert!(!log.contains("kiln:"), "no plugin ran in safe mode:\n{log}");
    // The includes write exactly what the tags write.
    assert_same_html(&html_bytes(&tags.out()), &html_bytes(&site.out()));

    let mut bake = kiln_cmd(&site.dir);
    bake.args(["bake", "_site"]).envs(site.seeded.bake_env());
    let summary = String::from_utf8(run_ok(&mut bake).stdout).unwrap();
    assert!(summary.contains("scanned"), "{summary}");
    site.check();
}

#[test]
fn ssg_jekyll_includes_fragments_when_nothing_is_baked() {
    let Some(jekyll) = jekyll() else { return };
    // The dev-server setup: a separate `kiln bake --fragments _kiln` keeps
    // one file per thread, Jekyll builds without baking, and the tags put
    // each thread's fragment (and the counts) in place.
    let site = Site::new(Style {
        config: "kiln:\n  bake: false\n",
        ..PRETTY
    });
    let bake_fragments = || {
        let mut bake = kiln_cmd(&site.dir);
        bake.args(["bake", "--fragments", "_kiln"])
            .envs(site.seeded.bake_env());
        run_ok(&mut bake);
    };
    bake_fragments();
    let log = site.build_with(&jekyll, &[], &["--incremental"]);
    assert!(
        !log.contains("kiln: scanned"),
        "bake: false bakes nothing:\n{log}"
    );

    // Each thread's fragment is its placeholder's content, verbatim. The
    // third thread has no comments, so no fragment yet: its placeholder
    // stays empty.
    for (i, (file, id)) in site.posts.iter().enumerate() {
        let html = site.read(file);
        assert_eq!(
            attribute_values(&html, "data-kiln-thread"),
            [id.as_str()],
            "{file}"
        );
        let fragment = std::fs::read_to_string(site.dir.join("_kiln").join(fragment_name(id)));
        match (i, fragment) {
            (2, Err(_)) => assert_eq!(texts_of(&html, "[data-kiln-thread]"), [""], "{file}"),
            (_, Ok(fragment)) => assert!(html.contains(&fragment), "{file} holds its fragment"),
            (_, Err(e)) => panic!("no fragment for {id}: {e}"),
        }
    }
    assert_eq!(
        comment_nesting(&site.read(&site.posts[0].0)),
        [(1, None), (2, Some(1))]
    );
    assert_eq!(comment_nesting(&site.read(&site.posts[1].0)), [(4, None)]);
    let list = site.read("index.html");
    for ((_, id), words) in site
        .posts
        .iter()
        .zip(["2 comments", "1 comment", "No comments yet"])
    {
        let counted = texts_of(&list, &format!("[data-kiln-count=\"{id}\"]"));
        assert_eq!(counted, [words], "the count of {id}, from counts.json");
    }
    for secret in [PENDING_TEXT, EMAIL] {
        assert!(
            pages_containing(&site.out(), secret).is_empty(),
            "{secret:?} is on no page"
        );
    }
    for private in ["_kiln", "kiln.toml"] {
        assert!(
            !site.out().join(private).exists(),
            "{private} is not published"
        );
    }

    // New comments on the first post (whose fragment changes) and on the
    // third (whose fragment appears): an incremental build, which rebuilds
    // only pages whose sources changed, shows both, because each page
    // depends on its fragment and the lists on counts.json.
    let add = |i: usize| {
        let id = &site.posts[i].1;
        let text = "A comment for the dev server.";
        site.seeded.add_approved(id, &format!("{ORIGIN}{id}"), text)
    };
    let (first, third) = (add(0), add(2));
    bake_fragments();
    site.build_with(&jekyll, &[], &["--incremental"]);
    assert_eq!(
        comment_nesting(&site.read(&site.posts[0].0)),
        [(1, None), (2, Some(1)), (first, None)]
    );
    assert_eq!(
        comment_nesting(&site.read(&site.posts[2].0)),
        [(third, None)]
    );
    let list = site.read("index.html");
    for ((_, id), words) in site
        .posts
        .iter()
        .zip(["3 comments", "1 comment", "1 comment"])
    {
        let counted = texts_of(&list, &format!("[data-kiln-count=\"{id}\"]"));
        assert_eq!(
            counted,
            [words],
            "the count of {id} after an incremental build"
        );
    }
}

#[test]
fn ssg_jekyll_serve_bakes_every_rebuild() {
    let Some(jekyll) = jekyll() else { return };
    // The site's public URL stays ORIGIN, as a developer's stays their real
    // domain while `jekyll serve` runs on a port of its own.
    let site = Site::new(PRETTY);
    let server = Serve::start(&jekyll, &site, &site.seeded.bake_env());
    let (file, id) = PRETTY.posts[0];
    let page = |path: &str| -> String {
        let resp = http()
            .get(format!("{}{path}", server.url))
            .send()
            .expect("GET");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.text().unwrap()
    };
    assert_eq!(
        comment_nesting(&page(id)),
        [(1, None), (2, Some(1))],
        "the first build under jekyll serve was baked ({file})"
    );

    // A comment is approved, then an author edits a post: the watcher
    // rebuilds and the hook bakes again, so the served page has the comment.
    let (_, third) = PRETTY.posts[2];
    let new = site.seeded.add_approved(
        third,
        &format!("{ORIGIN}{third}"),
        "Approved while jekyll serve ran.",
    );
    let post = site.dir.join("_posts/2024-03-03-third.md");
    let mut text = std::fs::read_to_string(&post).unwrap();
    text.push_str("\nAn edit, to make jekyll serve rebuild.\n");
    std::fs::write(&post, text).unwrap();
    eventually("the rebuild to be baked", Duration::from_secs(60), || {
        if comment_nesting(&page(third)) == [(new, None)] {
            Ok(())
        } else {
            Err(format!("jekyll said:\n{}", server.log()))
        }
    });
}

#[test]
fn ssg_jekyll_serve_only_warns_when_bake_fails() {
    let Some(jekyll) = jekyll() else { return };
    let site = Site::new(PRETTY);
    let env = [("KILN_BIN".to_owned(), "/nonexistent/kiln".to_owned())];
    let server = Serve::start(&jekyll, &site, &env);
    server.wait_for("could not run `/nonexistent/kiln`");
    server.wait_for("the site was built, but without fresh comments");
    let resp = http()
        .get(format!("{}/", server.url))
        .send()
        .expect("GET /");
    assert_eq!(resp.status(), 200);
}

#[test]
fn ssg_jekyll_build_fails_clearly_when_bake_fails() {
    let Some(jekyll) = jekyll() else { return };
    let site = Site::new(PRETTY);

    // No kiln where the hook looks: the build fails and says what to do.
    let out = site.jekyll_build(&jekyll, &[("KILN_BIN", "/nonexistent/kiln")], &[]);
    let log = output_text(&out);
    assert!(!out.status.success(), "the build must fail:\n{log}");
    assert!(
        log.contains("could not run `/nonexistent/kiln`") && log.contains("KILN_BIN"),
        "{log}"
    );

    // kiln runs but fails: its own error is shown, then the build fails.
    // (A source that does not exist yet is no failure: a first build bakes
    // empty threads. One that is not an export is.)
    std::fs::write(site.dir.join("broken.json"), "not an export").unwrap();
    std::fs::write(
        site.dir.join("kiln.toml"),
        "[bake]\nfrom = \"broken.json\"\n",
    )
    .unwrap();
    let out = site.jekyll_build(&jekyll, &[], &[]);
    let log = output_text(&out);
    assert!(!out.status.success(), "the build must fail:\n{log}");
    assert!(
        log.contains("kiln: Error: cannot bake")
            && log.contains("reading export file broken.json")
            && log.contains("failed (exit code 1); kiln's error is above"),
        "{log}"
    );

    // With `strict: false` the same failure is only a warning.
    site.write_config("kiln:\n  strict: false\n");
    let out = site.jekyll_build(&jekyll, &[], &[]);
    let log = output_text(&out);
    assert!(
        out.status.success(),
        "strict: false keeps the build:\n{log}"
    );
    assert!(log.contains("without fresh comments"), "{log}");

    // A mistake in the settings stops the build and names the key.
    site.write_config("kiln:\n  bakes: false\n");
    let out = site.jekyll_build(&jekyll, &[], &[]);
    let log = output_text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("unknown setting `kiln.bakes`"), "{log}");
}

#[test]
fn ssg_jekyll_example_carries_the_adapter_unchanged() {
    // The example uses the plugin the way a site does after `kiln init`: a
    // copy in _plugins/. It must be the adapter's file, byte for byte.
    let root = repo_root();
    let copy = root.join("examples/jekyll/_plugins/jekyll-kiln.rb");
    let original = adapter().join("lib/jekyll-kiln.rb");
    assert!(
        std::fs::read(&copy).unwrap() == std::fs::read(&original).unwrap(),
        "{} differs from {}; copy it again",
        copy.display(),
        original.display()
    );
}

/// Debian's `jekyll`, or `None` when it is missing and not required.
fn jekyll() -> Option<PathBuf> {
    require_tool("jekyll", "KILN_JEKYLL")
}

fn adapter() -> PathBuf {
    repo_root().join("ssg-adapters/jekyll")
}

/// A copy of the example site in a scratch directory, with a seeded
/// receiver and a kiln.toml pointing at it.
struct Site {
    seeded: Seeded,
    dir: PathBuf,
    config: String,
    site_url: String,
    posts: [(String, String); 3],
}

impl Site {
    fn new(style: Style) -> Site {
        let seeded = seed(style.site_url, style.posts.map(|(_, id)| id));
        let dir = seeded.dir().join("site");
        copy_tree(
            &repo_root().join("examples/jekyll"),
            &dir,
            &["_site", ".jekyll-cache", ".jekyll-metadata", "_kiln"],
        );
        std::fs::write(dir.join("kiln.toml"), seeded.kiln_toml(style.site_url)).unwrap();
        let site = Site {
            seeded,
            dir,
            config: style.config.to_owned(),
            site_url: style.site_url.to_owned(),
            posts: style.posts.map(|(f, id)| (f.to_owned(), id.to_owned())),
        };
        site.write_config("");
        site
    }

    /// Layers `extra` (and the style's settings) over the example's config.
    fn write_config(&self, extra: &str) {
        let text = format!("# Written by kiln's Jekyll tests.\n{}{extra}", self.config);
        std::fs::write(self.dir.join("_kiln_test.yml"), text).unwrap();
    }

    fn out(&self) -> PathBuf {
        self.dir.join("_site")
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.out().join(file))
            .unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
    }

    fn command(&self, jekyll: &Path, env: &[(&str, &str)], subcommand: &str) -> Command {
        let mut cmd = Command::new(jekyll);
        cmd.current_dir(&self.dir)
            .arg(subcommand)
            .arg("--config")
            .arg("_config.yml,_kiln_test.yml");
        for (k, _) in std::env::vars() {
            if k.starts_with("KILN_") || k.starts_with("JEKYLL_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.seeded.bake_env());
        cmd.envs(env.iter().copied());
        cmd
    }

    /// Runs `jekyll build`, successful or not.
    fn jekyll_build(&self, jekyll: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.command(jekyll, env, "build");
        cmd.args(args).output().expect("run jekyll")
    }

    /// Runs `jekyll build`, insists it succeeded and returns what it said.
    fn build_with(&self, jekyll: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.jekyll_build(jekyll, env, args);
        let log = output_text(&out);
        assert!(out.status.success(), "jekyll build failed:\n{log}");
        log
    }

    fn build(&self, jekyll: &Path) -> String {
        self.build_with(jekyll, &[], &[])
    }

    fn check(&self) {
        check_baked(
            &self.seeded,
            &SitePages {
                out: &self.out(),
                site_url: &self.site_url,
                posts: [0, 1, 2].map(|i| (&*self.posts[i].0, &*self.posts[i].1)),
                list: "index.html",
            },
        );
        let about = self.read("about/index.html");
        assert!(
            attribute_values(&about, "data-kiln-thread").is_empty(),
            "the About page says `comments: false`"
        );
    }

    /// Jekyll rewrites every page on a rebuild; the hook's bake must bring
    /// back exactly the same bytes.
    fn rebuild_changes_nothing(&self, jekyll: &Path) {
        let before = html_bytes(&self.out());
        self.build(jekyll);
        assert_same_html(&before, &html_bytes(&self.out()));
    }
}

/// Everything a command printed, stdout then stderr.
fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `jekyll serve` watching the site, until dropped.
struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    url: String,
    log: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts the server on a port it picks itself (WEBrick binds port 0
    /// and Jekyll prints the port it got) and waits until it serves the
    /// first build.
    fn start(jekyll: &Path, site: &Site, env: &[(String, String)]) -> Serve {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&**k, &**v)).collect();
        let mut child = site
            .command(jekyll, &env, "serve")
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start jekyll serve");
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut server = Serve {
            child,
            url: String::new(),
            log,
        };
        server.wait_for("Server running");
        let log = server.log();
        let address = log
            .lines()
            .find_map(|line| line.trim().strip_prefix("Server address:"))
            .unwrap_or_else(|| panic!("jekyll serve printed no address:\n{log}"));
        server.url = address.trim().trim_end_matches('/').to_owned();
        assert!(
            server.url.starts_with("http://127.0.0.1:") && !server.url.ends_with(":0"),
            "{log}"
        );
        server
    }

    /// Waits (up to a minute) until jekyll serve has said `text`.
    fn wait_for(&self, text: &str) {
        let what = format!("jekyll serve to say {text:?}");
        eventually(&what, Duration::from_secs(60), || {
            let log = self.log();
            if log.contains(text) {
                Ok(())
            } else {
                Err(format!("it said:\n{log}"))
            }
        })
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
