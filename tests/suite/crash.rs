//! Crash safety: a submission is acknowledged only after it is committed, so
//! one acknowledged just before `kill -9` is in the database after restart.

use crate::support::*;

#[test]
fn acknowledged_submissions_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    let site = "https://blog.example";
    let receiver = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: site,
        token: None,
        // More posts than one address may send by default.
        extra_env: &[("KILN_SPAM_POSTS_PER_IP", "100")],
    });
    let page = format!("{site}/posts/crash/");
    let mut acknowledged = Vec::new();
    for i in 0..25 {
        let text = format!("comment number {i} before the crash");
        let (status, _, _) = post_form(
            &receiver,
            &[("thread", "/posts/crash/"), ("url", &page), ("text", &text)],
        );
        assert_eq!(status, 303);
        acknowledged.push(text);
    }
    // The last acknowledgement has just arrived; crash now.
    receiver.kill_9();

    // Restart on the same file: every acknowledged comment is there.
    let _restarted = Receiver::start(ReceiverOptions {
        dir,
        db: &db,
        origin: site,
        token: None,
        extra_env: &[],
    });
    let queue = kiln_ok(dir, &["--db", db.arg(), "queue", "--limit", "0"]);
    for text in &acknowledged {
        assert!(queue.contains(text.as_str()), "lost after kill -9: {text}");
    }
    assert_eq!(count_rows(&db, "comments"), 25);
}
