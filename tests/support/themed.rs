//! Fresh sites on real themes, built the way a newcomer builds them: a
//! scratch copy of an example (or a site made by the SSG's own `new`
//! commands), a `kiln.toml` that names no comment source, and no database
//! anywhere. The first build must work like that (issue 16); afterwards
//! [`Themed::add_comments`] gives every thread nested comments through an
//! export file and builds again, which is what the looks test shows.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// Where forms send readers back to; nothing listens there.
const SITE_URL: &str = "http://127.0.0.1:8000";

/// One built site.
pub struct Themed {
    /// A short name for messages and screenshot files, e.g. `pelican-simple`.
    pub name: String,
    _tmp: tempfile::TempDir,
    /// The site's directory, with its `kiln.toml`.
    pub dir: PathBuf,
    /// The SSG's output.
    pub out: PathBuf,
    /// Builds the site (and bakes: through the adapter's hook, or with
    /// `kiln bake` after Hugo); returns everything it printed.
    build: Box<dyn Fn(&Themed) -> String>,
}

impl Themed {
    fn new(name: &str, out: &str, build: Box<dyn Fn(&Themed) -> String>) -> Themed {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("site");
        std::fs::create_dir_all(&dir).unwrap();
        let site = Themed {
            name: name.to_owned(),
            out: dir.join(out),
            dir,
            _tmp: tmp,
            build,
        };
        site.write_kiln_toml("");
        site
    }

    /// `kiln.toml` as `kiln init` leaves it for a first build (no `from`:
    /// the receiver's database beside it, which does not exist yet), plus
    /// `extra` lines in `[bake]`. No script: nothing serves it here.
    fn write_kiln_toml(&self, extra: &str) {
        std::fs::write(
            self.dir.join("kiln.toml"),
            format!("[bake]\nsite_url = \"{SITE_URL}\"\nscript = false\n{extra}"),
        )
        .unwrap();
    }

    /// Builds the site; returns what the build printed.
    pub fn build(&self) -> String {
        (self.build)(self)
    }

    /// What a hook's `kiln bake` needs: the kiln under test, and a cache
    /// directory for bake's state inside the scratch directory.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KILN_BIN".into(), KILN.into()),
            (
                "XDG_CACHE_HOME".into(),
                self.dir.join("cache").display().to_string(),
            ),
        ]
    }

    /// The thread ids the built pages carry, with the page each is on.
    pub fn threads(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for page in pages_containing(&self.out, "data-kiln-thread") {
            let html = std::fs::read_to_string(self.out.join(&page)).unwrap();
            for id in attribute_values(&html, "data-kiln-thread") {
                found.push((id, page.clone()));
            }
        }
        found
    }

    /// Gives every thread the same nested conversation (an export file
    /// named in `kiln.toml`, as a CI bake would have) and builds again.
    pub fn add_comments(&self, extra_toml: &str) -> String {
        let mut ids: Vec<String> = self.threads().into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        assert!(
            !ids.is_empty(),
            "{}: no thread placeholder was built",
            self.name
        );
        let threads: Vec<serde_json::Value> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let base = n as i64 * 10;
                let comment = |id: i64, parent: Option<i64>, author: &str, website: Option<&str>, text: &str| {
                    serde_json::json!({
                        "id": base + id, "parent": parent.map(|p| base + p), "status": "approved",
                        "author": author, "website": website, "text": text,
                        "created_at": format!("2026-11-2{id}T10:00:00Z"),
                        "avatar": format!("{:016x}", (base + id) as u64 * 0x9e37_79b9),
                    })
                };
                serde_json::json!({
                    "id": id,
                    "url": format!("{SITE_URL}{id}"),
                    "comments": [
                        comment(1, None, "Ada Lovelace", Some("https://ada.example"),
                            "A first thought, with [a link in the text](https://example.org/notes) and `some code`."),
                        comment(2, Some(1), "Bo", None,
                            "A reply, nested under the first.\n\n> quoting a line of it"),
                        comment(3, Some(2), "Cy", None, "A reply to the reply, one level deeper."),
                        comment(4, None, "Dee", None, "Another top-level comment."),
                    ],
                })
            })
            .collect();
        let export = serde_json::json!({
            "format": "kiln-export", "version": 3, "generated_at": "2026-11-25T10:00:00Z",
            "mail": true, "threads": threads,
        });
        std::fs::write(
            self.dir.join("comments.json"),
            serde_json::to_string_pretty(&export).unwrap(),
        )
        .unwrap();
        self.write_kiln_toml(&format!("from = \"comments.json\"\n{extra_toml}"));
        self.build()
    }
}

fn both(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A command with no stray `KILN_*` settings from the test's environment.
fn clean(program: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("KILN_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A program `scripts/install-tools` put under KILN_TOOLS_DIR, or `None`
/// after saying why (a panic where tools are required).
pub fn installed_tool(relative: &str) -> Option<PathBuf> {
    let path = tools_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing; scripts/install-tools installs it",
        path.display()
    );
    if tools_required() {
        panic!("{why}");
    }
    eprintln!("NOTICE: {why}; this test did not run.");
    None
}

/// The Jekyll example on minima, Debian's package, with the plugin's hook.
pub fn jekyll_minima() -> Option<Themed> {
    let jekyll = require_tool("jekyll", "KILN_JEKYLL")?;
    let site = Themed::new(
        "jekyll-minima",
        "_site",
        Box::new(move |site: &Themed| {
            let out = run_ok(
                clean(&jekyll, &site.dir)
                    .arg("build")
                    .envs(site.env())
                    .env_remove("JEKYLL_ENV"),
            );
            both(&out)
        }),
    );
    copy_tree(
        &repo_root().join("examples/jekyll"),
        &site.dir,
        &[
            "_site",
            ".jekyll-cache",
            ".jekyll-metadata",
            "_kiln",
            "kiln.toml",
        ],
    );
    Some(site)
}

/// The Pelican example on one of the themes Pelican ships (`notmyidea`,
/// its default, or `simple`), with the plugin's hook.
pub fn pelican(theme: &str) -> Option<Themed> {
    let pelican = installed_tool("venv/bin/pelican")?;
    let example = repo_root().join("examples/pelican");
    let site = Themed::new(
        &format!("pelican-{theme}"),
        "output",
        Box::new(move |site: &Themed| {
            let out = run_ok(
                clean(&pelican, &site.dir)
                    .args(["-s", "conf.py"])
                    .envs(site.env())
                    .env("COLUMNS", "200"),
            );
            both(&out)
        }),
    );
    std::fs::write(
        site.dir.join("conf.py"),
        format!(
            "import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, {example:?})\n\
             from pelicanconf import *  # noqa: F403\n\
             PATH = {content:?}\nOUTPUT_PATH = {out:?}\nTHEME = {theme:?}\n",
            example = example.display().to_string(),
            content = example.join("content").display().to_string(),
            out = site.out.display().to_string(),
        ),
    )
    .unwrap();
    Some(site)
}

/// The Astro example (Astro 5, the kiln integration's hook).
pub fn astro() -> Option<Themed> {
    let node_modules = repo_root().join("examples/astro/node_modules");
    if !node_modules.join(".bin/astro").exists() {
        let why = format!(
            "{} has no astro; scripts/install-tools installs it",
            node_modules.display()
        );
        if tools_required() {
            panic!("{why}");
        }
        eprintln!("NOTICE: {why}; this test did not run.");
        return None;
    }
    let bin = node_modules.join(".bin");
    let site = Themed::new(
        "astro",
        "dist",
        Box::new(move |site: &Themed| {
            let mut path = vec![bin.clone()];
            path.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            let out = run_ok(
                clean(&bin.join("astro"), &site.dir)
                    .arg("build")
                    .env("PATH", std::env::join_paths(path).unwrap())
                    .env("ASTRO_TELEMETRY_DISABLED", "1")
                    .env("NO_COLOR", "1")
                    .env_remove("FORCE_COLOR")
                    .envs(site.env()),
            );
            both(&out)
        }),
    );
    copy_tree(
        &repo_root().join("examples/astro"),
        &site.dir,
        &[
            "node_modules",
            "dist",
            ".astro",
            "kiln-fragments",
            "kiln.toml",
            "astro7",
        ],
    );
    std::os::unix::fs::symlink(&node_modules, site.dir.join("node_modules")).unwrap();
    Some(site)
}

/// A site made by `hugo new site` with the theme `hugo new theme` makes, and
/// kiln's partials copied in as the adapter's README says: the partial goes
/// into the theme's single-page layout, copied into the site's `layouts/`.
/// `hugo` then `kiln bake public/`.
pub fn hugo_new_theme(hugo: &Path, name: &str) -> Themed {
    let builder = hugo.to_owned();
    let site = Themed::new(
        name,
        "public",
        Box::new(move |site: &Themed| {
            let built = run_ok(clean(&builder, &site.dir).arg("--quiet"));
            let baked = run_ok(
                clean(Path::new(KILN), &site.dir)
                    .args(["bake", "public"])
                    .envs(site.env()),
            );
            format!("{}{}", both(&built), both(&baked))
        }),
    );
    // `hugo new site` refuses a directory that is not empty.
    std::fs::remove_file(site.dir.join("kiln.toml")).unwrap();
    run_ok(clean(hugo, &site.dir).args(["new", "site", ".", "--force"]));
    run_ok(clean(hugo, &site.dir).args(["new", "theme", "starter"]));
    site.write_kiln_toml("");
    let theme = site.dir.join("themes/starter");
    // Hugo before 0.110 writes config.toml.
    let config = ["hugo.toml", "config.toml"]
        .map(|name| site.dir.join(name))
        .into_iter()
        .find(|path| path.is_file())
        .expect("hugo new site writes a config file");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\ntheme = 'starter'\n");
    std::fs::write(&config, text).unwrap();
    // Older `hugo new theme` leaves its page layouts empty; fill them the way
    // a theme of that time does, so its pages have something to show.
    for layout in ["_default/single.html", "_default/list.html", "index.html"] {
        let path = theme.join("layouts").join(layout);
        if std::fs::read(&path).is_ok_and(|bytes| bytes.is_empty()) {
            std::fs::write(
                &path,
                "{{ define \"main\" }}\n  <h1>{{ .Title }}</h1>\n  {{ .Content }}\n  {{ range .Pages }}<p><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></p>{{ end }}\n{{ end }}\n",
            )
            .unwrap();
        }
    }
    copy_tree(
        &repo_root().join("ssg-adapters/hugo/layouts/partials"),
        &site.dir.join("layouts/partials"),
        &[],
    );
    // 0.146+ starters come with example posts; older ones need one.
    if !theme.join("content").is_dir() {
        let posts = site.dir.join("content/posts");
        std::fs::create_dir_all(&posts).unwrap();
        std::fs::write(
            posts.join("first.md"),
            "+++\ntitle = 'First post'\ndate = 2026-11-20T10:00:00Z\n+++\nSome text for the first post.\n",
        )
        .unwrap();
    }
    site
}

/// Where the partial goes in a theme made by this Hugo's `hugo new theme`:
/// the first of the documented single-page layouts the theme has. Copies
/// that layout into the site's `layouts/` with the partial added, and
/// returns the path it chose (relative to `layouts/`).
pub fn put_partial_in_single_layout(site: &Themed) -> String {
    let theme = site.dir.join("themes/starter/layouts");
    for layout in ["page.html", "single.html", "_default/single.html"] {
        let from = theme.join(layout);
        if let Ok(text) = std::fs::read_to_string(&from) {
            let marker = "{{ end }}";
            let at = text.rfind(marker).expect("a layout that defines main");
            let with = format!(
                "{}  {{{{ partial \"kiln-comments.html\" . }}}}\n{}",
                &text[..at],
                &text[at..]
            );
            let to = site.dir.join("layouts").join(layout);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(to, with).unwrap();
            return layout.to_owned();
        }
    }
    panic!(
        "{}: the starter theme has none of the documented single-page layouts",
        site.name
    );
}
