//! Commenters' rights from the command line: `kiln export --email` gives one
//! person's data and nobody else's; `kiln forget` removes it, keeping a
//! "deleted" marker where others replied, and leaves other authors alone.

use crate::support::*;

const ORIGIN: &str = "http://blog.test";

#[test]
fn export_and_forget_touch_only_that_persons_data() {
    let (tmp, receiver) = fresh_receiver(ORIGIN, &[]);
    let page = format!("{ORIGIN}/posts/rights/");
    let db = receiver.db.to_str().unwrap().to_owned();
    let cli = |args: &[&str]| {
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        kiln_ok(tmp.path(), &all)
    };
    let post = |email: &str, text: &str, parent: &str| {
        let (status, _, body) = post_form(
            &receiver,
            &[
                ("thread", "/posts/rights/"),
                ("url", &page),
                ("name", "Someone"),
                ("email", email),
                ("text", text),
                ("parent", parent),
            ],
        );
        assert_eq!(status, 303, "{body}");
    };
    post("ann@mail.test", "Ann's first words", "");
    cli(&["approve", "1"]);
    post("bob@mail.test", "Bob answers Ann", "1");
    cli(&["approve", "2"]);
    post("ANN@Mail.test", "Ann's second thought", "");
    post("carol@mail.test", "Carol was here", "");

    let ann: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "Ann@mail.test"])).unwrap();
    let ids: Vec<i64> = ann["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3], "both of Ann's comments, whatever the case");
    assert_eq!(ann["comments"][0]["email"], "ann@mail.test");
    assert_eq!(ann["comments"][0]["client_address"], "127.0.0.0");
    assert_eq!(ann["comments"][1]["status"], "pending");
    let text = ann.to_string();
    assert!(!text.contains("bob@") && !text.contains("carol@") && !text.contains("Bob answers"));

    let out = cli(&["forget", "ann@mail.test"]);
    assert!(
        out.contains("1 comment removed, 1 kept as \"deleted\""),
        "{out}"
    );
    let conn = rusqlite::Connection::open(&receiver.db).unwrap();
    let rows: Vec<(i64, String, String, Option<String>, String)> = conn
        .prepare("SELECT id, status, author, email, text FROM comments ORDER BY id")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            (1, "deleted".into(), "".into(), None, "".into()),
            (
                2,
                "approved".into(),
                "Someone".into(),
                Some("bob@mail.test".into()),
                "Bob answers Ann".into()
            ),
            (
                4,
                "pending".into(),
                "Someone".into(),
                Some("carol@mail.test".into()),
                "Carol was here".into()
            ),
        ]
    );
    let after: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "ann@mail.test"])).unwrap();
    assert_eq!(after["comments"], serde_json::json!([]));
    // Bob's export is untouched by Ann's forgetting.
    let bob: serde_json::Value =
        serde_json::from_str(&cli(&["export", "--email", "bob@mail.test"])).unwrap();
    assert_eq!(bob["comments"][0]["parent"], 1);

    // Not an address: a clear error, nothing changed.
    let failed = kiln(tmp.path(), &["--db", &db, "forget", "bob"]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("is not an email address"));
    assert_eq!(count_rows(&receiver.db, "comments"), 3);
}
