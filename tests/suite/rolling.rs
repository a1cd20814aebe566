//! Upgrading several receivers without downtime (issue 13, the steps of
//! docs/design/postgres.md §5.4 and the procedure in docs/upgrading.md).
//!
//! Three real `kiln serve` on one PostgreSQL database, behind a load
//! balancer played by a thread: it health-checks every receiver each 100 ms,
//! sends nothing to one whose `/healthz` says it is draining, and retries a
//! request elsewhere only when its connection was refused (then nothing was
//! sent). Each receiver in turn gets SIGTERM and is replaced; the
//! replacements bring three new migrations (debug builds read them from
//! `KILN_TEST_EXTRA_MIGRATIONS`): a nullable column, an index built
//! `CONCURRENTLY` outside a transaction, and a backfill in batches. The old
//! receivers keep serving on the newer schema, and a receiver without the
//! new migrations still starts on it at the end. No request fails, and
//! every acknowledged comment is stored once.
//!
//! Also the other side of the compatibility mark: after a contract
//! migration an older kiln refuses to start, in one line that names
//! `database.url`.
//!
//! PostgreSQL only, like tests/suite/replicas.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

const ORIGIN: &str = "https://blog.example";
/// `server.drain_ms`: long enough for the balancer's health check to notice.
const DRAIN_MS: u64 = 1000;
/// How often the balancer checks each receiver's health.
const HEALTH_EVERY: Duration = Duration::from_millis(100);
/// The gap between two posts: the load is steady, and a few hundred posts
/// in all, not thousands.
const PACE: Duration = Duration::from_millis(10);
const EXTRA: &str = "KILN_TEST_EXTRA_MIGRATIONS";

/// What the balancer saw, shared with the test while it runs.
#[derive(Default)]
struct Traffic {
    /// (text, receiver URL) of every post answered 303.
    acknowledged: Vec<(String, String)>,
    /// Requests that failed: any answer but 303, any error but a refusal.
    failures: Vec<String>,
    /// Posts sent again elsewhere after a refused connection.
    retried: usize,
    /// Receivers whose health check said "draining".
    seen_draining: BTreeSet<String>,
}

/// The load balancer: a thread posting comments to the healthy receivers
/// among those registered in `pool`, until `stop`.
struct Balancer {
    pool: Arc<Mutex<Vec<String>>>,
    traffic: Arc<Mutex<Traffic>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Balancer {
    fn start(receivers: Vec<String>) -> Balancer {
        let pool = Arc::new(Mutex::new(receivers));
        let traffic: Arc<Mutex<Traffic>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (pool, traffic, stop) = (pool.clone(), traffic.clone(), stop.clone());
            move || balance(&pool, &traffic, &stop)
        });
        Balancer {
            pool,
            traffic,
            stop,
            thread,
        }
    }

    fn add(&self, url: &str) {
        self.pool.lock().unwrap().push(url.to_owned());
    }

    fn remove(&self, url: &str) {
        self.pool.lock().unwrap().retain(|u| u != url);
    }

    fn acknowledged(&self) -> usize {
        self.traffic.lock().unwrap().acknowledged.len()
    }

    /// Waits until `url` has acknowledged a post: it is in the rotation.
    fn wait_for_posts_on(&self, url: &str) {
        let what = format!("a post acknowledged by {url}");
        eventually(&what, Duration::from_secs(30), || {
            let traffic = self.traffic.lock().unwrap();
            traffic
                .acknowledged
                .iter()
                .any(|(_, u)| u == url)
                .then_some(())
        });
    }

    fn stop(self) -> Traffic {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        Arc::try_unwrap(self.traffic)
            .ok()
            .expect("the balancer's thread has ended")
            .into_inner()
            .unwrap()
    }
}

fn balance(pool: &Mutex<Vec<String>>, traffic: &Mutex<Traffic>, stop: &AtomicBool) {
    let http = http();
    let mut healthy: Vec<String> = Vec::new();
    let mut checked: Option<Instant> = None;
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        if checked.is_none_or(|at| at.elapsed() >= HEALTH_EVERY) || healthy.is_empty() {
            let registered = pool.lock().unwrap().clone();
            healthy = registered
                .into_iter()
                .filter(|url| match http.get(format!("{url}/healthz")).send() {
                    Ok(r) if r.status() == 200 => true,
                    Ok(r) => {
                        if r.status() == 503 {
                            traffic.lock().unwrap().seen_draining.insert(url.clone());
                        }
                        false
                    }
                    Err(_) => false,
                })
                .collect();
            checked = Some(Instant::now());
        }
        if healthy.is_empty() {
            traffic
                .lock()
                .unwrap()
                .failures
                .push("no healthy receiver".to_owned());
            continue;
        }
        let text = format!("Rolling {n}: posted during the upgrade.");
        let thread = format!("/rolling/{}/", n % 8);
        let page = format!("{ORIGIN}{thread}");
        let body = form_body(&[("thread", &thread), ("url", &page), ("text", &text)]);
        let mut order = healthy.clone();
        let turn = n % order.len();
        order.rotate_left(turn);
        n += 1;
        let mut answered = false;
        for url in order {
            let sent = http
                .post(format!("{url}/comments"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send();
            let mut traffic = traffic.lock().unwrap();
            match sent {
                Ok(r) if r.status() == 303 => traffic.acknowledged.push((text.clone(), url)),
                Ok(r) => traffic.failures.push(format!("{url}: {}", r.status())),
                Err(e) if e.is_connect() => {
                    // Never accepted, so nothing was sent: safe elsewhere.
                    traffic.retried += 1;
                    healthy.retain(|u| *u != url);
                    continue;
                }
                Err(e) => traffic.failures.push(format!("{url}: {e:?}")),
            }
            answered = true;
            break;
        }
        if !answered {
            let mut traffic = traffic.lock().unwrap();
            traffic
                .failures
                .push(format!("every receiver refused {text}"));
        }
        std::thread::sleep(PACE);
    }
}

/// The newest applied migration's version and compatibility mark.
fn newest_migration(db: &Db) -> (i64, i64) {
    let row = peek(db)
        .row(
            "SELECT version::int8, compatible_from::int8 FROM kiln_migrations
             ORDER BY version DESC LIMIT 1",
            &[],
        )
        .expect("a migrated database");
    (row[0].int(), row[1].int())
}

/// The settings of a receiver of the new release: the extra migrations.
fn new_release(dir: &Path) -> [(&'static str, &str); 1] {
    [(EXTRA, dir.to_str().unwrap())]
}

#[test]
fn a_rolling_restart_with_a_migration_loses_no_request() {
    let Some(db) = Db::postgres() else { return };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kiln.toml"),
        format!(
            "[server]\ndrain_ms = {DRAIN_MS}\n\
             [spam]\nposts_per_ip = 100000\nposts_per_thread = 100000\nposts_global = 100000\n"
        ),
    )
    .unwrap();
    let start = |env: &[(&str, &str)]| {
        Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin: ORIGIN,
            token: None,
            extra_env: env,
        })
    };
    let mut replicas: Vec<Receiver> = (0..3).map(|_| start(&[])).collect();

    // The new release's migrations, numbered after the old release's:
    // expand only, so they keep the old compatibility mark.
    let (old_version, mark) = newest_migration(&db);
    let migrations = tmp.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let file = |offset: i64, name: &str, sql: &str| {
        let version = old_version + offset;
        std::fs::write(
            migrations.join(format!("{version:04}_{name}.sql")),
            format!("-- compatible_from: {mark}\n{sql}\n"),
        )
        .unwrap();
    };
    file(
        1,
        "rolling_mark",
        "-- A new nullable column: the old code neither reads nor writes it.\n\
         ALTER TABLE comments ADD COLUMN rolling_mark text;",
    );
    file(
        2,
        "rolling_mark_index",
        "-- transaction: no\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_rolling_mark ON comments (rolling_mark);",
    );
    file(
        3,
        "rolling_mark_backfill",
        "-- transaction: no\n\
         -- The rows that exist now, 50 at a time, each batch committed.\n\
         DO $$\n\
         DECLARE\n    last bigint := (SELECT coalesce(max(id), 0) FROM comments);\n    done integer;\n\
         BEGIN\n    LOOP\n        UPDATE comments SET rolling_mark = 'before'\n\
         WHERE id IN (SELECT id FROM comments WHERE rolling_mark IS NULL AND id <= last\n\
         ORDER BY id LIMIT 50);\n        GET DIAGNOSTICS done = ROW_COUNT;\n\
         EXIT WHEN done = 0;\n        COMMIT;\n    END LOOP;\nEND\n$$;",
    );
    let new_env = new_release(&migrations);

    let balancer = Balancer::start(replicas.iter().map(|r| r.url.clone()).collect());
    eventually("steady load", Duration::from_secs(30), || {
        (balancer.acknowledged() >= 20).then_some(())
    });

    // Each receiver in turn: SIGTERM, wait for it to exit, start the new
    // release in its place.
    let mut before_migration = 0;
    for turn in 0..3 {
        let old = replicas.remove(0);
        let url = old.url.clone();
        old.terminate();
        let status = old.wait_for_exit();
        assert!(status.success(), "receiver {url} exited with {status:?}");
        balancer.remove(&url);
        if turn == 0 {
            before_migration = balancer.acknowledged();
        }
        let new = start(&new_env);
        eventually(
            "the new receiver is healthy",
            Duration::from_secs(30),
            || {
                let r = http().get(format!("{}/healthz", new.url)).send().ok()?;
                (r.status() == 200).then_some(())
            },
        );
        balancer.add(&new.url);
        balancer.wait_for_posts_on(&new.url);
        if turn == 0 {
            // The two old receivers keep serving on the newer schema.
            assert_eq!(newest_migration(&db), (old_version + 3, mark));
            let started = balancer.acknowledged();
            for old in &replicas {
                let what = format!("{} serving after the migration", old.url);
                eventually(&what, Duration::from_secs(30), || {
                    let traffic = balancer.traffic.lock().unwrap();
                    traffic.acknowledged[started..]
                        .iter()
                        .any(|(_, u)| *u == old.url)
                        .then_some(())
                });
            }
        }
        replicas.push(new);
    }

    // A receiver of the old release still starts on the new schema: the
    // mark says its code works with it.
    let old_style = start(&[]);
    balancer.add(&old_style.url);
    balancer.wait_for_posts_on(&old_style.url);
    let traffic = balancer.stop();

    assert!(
        traffic.failures.is_empty(),
        "failed requests: {:#?}",
        traffic.failures
    );
    let acknowledged: BTreeMap<&str, &str> = traffic
        .acknowledged
        .iter()
        .map(|(text, url)| (text.as_str(), url.as_str()))
        .collect();
    assert_eq!(
        acknowledged.len(),
        traffic.acknowledged.len(),
        "one post, one text"
    );
    let stored = stored_once(&db, "Rolling ", acknowledged.keys().copied());
    // Every post was answered 303 (no failures above): nothing stored that
    // was not acknowledged.
    assert_eq!(stored.len(), acknowledged.len());
    // The balancer saw each old receiver drain and let it go.
    assert_eq!(
        traffic.seen_draining.len(),
        3,
        "each stopped receiver said it was draining: {:?}",
        traffic.seen_draining
    );
    eprintln!(
        "rolling: {} posts acknowledged, {} retried after a refused connection",
        acknowledged.len(),
        traffic.retried
    );

    // The migrations ran once each, although three receivers of the new
    // release started; the index is usable, and the backfill reached every
    // comment acknowledged before the first new receiver started.
    let applied = peek(&db).rows(
        "SELECT version::int8, count(*) FROM kiln_migrations WHERE version::int8 > $1
         GROUP BY version ORDER BY version",
        &[old_version.into()],
    );
    let applied: Vec<(i64, i64)> = applied.iter().map(|r| (r[0].int(), r[1].int())).collect();
    assert_eq!(
        applied,
        (1..=3).map(|k| (old_version + k, 1)).collect::<Vec<_>>()
    );
    assert_eq!(
        peek(&db).query_i64(
            "SELECT count(*) FROM pg_index
             WHERE indexrelid = 'comments_rolling_mark'::regclass AND indisvalid",
            &[]
        ),
        1
    );
    let unmarked: BTreeSet<String> = peek(&db)
        .rows("SELECT text FROM comments WHERE rolling_mark IS NULL", &[])
        .iter()
        .map(|row| row[0].text())
        .collect();
    let missed: Vec<&str> = traffic.acknowledged[..before_migration]
        .iter()
        .map(|(text, _)| text.as_str())
        .filter(|text| unmarked.contains(*text))
        .collect();
    assert!(missed.is_empty(), "not backfilled: {missed:?}");
}

#[test]
fn after_a_contract_migration_an_older_kiln_refuses_to_start() {
    let Some(db) = Db::postgres() else { return };
    let tmp = tempfile::tempdir().unwrap();
    kiln_ok(tmp.path(), &["store", "migrate", "--db", db.arg()]);
    let (old_version, _) = newest_migration(&db);
    let migrations = tmp.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let version = old_version + 1;
    std::fs::write(
        migrations.join(format!("{version:04}_contract.sql")),
        format!(
            "-- compatible_from: {version}\n\
             -- A contract migration: code older than this one cannot use the schema.\n\
             COMMENT ON TABLE comments IS 'contracted';\n"
        ),
    )
    .unwrap();
    kiln_ok_env(
        tmp.path(),
        &new_release(&migrations),
        &["store", "migrate", "--db", db.arg()],
    );
    assert_eq!(newest_migration(&db), (version, version));

    // The older kiln, with a password in its URL (the test server trusts
    // its socket and ignores it), refuses in one line.
    let with_password = db
        .arg()
        .replacen("postgres://kiln@", "postgres://kiln:hunter2-secret@", 1);
    assert_ne!(with_password, db.arg());
    let refused = kiln_cmd(tmp.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--origin", ORIGIN])
        .env("KILN_DATABASE_URL", &with_password)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("Error: ")
            && stderr.contains("(database.url)")
            && stderr.contains(&format!("at version {version}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2") && !stdout.contains("hunter2"),
        "{stdout}{stderr}"
    );
    assert_eq!(newest_migration(&db), (version, version), "nothing changed");
}
