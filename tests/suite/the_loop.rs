//! The whole loop: a browser-style form post reaches the real receiver, the
//! moderator approves it with the CLI, the real Hugo builds the example site,
//! and `kiln bake` puts the comment, nested under its parent, on its page
//! and on no other, from the SQLite file and from the receiver's export API.

use crate::support::*;

const SITE: &str = "http://127.0.0.1:1313";
const TOKEN: &str = "e2e-export-token";

#[test]
fn a_comment_travels_from_the_form_to_the_baked_hugo_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    let db_arg = db.arg();
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: SITE,
        token: Some(TOKEN),
        extra_env: &[],
    });
    let page = format!("{SITE}/posts/hello-world/");

    // 1. A reader posts, exactly as a no-JS browser form does.
    let (status, location, _) = post_form(
        &receiver,
        &[
            ("thread", "/posts/hello-world/"),
            ("url", &page),
            ("parent", ""),
            ("name", "Ada"),
            ("email", "ada@example.org"),
            ("website", "https://ada.example"),
            (
                "text",
                "First **comment**, with a [link](https://example.com/).",
            ),
        ],
    );
    assert_eq!(status, 303);
    let (back, _) = landing(&receiver, location.as_deref());
    assert_eq!(back, format!("{page}#kiln-received"));

    // 2. The moderator sees it in the queue and approves it.
    let queue = kiln_ok(dir, &["--db", db_arg, "queue"]);
    for expected in [
        "#1",
        "/posts/hello-world/",
        "Ada",
        "ada@example.org",
        "First **comment**",
    ] {
        assert!(
            queue.contains(expected),
            "queue lacks {expected:?}:\n{queue}"
        );
    }
    kiln_ok(dir, &["--db", db_arg, "approve", "1"]);
    assert!(kiln_ok(dir, &["--db", db_arg, "queue"]).contains("No comments are waiting"));

    // 3. A reply to it, a comment on another page, and one left pending.
    let reply = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("parent", "1"),
        ("name", "Brian"),
        ("text", "A reply to Ada."),
    ];
    assert_eq!(post_form(&receiver, &reply).0, 303);
    let second = format!("{SITE}/posts/second-post/");
    let other = [
        ("thread", "/posts/second-post/"),
        ("url", second.as_str()),
        ("name", "Chen"),
        ("text", "On the second post."),
    ];
    assert_eq!(post_form(&receiver, &other).0, 303);
    let pending = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("name", "Dora"),
        ("text", "Still waiting for a moderator."),
    ];
    assert_eq!(post_form(&receiver, &pending).0, 303);
    kiln_ok(dir, &["--db", db_arg, "approve", "2", "3"]);

    // 4. Hugo builds the example site; bake from the SQLite file.
    let public = dir.join("public");
    let Some(()) = hugo_build("hugo", &public) else {
        return;
    };
    let bake_args = |out: &std::path::Path, from: &str, state: &str| -> Vec<String> {
        [
            "--db",
            db_arg,
            "bake",
            "--from",
            from,
            "--site-url",
            SITE,
            "--receiver-url",
            &receiver.url,
            "--state",
            state,
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let state = dir.join("state.json");
    let args = bake_args(&public, db_arg, state.to_str().unwrap());
    let summary = kiln_ok(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(summary.contains("files changed"), "summary: {summary}");

    // 5. Each comment is on its page only, nested under its parent.
    assert_eq!(
        pages_containing(&public, "id=\"kiln-comment-1\""),
        ["posts/hello-world/index.html"]
    );
    assert_eq!(
        pages_containing(&public, "id=\"kiln-comment-3\""),
        ["posts/second-post/index.html"]
    );
    assert!(
        pages_containing(&public, "Still waiting for a moderator").is_empty(),
        "pending comments are not baked"
    );
    assert!(
        pages_containing(&public, "ada@example.org").is_empty(),
        "e-mail addresses are never baked"
    );
    let hello = std::fs::read_to_string(public.join("posts/hello-world/index.html")).unwrap();
    assert_eq!(comment_nesting(&hello), [(1, None), (2, Some(1))]);
    assert!(
        hello.contains("<strong>comment</strong>"),
        "Markdown is rendered"
    );
    assert!(
        hello.contains(&format!("action=\"{}/comments\"", receiver.url)),
        "the form posts to the receiver"
    );
    let list = std::fs::read_to_string(public.join("posts/index.html")).unwrap();
    assert_eq!(
        texts_of(&list, "[data-kiln-count='/posts/hello-world/']"),
        ["2 comments"]
    );
    assert_eq!(
        texts_of(&list, "[data-kiln-count='/posts/second-post/']"),
        ["1 comment"]
    );
    assert_eq!(
        texts_of(&list, "[data-kiln-count='/posts/third/']"),
        ["No comments yet"]
    );
    let about = std::fs::read_to_string(public.join("about/index.html")).unwrap();
    assert!(
        !about.contains("kiln-comment"),
        "a page without a placeholder gets nothing"
    );

    // 6. A second bake changes nothing, not even a modification time.
    let before = snapshot(&public);
    let summary = kiln_ok(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        summary.starts_with("nothing changed: 3 threads up to date"),
        "summary: {summary}"
    );
    assert!(before == snapshot(&public), "the second bake touched files");

    // 7. Baking from the receiver's export API gives the same site.
    let public2 = dir.join("public2");
    hugo_build("hugo", &public2).unwrap();
    let state2 = dir.join("state2.json");
    let mut args2 = bake_args(&public2, &receiver.url, state2.to_str().unwrap());
    args2.splice(3..3, ["--token".to_owned(), TOKEN.to_owned()]);
    kiln_ok(dir, &args2.iter().map(String::as_str).collect::<Vec<_>>());
    let bytes = |d: &std::path::Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        snapshot(d)
            .into_iter()
            .map(|(p, b, _)| (p.strip_prefix(d).unwrap().to_owned(), b))
            .collect()
    };
    assert!(
        bytes(&public) == bytes(&public2),
        "baking from the URL differs from baking from the file"
    );

    // 7b. So does `kiln export` and a bake from its file: the export, the
    // export API and the database key every avatar alike.
    let export_file = dir.join("export.json");
    kiln_ok(
        dir,
        &[
            "--db",
            db_arg,
            "export",
            "-o",
            export_file.to_str().unwrap(),
        ],
    );
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export_file).unwrap()).unwrap();
    let first = &export["threads"][0]["comments"][0];
    assert_eq!(first["author"], "Ada");
    let key = first["avatar"].as_str().expect("an avatar key");
    let identicon = kiln_bake::avatar::identicon(key).unwrap();
    assert!(hello.contains(&identicon), "the page shows Ada's identicon");
    assert!(
        !export.to_string().contains("ada@"),
        "no address in the export"
    );
    let public3 = dir.join("public3");
    hugo_build("hugo", &public3).unwrap();
    let state3 = dir.join("state3.json");
    let args3 = bake_args(
        &public3,
        export_file.to_str().unwrap(),
        state3.to_str().unwrap(),
    );
    kiln_ok(dir, &args3.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        bytes(&public) == bytes(&public3),
        "baking from the export file differs from baking from the database"
    );

    // 8. A wrong token is refused with a clear error and exit code 1.
    let mut wrong = bake_args(&public2, &receiver.url, state2.to_str().unwrap());
    wrong.splice(3..3, ["--token".to_owned(), "wrong".to_owned()]);
    let out = kiln(dir, &wrong.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("token"), "stderr: {stderr}");
    assert!(
        !stderr.contains("wrong"),
        "the token is never printed: {stderr}"
    );
}

#[test]
fn moderating_an_unknown_comment_is_a_clear_error() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let (dir, db) = (tmp.path(), receiver.db.clone());
    let page = format!("{SITE}/posts/hello-world/");
    let post = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("text", "hello"),
    ];
    assert_eq!(post_form(&receiver, &post).0, 303);
    let db_arg = db.arg();
    for verb in ["approve", "reject", "delete"] {
        let out = kiln(dir, &["--db", db_arg, verb, "1", "999"]);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no comment with id 999"),
            "{verb}: {stderr}"
        );
    }
    assert_eq!(
        count_rows(&db, "comments WHERE status = 'pending'"),
        1,
        "the batch changed nothing"
    );
    // A receiver without an export token says so to a bake that asks.
    let out = kiln(
        dir,
        &["bake", "--from", &receiver.url, dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("export API is off"));
    let out = kiln(
        dir,
        &[
            "--db",
            dir.join("missing.sqlite3").to_str().unwrap(),
            "queue",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no database"));
}

#[test]
fn without_moderation_comments_are_published_at_once() {
    let (tmp, receiver) = fresh_receiver(SITE, &[("KILN_MODERATION_ENABLED", "false")]);
    let (dir, db) = (tmp.path(), receiver.db.clone());
    let page = format!("{SITE}/posts/hello-world/");
    let post = [
        ("thread", "/posts/hello-world/"),
        ("url", page.as_str()),
        ("text", "straight out"),
    ];
    let (status, location, _) = post_form(&receiver, &post);
    assert_eq!(status, 303);
    let (back, _) = landing(&receiver, location.as_deref());
    assert_eq!(back, format!("{page}#kiln-published"));
    let export = kiln_ok(dir, &["--db", db.arg(), "export"]);
    assert!(export.contains("straight out"), "{export}");
}
