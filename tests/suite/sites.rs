//! Two sites on one receiver (issue 18): the same thread path on each is two
//! threads, end to end. One receiver serves site A (`sites.origins`, the
//! site "default") and site B (`[[sites.site]]` "b", with moderators of its
//! own); a comment is posted to `/posts/hello-world/` from each site's
//! origin, and B's own spam rule refuses a word A lets through;
//! `kiln queue --site` shows each site's alone; the moderators'
//! mail goes over real SMTP to each site's own moderators and names the
//! site; the admin page filters by site; the APIs answer per site (by
//! `?site=`, or by the asking page's `Origin`); and two copies of the Hugo example, built
//! for A's and B's addresses, are baked (A from the database with
//! `--site default`, B from the export API with `bake.site = "b"`, and a
//! third copy, of B, by the receiver in place), each showing only its own
//! site's comments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::mail::*;
use crate::support::*;

const A: &str = "http://127.0.0.1:1313";
const B: &str = "http://127.0.0.1:1314";
const THREAD: &str = "/posts/hello-world/";
const TOKEN: &str = "two-sites-export-token";

/// The `[sites]` part of every kiln.toml here: A comes from `--origin`
/// where a receiver is started, so it is repeated for the other commands.
fn sites_toml() -> String {
    format!(
        "[sites]\norigins = [\"{A}\"]\n\n[[sites.site]]\nname = \"b\"\norigins = [\"{B}\"]\n\n\
         [sites.site.mail]\nmoderators = [\"mod-b@example.org\"]\n"
    )
}

#[test]
fn two_sites_on_one_receiver_keep_the_same_path_apart() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let Some(hugo) = require_tool("hugo", "KILN_HUGO") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inbox = inbox_in(tmp.path());
    // A built copy of B that the receiver publishes in place, with B's
    // comments alone.
    let live_b = HugoSite::new(&hugo, tmp.path(), "b-live", B, "");
    let receiver_toml = format!(
        "{}\n[sites.site.publish]\nin_place = [\"{}\"]\n\n\
         [sites.site.spam]\nblock_words = [\"lottery\"]\nblock_words_action = \"reject\"\n",
        sites_toml(),
        live_b.dir.join("public").display()
    );
    std::fs::write(tmp.path().join("kiln.toml"), receiver_toml).unwrap();
    let smtp = Smtp::start(&python, &inbox);
    let db = Db::fresh(tmp.path());
    let receiver = receiver_mailing_to(&smtp, tmp.path(), &db, A, Some(TOKEN));

    // The same path, posted from each site's page.
    let post = |origin: &str, name: &str, text: &str, site: &str| {
        post_form(
            &receiver,
            &[
                ("thread", THREAD),
                ("url", &format!("{origin}{THREAD}")),
                ("name", name),
                ("text", text),
                ("site", site),
            ],
        )
    };
    // Site B refuses a word site A lets through (B's own spam rules).
    let (status, _, body) = post(A, "Ann", "Ann writes on site A of the lottery", "");
    assert_eq!(status, 303, "{body}");
    let (status, _, body) = post(B, "Bob", "Bob writes of the lottery", "b");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("words this site does not accept"), "{body}");
    let (status, _, body) = post(B, "Bob", "Bob writes on site B", "b");
    assert_eq!(status, 303, "{body}");
    // A form that names a site its page is not on is refused, by field.
    let (status, _, body) = post(A, "Eve", "Eve claims site B", "b");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("names the site"), "{body}");
    assert_eq!(
        peek(&db).query_i64(
            "SELECT count(*) FROM threads WHERE key = $1",
            &[THREAD.into()]
        ),
        2,
        "one thread per site"
    );

    // Each site's queue, and both without the filter.
    let queue = |site: Option<&str>| {
        let mut args = vec!["--db", db.arg(), "queue"];
        if let Some(site) = site {
            args.extend(["--site", site]);
        }
        kiln_ok(tmp.path(), &args)
    };
    let only_b = queue(Some("b"));
    assert!(only_b.contains("1 pending comment(s)"), "{only_b}");
    assert!(
        only_b.contains("Bob writes on site B") && !only_b.contains("Ann"),
        "{only_b}"
    );
    let only_a = queue(Some("default"));
    assert!(
        only_a.contains("Ann writes on site A") && !only_a.contains("Bob"),
        "{only_a}"
    );
    let both = queue(None);
    assert!(both.contains("[b] /posts/hello-world/"), "{both}");
    assert!(both.contains("[default] /posts/hello-world/"), "{both}");
    let unknown = kiln(tmp.path(), &["--db", db.arg(), "queue", "--site", "c"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("--site \"c\""),
        "{unknown:?}"
    );

    // Each site's moderators hear of its comment, and the mail names it.
    let mail = wait_for(2, Duration::from_secs(20), || received(&inbox));
    let to = |who: &str| {
        mail.iter()
            .find(|m| m.to == who)
            .unwrap_or_else(|| panic!("no mail to {who}: {mail:?}"))
    };
    let (to_a, to_b) = (to("mod@example.org"), to("mod-b@example.org"));
    assert!(
        to_b.header("Subject")
            .unwrap()
            .starts_with("[b] New comment by Bob"),
        "{:?}",
        to_b.headers
    );
    assert!(to_b.text.starts_with("Site: b"), "{}", to_b.text);
    assert!(to_b.text.contains("Bob writes on site B") && !to_b.text.contains("Ann"));
    assert!(
        to_a.header("Subject")
            .unwrap()
            .starts_with("[default] New comment by Ann"),
        "{:?}",
        to_a.headers
    );
    assert!(to_a.text.contains("Ann writes on site A") && !to_a.text.contains("Bob"));
    smtp.stop();

    // The admin page filters by site, and an action keeps the filter.
    let id_of = |site: &str| {
        peek(&db).query_i64(
            "SELECT c.id FROM comments c JOIN threads t ON t.id = c.thread_id WHERE t.site = $1",
            &[site.into()],
        )
    };
    let (a_id, b_id) = (id_of("default"), id_of("b"));
    let shown = kiln_ok(tmp.path(), &["--db", db.arg(), "show", &b_id.to_string()]);
    assert!(shown.contains("site     b\n"), "{shown}");
    admin_approves_on_site_b(tmp.path(), &receiver, b_id);
    kiln_ok(
        tmp.path(),
        &["--db", db.arg(), "approve", &a_id.to_string()],
    );

    // The read APIs answer per site.
    let counts = |query: &str| {
        let resp = http()
            .get(format!(
                "{}/api/counts?thread={THREAD}{query}",
                receiver.url
            ))
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };
    for query in ["", "&site=default", "&site=b"] {
        let (status, body) = counts(query);
        assert_eq!(status, 200, "{query}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["counts"][THREAD]["count"], 1, "{query}: {body}");
    }
    let (status, body) = counts("&site=nope");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown_site"), "{body}");
    let comments = |site: &str| {
        let url = format!("{}/api/comments?thread={THREAD}&site={site}", receiver.url);
        http().get(url).send().unwrap().text().unwrap()
    };
    let (a, b) = (comments("default"), comments("b"));
    assert!(a.contains("Ann writes") && !a.contains("Bob writes"), "{a}");
    assert!(b.contains("Bob writes") && !b.contains("Ann writes"), "{b}");
    // The optional script names no site: the page's Origin says which.
    let from_page = |origin: &str| {
        let url = format!("{}/api/comments?thread={THREAD}", receiver.url);
        let resp = http().get(url).header("origin", origin).send().unwrap();
        assert_eq!(
            resp.headers()["access-control-allow-origin"]
                .to_str()
                .unwrap(),
            origin,
            "CORS lets every site's pages read"
        );
        resp.text().unwrap()
    };
    let (a, b) = (from_page(A), from_page(B));
    assert!(a.contains("Ann writes") && !a.contains("Bob writes"), "{a}");
    assert!(b.contains("Bob writes") && !b.contains("Ann writes"), "{b}");

    // Two copies of the Hugo example, one per site.
    let site_a = HugoSite::new(&hugo, tmp.path(), "a", A, "");
    let b_toml = format!("[bake]\nsite = \"b\"\nfrom = \"{}\"\n", receiver.url);
    let site_b = HugoSite::new(&hugo, tmp.path(), "b", B, &b_toml);
    site_a.bake(&["--site", "default", "--from", db.arg()], &[]);
    site_b.bake(&[], &[("KILN_TOKEN", TOKEN)]);
    // The receiver's in-place bake of B's copy follows the approvals.
    eventually(
        "the in-place copy of site B shows Bob's comment",
        Duration::from_secs(30),
        || {
            let page = live_b.read("posts/hello-world/index.html");
            page.contains("Bob writes on site B").then_some(page)
        },
    );
    for (site, origin, own, other) in [
        (&live_b, B, "Bob writes on site B", "Ann writes"),
        (&site_a, A, "Ann writes on site A", "Bob writes"),
        (&site_b, B, "Bob writes on site B", "Ann writes"),
    ] {
        let page = site.read("posts/hello-world/index.html");
        assert!(page.contains(own), "{origin}: its own comment is baked");
        assert!(!page.contains(other), "{origin}: the other site's is not");
        assert_eq!(attribute_values(&page, "data-kiln-thread"), [THREAD]);
        // The form posts this site's page address, so a reply lands on this
        // site's thread.
        let urls = attribute_values(&page, "value");
        assert!(
            urls.contains(&format!("{origin}{THREAD}")),
            "{origin}: {urls:?}"
        );
    }
}

/// Signs in to the admin page, lists site B's queue alone, and approves
/// comment `id` there: the page goes back to the same site's list.
fn admin_approves_on_site_b(dir: &Path, receiver: &Receiver, id: i64) {
    let mut child = kiln_cmd(dir)
        .args(["--db", receiver.db.arg(), "admin", "set-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long enough admin password").unwrap();
    assert!(child.wait().unwrap().success());
    let admin = format!("{}/admin", receiver.url);
    let login = http()
        .post(format!("{admin}/login"))
        .form(&[("password", "a long enough admin password")])
        .send()
        .unwrap();
    let set = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let list = |query: &str| {
        let resp = http()
            .get(format!("{admin}?{query}"))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        resp.text().unwrap()
    };
    let only_b = list("site=b");
    assert!(
        only_b.contains("Bob writes") && !only_b.contains("Ann writes"),
        "{only_b}"
    );
    assert!(only_b.contains("id=\"ka-site-filter\""), "{only_b}");
    let every = list("");
    assert!(every.contains("Bob writes") && every.contains("Ann writes"));
    assert!(every.contains("site b") && every.contains("site default"));
    let csrf = input_value(&only_b, "csrf");
    let acted = http()
        .post(format!("{admin}/act"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("status", "pending"),
            ("site", "b"),
            ("one", &format!("approve:{id}")),
        ])
        .send()
        .unwrap();
    assert_eq!(acted.status().as_u16(), 303);
    let back = acted.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("site=b"), "{back}");
    assert!(
        !list("site=b").contains("Bob writes"),
        "approved, so out of B's queue"
    );
}

/// A copy of `examples/hugo` built for `origin`, with its own kiln.toml.
struct HugoSite {
    dir: PathBuf,
}

impl HugoSite {
    fn new(hugo: &Path, tmp: &Path, name: &str, origin: &str, kiln_toml: &str) -> HugoSite {
        let root = repo_root();
        let skip = ["public", "resources", ".hugo_build.lock"];
        let top = tmp.join(name);
        let dir = top.join("examples").join("hugo");
        copy_tree(&root.join("examples/hugo"), &dir, &skip);
        copy_tree(
            &root.join("ssg-adapters/hugo"),
            &top.join("ssg-adapters").join("hugo"),
            &skip,
        );
        let _ = std::fs::remove_dir_all(dir.join("assets").join("kiln"));
        std::fs::write(
            dir.join("kiln-e2e.toml"),
            format!("# Written by kiln's sites test.\nbaseURL = \"{origin}/\"\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("kiln.toml"),
            format!("{}\n{kiln_toml}", sites_toml()),
        )
        .unwrap();
        run_ok(Command::new(hugo).current_dir(&dir).args([
            "--quiet",
            "--config",
            "hugo.toml,kiln-e2e.toml",
        ]));
        HugoSite { dir }
    }

    fn bake(&self, args: &[&str], env: &[(&str, &str)]) {
        let mut cmd = kiln_cmd(&self.dir);
        cmd.args(["bake", "--quiet"])
            .args(args)
            .arg("public/")
            .envs(env.iter().copied())
            .env("XDG_CACHE_HOME", self.dir.join("cache"));
        run_ok(&mut cmd);
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join("public").join(file)).unwrap()
    }
}
