//! `kiln init`: what it writes for each generator, that it never overwrites
//! an author's file without `--force`, and that a site set up by it alone
//! (plus the lines it tells the author to add) really gets comments from the
//! real Hugo and the real Jekyll.

use std::path::Path;
use std::process::Command;

use crate::support::*;

const SSGS: [(&str, &str); 4] = [
    ("hugo", "themes/kiln/layouts/partials/kiln-comments.html"),
    ("jekyll", "_plugins/jekyll-kiln.rb"),
    ("pelican", "plugins/kiln/__init__.py"),
    ("astro", "kiln-astro/src/KilnComments.astro"),
];

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn init_puts_each_adapter_in_place_with_a_kiln_toml() {
    for (ssg, adapter_file) in SSGS {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        std::fs::create_dir(&site).unwrap();
        let out = kiln_ok(tmp.path(), &["init", ssg, "site"]);
        assert!(
            out.contains("Next:"),
            "{ssg}: init says what to do next:\n{out}"
        );
        assert!(
            out.contains("created") && out.contains("kiln.toml"),
            "{ssg}: {out}"
        );
        let toml = std::fs::read_to_string(site.join("kiln.toml")).unwrap();
        assert!(
            toml.contains("[bake]") && toml.contains("site_url"),
            "{toml}"
        );
        // The written configuration is one kiln accepts as it is: a bad key
        // would exit with 2. (There is no database yet, hence the 1.)
        let check = kiln(&site, &["queue"]);
        assert_eq!(
            check.status.code(),
            Some(1),
            "{ssg}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(String::from_utf8_lossy(&check.stderr).contains("no database"));
        // The adapter's files are the repository's, byte for byte.
        let written = std::fs::read(site.join(adapter_file)).unwrap();
        let source = match ssg {
            "hugo" => "ssg-adapters/hugo/layouts/partials/kiln-comments.html",
            "jekyll" => "ssg-adapters/jekyll/lib/jekyll-kiln.rb",
            "pelican" => "ssg-adapters/pelican/pelican/plugins/kiln/__init__.py",
            _ => "ssg-adapters/astro/src/KilnComments.astro",
        };
        assert_eq!(written, std::fs::read(repo_root().join(source)).unwrap());

        // Running it again changes nothing and says so.
        let before = snapshot(&site);
        let again = kiln_ok(tmp.path(), &["init", ssg, "site"]);
        assert!(
            again.contains("unchanged") && !again.contains("created"),
            "{again}"
        );
        assert_eq!(snapshot(&site), before);
    }
}

#[test]
fn init_never_overwrites_without_force_and_then_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    write(site, "kiln.toml", "# my own settings\n");
    let refused = kiln(site, &["init", "hugo"]);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("kiln.toml") && said.contains("--force"),
        "the refusal names the file and the way out: {said}"
    );
    assert_eq!(
        std::fs::read_to_string(site.join("kiln.toml")).unwrap(),
        "# my own settings\n"
    );
    assert!(
        !site.join("themes").exists(),
        "nothing at all is written when anything would be overwritten"
    );

    // --print shows everything and writes nothing.
    let printed = kiln_ok(site, &["init", "hugo", "--print"]);
    assert!(printed.contains("kiln-comments.html") && printed.contains("[bake]"));
    assert!(!site.join("themes").exists());

    let forced = kiln_ok(site, &["init", "hugo", "--force"]);
    assert!(forced.contains("replaced"), "{forced}");
    assert!(std::fs::read_to_string(site.join("kiln.toml"))
        .unwrap()
        .contains("[bake]"));
}

#[test]
fn init_detects_the_generator_or_asks_for_it() {
    for (marker, ssg) in [
        ("hugo.toml", "hugo"),
        ("_config.yml", "jekyll"),
        ("pelicanconf.py", "pelican"),
        ("astro.config.mjs", "astro"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), marker, "");
        let out = kiln_ok(tmp.path(), &["init"]);
        assert!(
            out.starts_with(&format!("kiln init {ssg}")),
            "{marker}: {out}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let unknown = kiln(tmp.path(), &["init"]);
    assert_eq!(unknown.status.code(), Some(1));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("hugo|jekyll|pelican|astro"), "{said}");
}

/// The three posts and the list page a set-up site is checked with.
const THREADS: [&str; 3] = ["/posts/a/", "/posts/b/", "/posts/c/"];

fn pages(out: &Path) -> SitePages<'_> {
    SitePages {
        out,
        site_url: "http://127.0.0.1:1313",
        posts: [
            ("posts/a/index.html", THREADS[0]),
            ("posts/b/index.html", THREADS[1]),
            ("posts/c/index.html", THREADS[2]),
        ],
        list: "index.html",
    }
}

/// Points kiln (and a hook's kiln) at the seeded receiver through the
/// environment, leaving the kiln.toml that init wrote as it is.
fn env(seeded: &Seeded) -> Vec<(String, String)> {
    let mut env = seeded.bake_env();
    env.push(("KILN_BAKE_FROM".into(), seeded.receiver.url.clone()));
    env.push(("KILN_BAKE_SITE_URL".into(), "http://127.0.0.1:1313".into()));
    env
}

#[test]
fn a_hugo_site_set_up_by_init_gets_comments() {
    let Some(hugo) = require_tool("hugo", "KILN_HUGO") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    write(site, "hugo.toml", "baseURL = \"http://127.0.0.1:1313/\"\ntitle = \"Init\"\ndisableKinds = [\"taxonomy\", \"term\", \"RSS\", \"sitemap\"]\n");
    for (name, title) in [("a", "A"), ("b", "B"), ("c", "C")] {
        write(
            site,
            &format!("content/posts/{name}.md"),
            &format!("---\ntitle: {title}\n---\nPost {title}.\n"),
        );
    }
    // What init's next steps say to add.
    write(
        site,
        "layouts/_default/single.html",
        "<html><head><title>{{ .Title }} | Init</title></head><body><h1>{{ .Title }}</h1>{{ .Content }}\n{{ partial \"kiln-comments.html\" . }}\n</body></html>\n",
    );
    write(
        site,
        "layouts/index.html",
        "<html><body><ul>{{ range where site.RegularPages \"Section\" \"posts\" }}<li>{{ .Title }} {{ partial \"kiln-count.html\" . }}</li>{{ end }}</ul></body></html>\n",
    );
    write(
        site,
        "layouts/_default/list.html",
        "<html><body>list</body></html>\n",
    );
    kiln_ok(site, &["init", "hugo"]);
    let config = std::fs::read_to_string(site.join("hugo.toml")).unwrap();
    write(site, "hugo.toml", &format!("theme = [\"kiln\"]\n{config}"));

    let seeded = seed("http://127.0.0.1:1313", THREADS);
    run_ok(Command::new(&hugo).current_dir(site).arg("--quiet"));
    let mut bake = kiln_cmd(site);
    bake.args(["bake", "public"]).envs(env(&seeded));
    run_ok(&mut bake);
    check_baked(&seeded, &pages(&site.join("public")));
}

#[test]
fn a_jekyll_site_set_up_by_init_bakes_on_every_build() {
    let Some(jekyll) = require_tool("jekyll", "KILN_JEKYLL") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    write(
        site,
        "_config.yml",
        "title: Init\npermalink: /posts/:title/\n",
    );
    for (name, day) in [("a", "01"), ("b", "02"), ("c", "03")] {
        write(
            site,
            &format!("_posts/2024-01-{day}-{name}.md"),
            &format!("---\nlayout: post\ntitle: {name}\n---\nPost {name}.\n"),
        );
    }
    // What init's next steps say to add.
    write(
        site,
        "_layouts/post.html",
        "<html><head><title>{{ page.title }} &amp; more</title></head><body><h1>{{ page.title }}</h1>{{ content }}\n{% kiln_comments %}\n</body></html>\n",
    );
    write(
        site,
        "index.html",
        "---\n---\n<html><body><ul>{% for post in site.posts %}<li>{{ post.title }} {% kiln_count post %}</li>{% endfor %}</ul></body></html>\n",
    );
    kiln_ok(site, &["init", "jekyll"]);
    // `kiln serve` run in the site's directory keeps its database there.
    write(site, "kiln.sqlite3", "e-mail addresses live here");
    write(site, "kiln.sqlite3-wal", "and here");

    let seeded = seed("http://127.0.0.1:1313", THREADS);
    let mut build = Command::new(&jekyll);
    build
        .current_dir(site)
        .args(["build", "--quiet"])
        .envs(env(&seeded));
    run_ok(&mut build);
    let out = site.join("_site");
    check_baked(&seeded, &pages(&out));
    for private in ["kiln.toml", "kiln.sqlite3", "kiln.sqlite3-wal"] {
        assert!(!out.join(private).exists(), "{private} is never published");
    }
}

/// `sites.origins` and `bake.site_url` as `kiln init` wrote them.
fn written_origins(site: &Path) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(site.join("kiln.toml")).unwrap();
    let toml: toml::Table = toml::from_str(&text).unwrap();
    let origins = toml["sites"]["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect();
    let site_url = toml["bake"]["site_url"].as_str().unwrap().to_owned();
    (origins, site_url)
}

/// Copies one of the repository's example sites' configuration files into
/// a fresh site directory.
fn example_config(example: &str, files: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for file in files {
        let text =
            std::fs::read_to_string(repo_root().join("examples").join(example).join(file)).unwrap();
        write(tmp.path(), file, &text);
    }
    tmp
}

/// Issue 16: a reader on `localhost` and one on `127.0.0.1` are both
/// accepted, and the public URL comes from the generator's own settings.
#[test]
fn init_reads_the_public_url_and_dev_server_from_the_sites_own_configuration() {
    let dev = |port: u16| {
        vec![
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ]
    };
    let with = |mut list: Vec<String>, more: &str| {
        list.push(more.to_owned());
        list
    };

    // Pelican: the example's pelicanconf.py (SITEURL = ""), then with the
    // publishconf.py sites keep their public URL in.
    let pelican = example_config("pelican", &["pelicanconf.py"]);
    kiln_ok(pelican.path(), &["init", "pelican"]);
    assert_eq!(
        written_origins(pelican.path()),
        (dev(8000), "http://localhost:8000".to_owned())
    );
    write(
        pelican.path(),
        "publishconf.py",
        "import os\nimport sys\nsys.path.append(os.curdir)\nfrom pelicanconf import *\n\nSITEURL = \"https://blog.test/notes\"\nRELATIVE_URLS = False\n",
    );
    kiln_ok(pelican.path(), &["init", "pelican", "--force"]);
    assert_eq!(
        written_origins(pelican.path()),
        (
            with(dev(8000), "https://blog.test"),
            "https://blog.test/notes".to_owned()
        )
    );

    // Jekyll: the example's _config.yml has no url; with one and a baseurl,
    // and `jekyll serve` on another port.
    let jekyll = example_config("jekyll", &["_config.yml"]);
    kiln_ok(jekyll.path(), &["init", "jekyll"]);
    assert_eq!(
        written_origins(jekyll.path()),
        (dev(4000), "http://localhost:4000".to_owned())
    );
    let config = std::fs::read_to_string(jekyll.path().join("_config.yml")).unwrap();
    write(
        jekyll.path(),
        "_config.yml",
        &format!("{config}\nurl: \"https://www.blog.test\"\nbaseurl: \"/blog\"\nport: 4001\n"),
    );
    kiln_ok(jekyll.path(), &["init", "jekyll", "--force"]);
    assert_eq!(
        written_origins(jekyll.path()),
        (
            with(dev(4001), "https://www.blog.test"),
            "https://www.blog.test/blog".to_owned()
        )
    );

    // Hugo: the example's hugo.toml (a loopback baseURL), then YAML and
    // JSON configurations with a public one.
    let hugo = example_config("hugo", &["hugo.toml"]);
    kiln_ok(hugo.path(), &["init", "hugo"]);
    assert_eq!(
        written_origins(hugo.path()),
        (dev(1313), "http://127.0.0.1:1313".to_owned())
    );
    for (file, text) in [
        (
            "hugo.yaml",
            "baseURL: https://docs.blog.test/v2/\ntitle: YAML\n",
        ),
        (
            "hugo.json",
            "{\"baseurl\": \"https://docs.blog.test/v2/\", \"title\": \"JSON\"}\n",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), file, text);
        kiln_ok(tmp.path(), &["init", "hugo"]);
        assert_eq!(
            written_origins(tmp.path()),
            (
                with(dev(1313), "https://docs.blog.test"),
                "https://docs.blog.test/v2".to_owned()
            ),
            "{file}"
        );
    }

    // A configuration kiln cannot parse is named, and nothing is written.
    let broken = tempfile::tempdir().unwrap();
    write(broken.path(), "_config.yml", "url: [unclosed\n");
    let out = kiln(broken.path(), &["init", "jekyll"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("_config.yml"), "{stderr}");
    assert!(!broken.path().join("kiln.toml").exists());
}

/// Issue 16: the site `hugo new site` makes, with its placeholder
/// `baseURL = 'https://example.org/'`: the dev server, both names.
#[test]
fn init_on_a_new_hugo_site_takes_its_placeholder_base_url_for_what_it_is() {
    let Some(hugo) = require_tool("hugo", "KILN_HUGO") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(&hugo)
            .current_dir(tmp.path())
            .args(["new", "site", "fresh"]),
    );
    let site = tmp.path().join("fresh");
    // hugo.toml since Hugo 0.110's new sites; config.toml before.
    let file = ["hugo.toml", "config.toml"]
        .into_iter()
        .find(|f| site.join(f).is_file())
        .expect("hugo new site writes a configuration file");
    let config = std::fs::read_to_string(site.join(file)).unwrap();
    assert!(config.contains("example.org"), "{config}");
    kiln_ok(&site, &["init", "hugo"]);
    assert_eq!(
        written_origins(&site),
        (
            vec![
                "http://localhost:1313".to_owned(),
                "http://127.0.0.1:1313".to_owned()
            ],
            "http://localhost:1313".to_owned()
        )
    );
    // Set for real, it is used.
    let real = config
        .replace("https://example.org/", "https://notes.blog.test/")
        .replace("http://example.org/", "https://notes.blog.test/");
    assert_ne!(real, config);
    write(&site, file, &real);
    kiln_ok(&site, &["init", "hugo", "--force"]);
    let (origins, site_url) = written_origins(&site);
    assert_eq!(origins.last().unwrap(), "https://notes.blog.test");
    assert_eq!(site_url, "https://notes.blog.test");
}
