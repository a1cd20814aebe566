//! A site's own moderator (issue 18): one receiver serves site A (the
//! "default" site) and site B, whose `moderators` lists the named account
//! "bea". Bea logs in on the real admin page (its login form, then every
//! form with the session's CSRF token) and sees only B's pending comment
//! and B's counts; approving, editing or opening A's comment by its id is
//! refused and leaves it pending, as are A's list, the commenter-data form
//! and the import. The admin password still sees and acts on both sites.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::support::*;

const A: &str = "http://127.0.0.1:1313";
const B: &str = "http://127.0.0.1:1314";
const THREAD: &str = "/posts/hello-world/";
const BEA_PASSWORD: &str = "bea's long password";

#[test]
fn a_sites_moderator_sees_and_acts_on_that_site_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kiln.toml"),
        format!(
            "[sites]\norigins = [\"{A}\"]\n\n[[sites.site]]\nname = \"b\"\n\
             origins = [\"{B}\"]\nmoderators = [\"bea\"]\n"
        ),
    )
    .unwrap();
    let db = Db::fresh(tmp.path());
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: A,
        token: None,
        extra_env: &[],
    });
    for (origin, site, text) in [
        (A, "", "Ann writes on site A"),
        (B, "b", "Bob writes on site B"),
    ] {
        let (status, _, body) = post_form(
            &receiver,
            &[
                ("thread", THREAD),
                ("url", &format!("{origin}{THREAD}")),
                ("name", "Someone"),
                ("text", text),
                ("site", site),
            ],
        );
        assert_eq!(status, 303, "{body}");
    }
    let id_of = |site: &str| {
        peek(&db).query_i64(
            "SELECT c.id FROM comments c JOIN threads t ON t.id = c.thread_id WHERE t.site = $1",
            &[site.into()],
        )
    };
    let status_of =
        |id: i64| peek(&db).query_text("SELECT status FROM comments WHERE id = $1", &[id.into()]);
    let (a_id, b_id) = (id_of("default"), id_of("b"));

    // The main admin sees both sites; bea gets her own password.
    let admin_cookie = admin_login(&receiver, tmp.path());
    let every = admin_page(&receiver, &admin_cookie);
    assert!(
        every.contains("Ann writes") && every.contains("Bob writes"),
        "{every}"
    );
    set_moderator_password(tmp.path(), &receiver, "bea");
    let listed = kiln_ok(tmp.path(), &["--db", db.arg(), "admin", "moderators"]);
    assert!(listed.contains("bea\tsites: b"), "{listed}");

    // Bea logs in through the login form, by name.
    let admin = format!("{}/admin", receiver.url);
    let login_page = http().get(&admin).send().unwrap().text().unwrap();
    assert!(login_page.contains("name=\"moderator\""), "{login_page}");
    let wrong = http()
        .post(format!("{admin}/login"))
        .form(&[("moderator", "bea"), ("password", "not bea's password")])
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let cookie = format!(
        "kiln_admin={}",
        admin_login_with(
            &receiver,
            &[("moderator", "bea"), ("password", BEA_PASSWORD)]
        )
    );
    let get = |path: &str| {
        let resp = http()
            .get(format!("{admin}{path}"))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };

    // Her queue holds B's comment alone, and counts B's alone.
    let (status, queue) = get("");
    assert_eq!(status, 200, "{queue}");
    assert!(
        queue.contains("Bob writes") && !queue.contains("Ann writes"),
        "{queue}"
    );
    assert!(queue.contains("id=\"ka-who\""), "{queue}");
    assert!(
        queue.contains("id=\"ka-count-pending\" class=\"ka-count ka-current\">pending <b>1</b>"),
        "only B's pending comment is counted: {queue}"
    );
    assert!(!queue.contains("id=\"ka-person\"") && !queue.contains("id=\"ka-import\""));
    let (status, all) = get("?status=all&q=writes");
    assert_eq!(status, 200);
    assert!(
        all.contains("Bob writes") && !all.contains("Ann writes"),
        "{all}"
    );
    let (status, _) = get("?site=default");
    assert_eq!(status, 403, "A's list by its filter");
    let (status, page) = get(&format!("/comments/{a_id}"));
    assert_eq!(status, 404, "A's comment by its id: {page}");
    assert!(!page.contains("Ann writes"), "{page}");
    let (status, _) = get(&format!("/comments/{b_id}"));
    assert_eq!(status, 200);

    // Forged forms for A's comment, with her valid CSRF token, change nothing.
    let csrf = input_value(&queue, "csrf");
    let post = |path: &str, form: &[(&str, &str)]| {
        http()
            .post(format!("{admin}{path}"))
            .header("cookie", &cookie)
            .header("origin", receiver.url.as_str())
            .form(form)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let approve_a = format!("approve:{a_id}");
    assert_eq!(post("/act", &[("csrf", &csrf), ("one", &approve_a)]), 404);
    let (a, b) = (a_id.to_string(), b_id.to_string());
    assert_eq!(
        post(
            "/act",
            &[("csrf", &csrf), ("bulk", "delete"), ("id", &b), ("id", &a)]
        ),
        404,
        "a bulk action with one of A's ids does nothing at all"
    );
    assert_eq!(
        post(
            &format!("/comments/{a_id}"),
            &[("csrf", &csrf), ("name", "Mallory"), ("text", "rewritten")]
        ),
        404
    );
    assert_eq!(
        post(
            "/person",
            &[
                ("csrf", &csrf),
                ("email", "ann@example.org"),
                ("do", "forget")
            ]
        ),
        403
    );
    assert_eq!(status_of(a_id), "pending");
    assert_eq!(status_of(b_id), "pending");
    assert_eq!(
        peek(&db).query_text("SELECT text FROM comments WHERE id = $1", &[a_id.into()]),
        "Ann writes on site A"
    );

    // Her own site's comment she approves.
    let approve_b = format!("approve:{b_id}");
    assert_eq!(post("/act", &[("csrf", &csrf), ("one", &approve_b)]), 303);
    assert_eq!(status_of(b_id), "approved");

    // The main admin still acts on A.
    let admin_csrf = input_value(&every, "csrf");
    let status = admin_post(
        &receiver,
        "/admin/act",
        &admin_cookie,
        &format!("csrf={admin_csrf}&one=approve%3A{a_id}"),
    );
    assert_eq!(status, 303);
    assert_eq!(status_of(a_id), "approved");
}

/// `kiln admin set-password --moderator NAME`, the password on stdin.
fn set_moderator_password(dir: &Path, receiver: &Receiver, name: &str) {
    let mut child = kiln_cmd(dir)
        .args([
            "--db",
            receiver.db.arg(),
            "admin",
            "set-password",
            "--moderator",
            name,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{BEA_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("bea sees only the sites that list it: b"),
        "{said}"
    );
}
