//! `kiln import` (issue 14) end to end: the real binary imports each
//! format's fixture (and a database Isso itself wrote through its HTTP API)
//! into a real SQLite file, the real `hugo` builds the example site, the real
//! bake puts the comments in, and the page shows them nested as the source
//! had them. Running the import again adds nothing, and a kiln export
//! restored into an empty database bakes byte-identical pages. The same on
//! PostgreSQL, for one format and a restore.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kiln_receiver::store::testing::{scratch_db, ScratchDb};
use kiln_receiver::store::Mode;

use crate::support::hooks::HookServer;
use crate::support::{
    comment_nesting, count_rows, eventually, html_bytes, hugo_build, kiln, kiln_ok, peek,
    repo_root, texts_of, tools_dir, tools_required, Db, Receiver, ReceiverOptions,
};

const SITE: &str = "http://127.0.0.1:1313/";
const HELLO: &str = "posts/hello-world/index.html";

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/import").join(name)
}

/// A scratch directory with the example site built into `public/`, and
/// its database: an SQLite file there, or a PostgreSQL scratch database.
struct Site {
    tmp: tempfile::TempDir,
    postgres: Option<ScratchDb>,
}

impl Site {
    fn build() -> Option<Site> {
        let tmp = tempfile::tempdir().unwrap();
        hugo_build("hugo", &tmp.path().join("public"))?;
        Some(Site {
            tmp,
            postgres: None,
        })
    }

    /// The example site on a new PostgreSQL database; `None` when no test
    /// server is configured (which `scratch_db` reports) or Hugo is absent.
    fn build_on_postgres() -> Option<Site> {
        let pg = scratch_db()?;
        Some(Site {
            postgres: Some(pg),
            ..Site::build()?
        })
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn public(&self) -> PathBuf {
        self.dir().join("public")
    }

    fn db(&self) -> String {
        match &self.postgres {
            Some(pg) => pg.url.clone(),
            None => self.dir().join("kiln.sqlite3").to_str().unwrap().to_owned(),
        }
    }

    /// `kiln import ARGS…` on this site's database; the report.
    fn import(&self, args: &[&str]) -> String {
        let db = self.db();
        let mut all = vec!["--db", &db, "import"];
        all.extend_from_slice(args);
        kiln_ok(self.dir(), &all)
    }

    fn bake(&self) {
        let (db, public) = (self.db(), self.public());
        // bake reads PostgreSQL through `--from` (its read-only source).
        let from = match self.postgres {
            Some(_) => ["bake", "--from", &db],
            None => ["--db", &db, "bake"],
        };
        let mut args = from.to_vec();
        args.extend(["--site-url", SITE, public.to_str().unwrap()]);
        kiln_ok(self.dir(), &args);
    }

    fn page(&self, relative: &str) -> String {
        std::fs::read_to_string(self.public().join(relative)).unwrap()
    }
}

/// The comments on a page as (who, whom they answer): names, with
/// "(deleted)" for a deleted marker and "(top)" for the thread itself.
fn tree(html: &str) -> BTreeSet<(String, String)> {
    let nesting = comment_nesting(html);
    let who = |id: i64| {
        let names = texts_of(
            html,
            &format!("#kiln-comment-{id} > .kiln-meta .kiln-author"),
        );
        // lol_html hands text over as written: decode its references.
        names
            .first()
            .map(|n| kiln_bake::inject::decode_attribute(n))
            .unwrap_or_else(|| "(deleted)".to_owned())
    };
    nesting
        .iter()
        .map(|&(id, parent)| (who(id), parent.map_or("(top)".to_owned(), who)))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Imports, bakes, checks the page against `expected`, and shows that a
/// second import adds nothing.
fn check(site: &Site, args: &[&str], expected: &[(&str, &str)]) {
    let report = site.import(args);
    assert!(report.starts_with("Imported "), "{report}");
    site.bake();
    let page = site.page(HELLO);
    assert_eq!(tree(&page), pairs(expected), "{report}");
    let again = site.import(args);
    assert!(again.starts_with("Imported 0 comment(s)"), "{again}");
    assert!(
        again.contains("Already imported before, left alone:"),
        "{again}"
    );
}

#[test]
fn import_disqus_then_restore_bakes_the_same_pages() {
    let Some(site) = Site::build() else { return };
    let source = fixture("disqus.xml");
    let report = site.import(&["disqus", source.to_str().unwrap(), "--dry-run"]);
    assert!(report.contains("Would import 8 comment(s)"), "{report}");
    assert!(
        report.contains("comment 307: its thread 9999 is not in the source"),
        "{report}"
    );
    check(
        &site,
        &[
            "disqus",
            source.to_str().unwrap(),
            "--site-url",
            "https://kiln.example/",
        ],
        &[
            ("Ada Quill", "(top)"),
            ("Brian O\u{2019}Neil", "Ada Quill"),
            ("Chidi Anagonye", "Brian O\u{2019}Neil"),
            ("(deleted)", "(top)"),
            ("Eli Vance", "(deleted)"),
        ],
    );
    let page = site.page(HELLO);
    assert!(!page.contains("Cheap watches"), "spam stays off the page");
    assert!(
        !page.contains("Odd flags"),
        "a pending comment stays off the page"
    );

    // kiln export, then kiln import kiln into an empty database, then a
    // bake of a fresh build: the same bytes.
    let export = site.dir().join("export.json");
    kiln_ok(
        site.dir(),
        &["--db", &site.db(), "export", "-o", export.to_str().unwrap()],
    );
    let Some(copy) = Site::build() else { return };
    let restored = copy.import(&[export.to_str().unwrap()]);
    assert!(
        restored.contains("from kiln"),
        "detected as a kiln export: {restored}"
    );
    copy.bake();
    assert_eq!(html_bytes(&copy.public()), html_bytes(&site.public()));
}

/// `kiln import` with `--db postgres://…`: Disqus goes into PostgreSQL as
/// it goes into SQLite, and a kiln export of the SQLite site restored into
/// PostgreSQL bakes the SQLite site's pages byte for byte (identicons too).
#[test]
fn import_into_postgres_and_restore_there() {
    let Some(site) = Site::build() else { return };
    let Some(on_pg) = Site::build_on_postgres() else {
        return;
    };
    let source = fixture("disqus.xml");
    let args = [
        "disqus",
        source.to_str().unwrap(),
        "--site-url",
        "https://kiln.example/",
    ];
    let expected = [
        ("Ada Quill", "(top)"),
        ("Brian O\u{2019}Neil", "Ada Quill"),
        ("Chidi Anagonye", "Brian O\u{2019}Neil"),
        ("(deleted)", "(top)"),
        ("Eli Vance", "(deleted)"),
    ];
    check(&on_pg, &args, &expected);
    check(&site, &args, &expected);

    let export = site.dir().join("export.json");
    kiln_ok(
        site.dir(),
        &["--db", &site.db(), "export", "-o", export.to_str().unwrap()],
    );
    let Some(restored) = Site::build_on_postgres() else {
        return;
    };
    let report = restored.import(&[export.to_str().unwrap()]);
    assert!(report.contains("from kiln"), "{report}");
    restored.bake();
    assert_eq!(html_bytes(&restored.public()), html_bytes(&site.public()));
    let again = restored.import(&[export.to_str().unwrap()]);
    assert!(again.starts_with("Imported 0 comment(s)"), "{again}");
}

#[test]
fn import_wordpress_with_a_map() {
    let Some(site) = Site::build() else { return };
    let map = site.dir().join("renames.txt");
    std::fs::write(
        &map,
        "# the old permalink, then the new page\n/2020/03/glazes/ /posts/hello-world/\n",
    )
    .unwrap();
    check(
        &site,
        &[
            "wordpress",
            fixture("wordpress.xml").to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
        ],
        &[
            ("Ping 1 \u{ab} What\u{2019}s a glaze?", "(top)"),
            ("Γιώργος Κεραμέας", "Ping 1 \u{ab} What\u{2019}s a glaze?"),
            ("Ada Quill", "Γιώργος Κεραμέας"),
            ("Brian", "Ada Quill"),
            ("(deleted)", "(top)"),
            ("Replying Rae", "(deleted)"),
        ],
    );
    let page = site.page(HELLO);
    assert!(
        page.contains("Backslashes stay: \\o/ ¯\\_(ツ)_/¯"),
        "backslashes survive"
    );
}

#[test]
fn import_remark42_commento_and_comentario() {
    let Some(site) = Site::build() else { return };
    check(
        &site,
        &[fixture("remark42.jsonl").to_str().unwrap()],
        &[
            ("Ada Quill", "(top)"),
            ("Brian", "Ada Quill"),
            ("(deleted)", "Ada Quill"),
            ("Dana", "(deleted)"),
        ],
    );
    let Some(site) = Site::build() else { return };
    let commento = fixture("commento.json");
    let report = site.import(&[commento.to_str().unwrap()]);
    assert!(report.contains("from commento"), "{report}");
    site.bake();
    let nesting = comment_nesting(&site.page(HELLO));
    assert_eq!(
        nesting.len(),
        2,
        "the approved top level and its anonymous reply"
    );
    assert_eq!(nesting[1].1, Some(nesting[0].0));

    let Some(site) = Site::build() else { return };
    check(
        &site,
        &[
            "comentario",
            fixture("comentario-v3.json").to_str().unwrap(),
        ],
        &[("Bea Bunny", "(top)"), ("Passer-by", "Bea Bunny")],
    );
}

#[test]
fn import_staticman_folder() {
    let Some(site) = Site::build() else { return };
    let map = site.dir().join("renames.txt");
    std::fs::write(&map, "/notes/field-notes/ /posts/hello-world/\n").unwrap();
    check(
        &site,
        &[
            "staticman",
            fixture("staticman/_data/comments").to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
        ],
        &[
            ("Imported From Disqus", "(top)"),
            ("Ada Quill", "(top)"),
            ("Brian", "Ada Quill"),
            ("Chidi", "(top)"),
            ("Dana", "Imported From Disqus"),
        ],
    );
}

#[test]
fn import_the_project_isso_fixture() {
    let Some(site) = Site::build() else { return };
    let db = site.dir().join("comments.db");
    let sql = std::fs::read_to_string(fixture("isso.sql")).unwrap();
    kiln_receiver::store::isso::create_from_sql(&db, &sql).unwrap();
    check(
        &site,
        &["isso", db.to_str().unwrap()],
        &[
            ("Ada & Co <3", "(top)"),
            ("Brian", "Ada & Co <3"),
            ("Chidi", "Ada & Co <3"),
            ("(deleted)", "(top)"),
            ("Fay", "(deleted)"),
        ],
    );
}

/// Two sites on one receiver (issue 18), each moving from its own Isso: the
/// same old database imported into the default site and into site `b`
/// lands twice, as two sites' threads, though both hold Isso's comment 1;
/// each site bakes only its own, and a second import into `b` adds nothing.
/// A `--site` that names no site is bad usage.
#[test]
fn import_the_same_isso_database_into_two_sites() {
    let Some(site) = Site::build() else { return };
    std::fs::write(
        site.dir().join("kiln.toml"),
        "[[sites.site]]\nname = \"b\"\norigins = [\"https://b.example\"]\n",
    )
    .unwrap();
    let db = site.dir().join("comments.db");
    let sql = std::fs::read_to_string(fixture("isso.sql")).unwrap();
    kiln_receiver::store::isso::create_from_sql(&db, &sql).unwrap();
    let isso = ["isso", db.to_str().unwrap()];
    let into_b = ["isso", db.to_str().unwrap(), "--site", "b"];

    let first = site.import(&isso);
    assert!(first.starts_with("Imported 7 comment(s)"), "{first}");
    let second = site.import(&into_b);
    assert!(second.starts_with("Imported 7 comment(s)"), "{second}");
    let again = site.import(&into_b);
    assert!(again.starts_with("Imported 0 comment(s)"), "{again}");

    let expected = pairs(&[
        ("Ada & Co <3", "(top)"),
        ("Brian", "Ada & Co <3"),
        ("Chidi", "Ada & Co <3"),
        ("(deleted)", "(top)"),
        ("Fay", "(deleted)"),
    ]);
    let (db_arg, public) = (site.db(), site.public());
    for which in ["default", "b"] {
        kiln_ok(
            site.dir(),
            &[
                "--db",
                &db_arg,
                "bake",
                "--site",
                which,
                "--site-url",
                SITE,
                public.to_str().unwrap(),
            ],
        );
        let page = site.page(HELLO);
        assert_eq!(tree(&page), expected, "site {which}");
        assert_eq!(
            comment_nesting(&page).len(),
            5,
            "site {which}: its own five only"
        );
    }

    let mut all = vec!["--db", &db_arg, "import"];
    all.extend(["isso", db.to_str().unwrap(), "--site", "nope"]);
    let out = kiln(site.dir(), &all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--site \"nope\" is not a site"), "{stderr}");
    assert!(
        stderr.contains("\"b\""),
        "names the sites there are: {stderr}"
    );
}

/// The Python of the venv `scripts/install-tools` puts Isso in.
fn isso_python() -> Option<PathBuf> {
    let python = std::env::var_os("KILN_ISSO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("isso/bin/python"));
    if python.is_file() {
        return Some(python);
    }
    assert!(
        !tools_required(),
        "Isso is required but not installed at {}; run scripts/install-tools",
        python.display()
    );
    eprintln!("NOTICE: Isso not found; this test did not run. scripts/install-tools installs it.");
    None
}

#[test]
fn import_a_database_isso_itself_wrote() {
    let Some(python) = isso_python() else { return };
    let Some(site) = Site::build() else { return };
    let db = site.dir().join("isso.db");
    let out = std::process::Command::new(python)
        .arg(repo_root().join("tests/support/isso_post.py"))
        .arg(&db)
        .output()
        .expect("run Isso");
    assert!(
        out.status.success(),
        "Isso failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = site.import(&[db.to_str().unwrap()]);
    assert!(report.contains("from isso"), "detected: {report}");
    site.bake();
    // Isso keeps one level of replies, so Cy's answer to Ben sits under Ann.
    assert_eq!(
        tree(&site.page(HELLO)),
        pairs(&[
            ("Ann & Bo", "(top)"),
            ("Ben", "Ann & Bo"),
            ("Cy", "Ann & Bo"),
            ("(deleted)", "(top)"),
            ("Eve", "(deleted)"),
        ])
    );
    assert_eq!(
        tree(&site.page("posts/second-post/index.html")),
        pairs(&[("Gil", "(top)")])
    );
    let again = site.import(&[db.to_str().unwrap()]);
    assert!(again.starts_with("Imported 0 comment(s)"), "{again}");
}

#[test]
fn import_dry_run_creates_nothing_and_bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiln.sqlite3");
    let source = fixture("wordpress.xml");
    let (db_arg, source_arg) = (db.to_str().unwrap(), source.to_str().unwrap());
    let report = kiln_ok(
        dir.path(),
        &["--db", db_arg, "import", source_arg, "--dry-run"],
    );
    assert!(
        report.contains("Would import 9 comment(s) from wordpress"),
        "{report}"
    );
    assert!(report.contains("comment 41:510: a pingback"), "{report}");
    assert!(!db.exists(), "a dry run does not create the database");

    for (args, says) in [
        (
            vec!["import", "blogger", source_arg],
            "is not a format kiln imports",
        ),
        (
            vec!["import", "disqus", "no-such-file.xml"],
            "there is no file or folder",
        ),
        (
            vec!["import", source_arg, "--site-url", "example.org"],
            "is not an http(s) URL",
        ),
    ] {
        let mut all = vec!["--db", db_arg];
        all.extend(args);
        let out = kiln(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
    // A malformed file is a failure (1), named with its line, storing nothing.
    let broken = dir.path().join("broken.xml");
    let good = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &broken,
        good.replace(
            "<wp:comment_id><![CDATA[503]]>",
            "<wp:comment_id><![CDATA[503]]",
        ),
    )
    .unwrap();
    let out = kiln(
        dir.path(),
        &[
            "--db",
            db_arg,
            "import",
            "wordpress",
            broken.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.xml, line "), "{stderr}");
    assert!(!db.exists(), "nothing was opened, so nothing was stored");
}

/// `kiln import` into the database a running `kiln serve` uses, which calls
/// a build hook after changes: a dry run moves nothing the publisher
/// watches; the import queues no mail and moves the change sequence once it
/// has committed, and the receiver then calls the hook exactly once. (Once:
/// the hook's recorded run covers the import's change, so nothing is left
/// for a second call.)
#[test]
fn an_import_into_a_served_database_publishes_once_and_mails_nobody() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = HookServer::start(0);
    std::fs::write(
        tmp.path().join("kiln.toml"),
        format!(
            "[publish]\ndebounce_ms = 200\n[[publish.hooks]]\nname = \"ci\"\nurl = \"{}\"\n",
            hook.url
        ),
    )
    .unwrap();
    let db = Db::fresh(tmp.path());
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: SITE.trim_end_matches('/'),
        token: None,
        extra_env: &[("KILN_PUBLISH_POLL_MS", "20")],
    });
    let seq = || peek(&db).open(Mode::ReadOnly).change_seq().unwrap();
    let source = fixture("disqus.xml");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "--db",
            db.arg(),
            "import",
            "disqus",
            source.to_str().unwrap(),
            "--site-url",
            "https://kiln.example/",
        ];
        args.extend_from_slice(extra);
        kiln_ok(tmp.path(), &args)
    };
    let before = seq();
    let dry = import(&["--dry-run"]);
    assert!(dry.contains("Would import 8 comment(s)"), "{dry}");
    assert_eq!(seq(), before, "a dry run moved the change sequence");
    assert_eq!(count_rows(&db, "comments"), 0);

    let report = import(&[]);
    assert!(report.contains("Imported 8 comment(s)"), "{report}");
    let after = seq();
    assert!(
        after > before,
        "the import did not mark its threads changed"
    );
    assert_eq!(count_rows(&db, "outbox"), 0, "the import queued mail");
    let covered = || {
        peek(&db)
            .row(
                "SELECT covered_seq FROM publish_runs WHERE kind = 'hook' AND name = 'ci'",
                &[],
            )
            .map(|row| row[0].int() as u64)
    };
    eventually(
        "the hook run covering the import",
        std::time::Duration::from_secs(30),
        || (covered() == Some(after)).then_some(()),
    );
    assert_eq!(hook.count(), 1, "one import, one publish");
    assert_eq!(seq(), after, "nothing else changed since");
    let logs = receiver.logs();
    assert!(logs.contains("build hook called"), "{logs}");
}
