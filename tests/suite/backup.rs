//! `kiln backup` and `kiln restore` (issue 19): a real receiver takes posts
//! from a client thread while the real `kiln` binary backs its database up,
//! on this run's backend (`KILN_TEST_BACKEND`). The backup must hold one
//! state of the database: every comment acknowledged before the backup
//! began, then a first part of those posted while it ran, each whole, with
//! every thread's count matching its own comments. Restored into a fresh
//! SQLite file and a fresh PostgreSQL database, it gives the same export as
//! the backup itself, and a receiver starts on each. The refusals hold: an
//! existing backup file, a database that holds a site, a backup from a
//! newer kiln, and (PostgreSQL) a receiver still running on the target.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use kiln_receiver::store::testing::TestDb;

use crate::support::*;

const SITE: &str = "https://blog.example";

/// Comments published at once, and no limit that would refuse a client
/// posting as fast as it can: the test is about backups, not abuse.
const ENV: &[(&str, &str)] = &[
    ("KILN_MODERATION_ENABLED", "false"),
    ("KILN_SPAM_POSTS_PER_IP", "1000000"),
    ("KILN_SPAM_POSTS_PER_THREAD", "1000000"),
    ("KILN_SPAM_POSTS_GLOBAL", "1000000"),
    ("KILN_SPAM_DUPLICATE_DAYS", "0"),
];

fn text(n: usize) -> String {
    format!("post {n:05}: *whole*, with an ending")
}

/// Posts comment `n` on one of two pages, and insists it was acknowledged.
fn post(receiver: &Receiver, n: usize) {
    let thread = format!("/posts/{}/", n % 2);
    let url = format!("{SITE}{thread}");
    let text = text(n);
    let (status, _, body) = post_form(
        receiver,
        &[
            ("thread", thread.as_str()),
            ("url", url.as_str()),
            ("name", "Poster"),
            ("email", "poster@example.org"),
            ("text", text.as_str()),
        ],
    );
    assert_eq!(status, 303, "post {n}: {body}");
}

fn start(dir: &Path, db: &Db) -> Receiver {
    Receiver::start(ReceiverOptions {
        dir,
        db,
        origin: SITE,
        token: None,
        extra_env: ENV,
    })
}

/// `kiln export` of the database `db_arg` names, without the moment it was
/// made.
fn export(dir: &Path, db_arg: &str) -> serde_json::Value {
    let out = kiln_ok(dir, &["--db", db_arg, "export"]);
    let mut json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json.as_object_mut().unwrap().remove("generated_at");
    json
}

/// A failed `kiln` run's stderr, after checking it failed with 1.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = kiln(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "kiln {args:?}: {stderr}");
    stderr
}

/// Runs a `kiln restore` once no other kiln session is left on the
/// database: the server may list a finished receiver's sessions a moment
/// after it exited.
fn restore_alone(dir: &Path, args: &[&str]) -> std::process::Output {
    eventually(
        "the other kiln sessions to end",
        Duration::from_secs(30),
        || {
            let out = kiln(dir, args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if stderr.contains("stop them") {
                Err(stderr)
            } else {
                Ok(out)
            }
        },
    )
}

#[test]
fn a_backup_taken_while_posts_arrive_restores_into_a_fresh_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = Db::fresh(dir);
    let receiver = start(dir, &db);
    let before = 12;
    for n in 0..before {
        post(&receiver, n);
    }

    // A client posts one comment after another while the backup runs.
    let acked = AtomicUsize::new(before);
    let stop = AtomicBool::new(false);
    let (backed_up, acked_at_start, acked_at_end) = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut n = before;
            while !stop.load(Ordering::Relaxed) {
                post(&receiver, n);
                n += 1;
                acked.store(n, Ordering::SeqCst);
            }
        });
        eventually("posts during the backup", Duration::from_secs(30), || {
            (acked.load(Ordering::SeqCst) > before + 2).then_some(())
        });
        let at_start = acked.load(Ordering::SeqCst);
        let out = kiln_ok(dir, &["--db", db.arg(), "backup", "backup.sqlite3"]);
        let at_end = acked.load(Ordering::SeqCst);
        stop.store(true, Ordering::Relaxed);
        client.join().unwrap();
        (out, at_start, at_end)
    });
    eprintln!("{backed_up}");
    let file = dir.join("backup.sqlite3");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds addresses and secrets");
    }
    let bytes = std::fs::metadata(&file).unwrap().len();
    assert!(backed_up.contains(&format!("{bytes} bytes")), "{backed_up}");
    assert!(backed_up.contains("Verified:"), "{backed_up}");

    // One state of the database: every post acknowledged before the
    // backup began, then the next ones in the order they were answered.
    let copy = TestDb::sqlite(&file);
    let held: Vec<String> = copy
        .rows("SELECT text FROM comments ORDER BY id", &[])
        .iter()
        .map(|row| row[0].text())
        .collect();
    assert!(
        held.len() >= acked_at_start,
        "{} comments in the backup, {acked_at_start} acknowledged before it began",
        held.len()
    );
    // Nothing the client had not yet sent: one post at most was in flight
    // when the backup's snapshot was taken.
    assert!(
        held.len() <= acked_at_end + 1,
        "{} comments in the backup, {acked_at_end} acknowledged when it ended",
        held.len()
    );
    let expected: Vec<String> = (0..held.len()).map(text).collect();
    assert_eq!(held, expected, "the backup holds a first part of the posts");
    eprintln!(
        "{} comments backed up; {acked_at_start} acknowledged when it began, {acked_at_end} when it ended",
        held.len()
    );
    let line = format!("{:<16} {:>9}", "comments", held.len());
    assert!(backed_up.contains(&line), "no {line:?} in:\n{backed_up}");
    for row in copy.rows(
        "SELECT key, published_count,
                (SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND c.status = 'approved')
         FROM threads t",
        &[],
    ) {
        assert_eq!(
            row[1], row[2],
            "thread {:?}: its count and its comments",
            row[0]
        );
    }
    // Each comment whole: as the database holds it now.
    let source = peek(&db);
    for (id, stored) in copy
        .rows("SELECT id, text, html, status FROM comments", &[])
        .iter()
        .map(|r| (r[0].int(), r))
    {
        let now = source.rows(
            "SELECT id, text, html, status FROM comments WHERE id = $1",
            &[id.into()],
        );
        assert_eq!(now.first(), Some(stored), "comment {id}");
    }
    drop(receiver);

    // A second backup to the same name is refused without --force.
    let stderr = refused(dir, &["--db", db.arg(), "backup", "backup.sqlite3"]);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    let backup_export = export(dir, "backup.sqlite3");
    let comments = backup_export["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["comments"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(comments, held.len());

    // Into a fresh SQLite file, and a fresh PostgreSQL database.
    let mut targets = vec![Db::sqlite(dir.join("restored.sqlite3"))];
    targets.extend(Db::postgres());
    for target in &targets {
        eprintln!("restoring into {}", target.peek().kind());
        let restored = kiln_ok(dir, &["--db", target.arg(), "restore", "backup.sqlite3"]);
        assert!(restored.contains("Verified:"), "{restored}");
        assert!(restored.contains(&line), "no {line:?} in:\n{restored}");
        assert_eq!(export(dir, target.arg()), backup_export);

        // A receiver starts on it and takes a post.
        let receiver = start(dir, target);
        post(&receiver, 99_999);
        if target.peek().kind() == "postgres" {
            let stderr = refused(
                dir,
                &["--db", target.arg(), "restore", "--force", "backup.sqlite3"],
            );
            assert!(stderr.contains("stop them"), "{stderr}");
        }
        drop(receiver);

        // It holds a site now: refused, then replaced with --force.
        let out = restore_alone(dir, &["--db", target.arg(), "restore", "backup.sqlite3"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("already holds a site") && stderr.contains("--force"),
            "{stderr}"
        );
        let out = restore_alone(
            dir,
            &["--db", target.arg(), "restore", "--force", "backup.sqlite3"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            export(dir, target.arg()),
            backup_export,
            "the post after the backup is gone"
        );
    }

    // A backup made by a newer kiln is refused, and nothing is made.
    std::fs::copy(&file, dir.join("newer.sqlite3")).unwrap();
    let newer = TestDb::sqlite(dir.join("newer.sqlite3"));
    let version = newer.query_i64("PRAGMA user_version", &[]);
    newer.execute(&format!("PRAGMA user_version = {}", version + 1), &[]);
    let stderr = refused(dir, &["--db", "fresh.sqlite3", "restore", "newer.sqlite3"]);
    assert!(stderr.contains("newer than this kiln"), "{stderr}");
    assert!(!dir.join("fresh.sqlite3").exists());
}
