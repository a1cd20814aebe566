//! The receiver load benchmark (issue 13's replicas, issue 17's throughput):
//! the real release `kiln serve` on SQLite and on PostgreSQL with one, two
//! and three replicas on one database, beside Isso 0.14 under gunicorn with
//! two workers, all driven over loopback by `oha`. Run on demand, never in
//! the tests:
//!
//!     cargo bench --bench load            # or scripts/bench-load
//!
//! `cargo bench` builds the kiln binary with the bench profile (the release
//! profile's settings) and hands its path over. The benchmark makes Isso's
//! venv under `target/kiln-bench/` (pip, as scripts/install-tools does),
//! and starts a throwaway PostgreSQL cluster
//! with fsync on when `BENCH_DATABASE_URL` names none. Every limit that
//! would refuse the load is lifted: rate limits, the duplicate check, and
//! Isso's guard. It reports, for each target:
//!
//! - accepted submissions per second at full load (`BENCH_CONNECTIONS`
//!   connections), and the ratio to Isso;
//! - p50 and p99 latency at a fixed offered rate (`BENCH_RATE`, 1,000/s),
//!   corrected for coordinated omission (oha `-q` with
//!   `--latency-correction`: each request is timed from when it was due);
//! - reads per second of a thread of `BENCH_THREAD_COMMENTS` (2,000)
//!   comments while writes run, whole and as a page's script asks for it
//!   (only comments newer than the baked ones);
//! - each process's peak RSS (VmHWM);
//! - accepted submissions per second as the store grows from 0 to
//!   `BENCH_STORED_MAX` (1,000,000) comments, seeded through the store's
//!   import path, not over HTTP.
//!
//! Settings, all from the environment: `BENCH_QUICK=1` (about a minute:
//! 2-second windows, at most 20,000 stored), `BENCH_SECONDS` (each
//! measurement window), `BENCH_CONNECTIONS`, `BENCH_RATE`,
//! `BENCH_THREAD_COMMENTS`, `BENCH_STORED_MAX`, `BENCH_ONLY` (a comma list
//! of `sqlite`, `pg1`, `pg2`, `pg3`, `isso`, `curve`, `curve-pg`; default
//! all but `curve-pg`), `BENCH_MODERATION` (`on`, kiln's default: every
//! post waits for a moderator, in kiln and in Isso alike; or `off`),
//! `BENCH_DATABASE_URL` (a PostgreSQL server to make scratch
//! databases on; it should have fsync on), `BENCH_KILN` (a kiln binary to
//! use instead of building one).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiln_receiver::store::testing::TestDb;
use kiln_receiver::store::{
    ImportBatch, ImportComment, ImportFields, ImportThread, Location, Mode, Status,
};
use serde_json::Value;

/// The origin every benchmark page is on.
const ORIGIN: &str = "http://bench.example";
/// The thread the load posts to.
const LOAD_THREAD: &str = "/posts/load/";
/// The thread of `BENCH_THREAD_COMMENTS` comments the readers read.
const BIG_THREAD: &str = "/posts/big/";
/// Pinned, as scripts/install-tools pins Isso for the import test.
const ISSO_VERSION: &str = "0.14.0";
const GUNICORN_VERSION: &str = "23.0.0";
/// A comment of a usual length, with a little Markdown and one link.
const TEXT: &str = "Thanks for the write-up. I tried the *second* approach on a small site \
                    and it held up well; the [notes](https://example.org/notes) helped.";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        _ => default,
    }
}

struct Settings {
    quick: bool,
    seconds: u64,
    connections: usize,
    rate: u64,
    thread_comments: usize,
    stored_max: usize,
    only: Vec<String>,
    moderation: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = env_or("BENCH_QUICK", 0u8) == 1;
        let only: String = env_or("BENCH_ONLY", "sqlite,pg1,pg2,pg3,isso,curve".to_owned());
        let moderation = match env_or("BENCH_MODERATION", "on".to_owned()).as_str() {
            "off" => false,
            "on" => true,
            other => panic!("BENCH_MODERATION={other:?}: say `on` or `off`"),
        };
        Settings {
            quick,
            seconds: env_or("BENCH_SECONDS", if quick { 2 } else { 15 }),
            connections: env_or("BENCH_CONNECTIONS", 32),
            rate: env_or("BENCH_RATE", 1000),
            thread_comments: env_or("BENCH_THREAD_COMMENTS", 2000),
            stored_max: env_or("BENCH_STORED_MAX", if quick { 20_000 } else { 1_000_000 }),
            only: only.split(',').map(|s| s.trim().to_owned()).collect(),
            moderation,
        }
    }

    fn wants(&self, what: &str) -> bool {
        self.only.iter().any(|o| o == what)
    }
}

fn main() {
    let settings = Settings::from_env();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let oha = find_oha();
    let kiln = kiln_binary();
    let work_root = root.join("target/kiln-bench");
    std::fs::create_dir_all(&work_root).expect("create target/kiln-bench");
    // On the real disk (not a tmpfs), so every fsync costs what it costs.
    let work = tempfile::tempdir_in(&work_root).expect("temp dir");
    let bench = Bench {
        settings: &settings,
        oha,
        kiln,
        work: work.path().to_owned(),
    };
    eprintln!("{}", machine());
    eprintln!(
        "{}windows of {} s, {} connections at full load, {}/s offered for latency, moderation {}",
        if settings.quick { "BENCH_QUICK: " } else { "" },
        settings.seconds,
        settings.connections,
        settings.rate,
        if settings.moderation { "on" } else { "off" }
    );

    let mut rows = Vec::new();
    if settings.wants("sqlite") {
        let db = TestDb::sqlite(bench.work.join("kiln.sqlite3"));
        rows.push(bench.kiln_row("kiln, SQLite", &db, 1));
    }
    let replicas: Vec<usize> = (1..=3)
        .filter(|n| settings.wants(&format!("pg{n}")))
        .collect();
    let mut cluster = None;
    if !replicas.is_empty() || settings.wants("curve-pg") {
        cluster = Some(Cluster::get(&root));
    }
    for n in replicas {
        let db = TestDb::postgres().expect("a PostgreSQL server (BENCH_DATABASE_URL)");
        if n == 1 {
            eprintln!("PostgreSQL fsync = {}", db.query_text("SHOW fsync", &[]));
        }
        let name = format!(
            "kiln, PostgreSQL, {n} replica{}",
            if n == 1 { "" } else { "s" }
        );
        rows.push(bench.kiln_row(&name, &db, n));
    }
    if settings.wants("isso") {
        rows.push(bench.isso_row(&root));
    }
    let mut curves = Vec::new();
    if settings.wants("curve") {
        let db = TestDb::sqlite(bench.work.join("curve.sqlite3"));
        curves.push(("SQLite", bench.curve(&db)));
    }
    if settings.wants("curve-pg") {
        let db = TestDb::postgres().expect("a PostgreSQL server (BENCH_DATABASE_URL)");
        curves.push(("PostgreSQL, 1 replica", bench.curve(&db)));
    }
    drop(cluster);

    println!("\n{}\n", machine());
    print_rows(&rows);
    for (name, curve) in &curves {
        println!("\nAccepted submissions/s as the store grows ({name}):\n");
        println!("| comments stored | accepted/s | p99 at full load | load average |");
        println!("|---|---|---|---|");
        for (stored, m) in curve {
            println!(
                "| {} | {:.0} | {:.1} ms | {} |",
                thousands(*stored as u64),
                m.accepted_per_s,
                m.p99 * 1e3,
                m.load
            );
        }
    }
}

/// What one generator run (or several at once, one per replica) measured.
#[derive(Debug, Clone, Default)]
struct Measured {
    /// Answers with the status that means success, per second.
    accepted_per_s: f64,
    /// Other answers and connection errors, in total.
    failed: u64,
    /// Requests still unanswered when the window closed (oha cancels
    /// them): a few are the connections in flight; many mean stuck requests.
    unanswered: u64,
    /// Seconds; the worst generator's when there are several.
    p50: f64,
    p99: f64,
    /// The load average when the window ended.
    load: String,
}

/// One line of the results table.
struct Row {
    name: String,
    full: Measured,
    fixed: Measured,
    /// Reads of the whole thread, and the writes that ran beside them.
    reads_whole: Measured,
    writes_whole: Measured,
    /// Reads of the comments newer than the newest one (what a baked page's
    /// script asks for), where the target has that request.
    reads_newer: Option<(Measured, Measured)>,
    /// Peak RSS of each process, in kB.
    rss_kb: Vec<u64>,
}

struct Bench<'a> {
    settings: &'a Settings,
    oha: PathBuf,
    kiln: PathBuf,
    work: PathBuf,
}

/// A request for `oha`.
#[derive(Clone)]
struct Request {
    url: String,
    /// Method, content type and body; `None` is a GET.
    post: Option<(&'static str, String)>,
    /// The status that counts as accepted.
    ok: u16,
}

impl Bench<'_> {
    /// Starts `replicas` receivers on `db`, measures them, stops them.
    fn kiln_row(&self, name: &str, db: &TestDb, replicas: usize) -> Row {
        eprintln!("\n== {name}");
        let newest = seed_big_thread(db, self.settings.thread_comments);
        let receivers: Vec<Kiln> = (0..replicas)
            .map(|i| Kiln::start(&self.kiln, &self.work, db, i, self.settings.moderation))
            .collect();
        let urls: Vec<&str> = receivers.iter().map(|r| r.url.as_str()).collect();
        let post = kiln_post(&urls);
        let whole: Vec<Request> = urls
            .iter()
            .map(|u| Request {
                url: format!("{u}/api/comments?thread={}", enc(BIG_THREAD)),
                post: None,
                ok: 200,
            })
            .collect();
        let shown = count_kiln_thread(urls[0]);
        assert_eq!(
            shown, self.settings.thread_comments,
            "the receiver shows {shown} comments of the big thread"
        );
        let newer: Vec<Request> = urls
            .iter()
            .map(|u| Request {
                url: format!("{u}/api/comments?thread={}&after={newest}", enc(BIG_THREAD)),
                post: None,
                ok: 200,
            })
            .collect();
        let row = self.measure(name, &post, &whole, Some(&newer), || {
            receivers.iter().map(|r| peak_rss_kb(r.pid())).collect()
        });
        drop(receivers);
        row
    }

    /// The same measurements on Isso under gunicorn with two workers.
    fn isso_row(&self, root: &Path) -> Row {
        let name = "Isso 0.14, gunicorn, 2 workers";
        eprintln!("\n== {name}");
        let venv = isso_venv(root);
        let db = self.work.join("isso.db");
        // Seeded with moderation off, so the big thread's comments are
        // published whatever BENCH_MODERATION says.
        {
            let isso = Isso::start(&venv, &self.work, &db, false);
            let seed = isso_post(&[isso.url.as_str()], BIG_THREAD);
            // Two workers on one SQLite file sometimes answer 500 ("database
            // is locked"); post again until the thread has them all.
            for _ in 0..5 {
                let shown = count_isso_thread(&isso.url);
                if shown >= self.settings.thread_comments {
                    break;
                }
                self.oha_count(&seed[0], self.settings.thread_comments - shown);
            }
        }
        let isso = Isso::start(&venv, &self.work, &db, self.settings.moderation);
        let shown = count_isso_thread(&isso.url);
        assert_eq!(
            shown, self.settings.thread_comments,
            "Isso shows {shown} comments of the big thread"
        );
        let mut post = isso_post(&[isso.url.as_str()], LOAD_THREAD);
        if self.settings.moderation {
            // Isso answers a comment held for a moderator with 202.
            post[0].ok = 202;
        }
        let whole = vec![Request {
            url: format!("{}/?uri={}", isso.url, enc(BIG_THREAD)),
            post: None,
            ok: 200,
        }];
        self.measure(name, &post, &whole, None, || isso.rss_kb())
    }

    fn measure(
        &self,
        name: &str,
        post: &[Request],
        whole: &[Request],
        newer: Option<&[Request]>,
        rss: impl Fn() -> Vec<u64>,
    ) -> Row {
        let s = self.settings;
        let full = self.oha(post, s.connections, None);
        eprintln!("full load: {}", describe(&full));
        let fixed = self.oha(post, s.connections, Some(s.rate));
        eprintln!("{}/s offered: {}", s.rate, describe(&fixed));
        let half = (s.connections / 2).max(1);
        let (reads_whole, writes_whole) = self.oha_pair(whole, post, half);
        eprintln!(
            "whole thread read: {} beside writes: {}",
            describe(&reads_whole),
            describe(&writes_whole)
        );
        let reads_newer = newer.map(|newer| {
            let pair = self.oha_pair(newer, post, half);
            eprintln!(
                "newer comments read: {} beside writes: {}",
                describe(&pair.0),
                describe(&pair.1)
            );
            pair
        });
        Row {
            name: name.to_owned(),
            full,
            fixed,
            reads_whole,
            writes_whole,
            reads_newer,
            rss_kb: rss(),
        }
    }

    /// Accepted submissions per second at each size of the store, from 0 to
    /// `BENCH_STORED_MAX`, seeded in steps through the store's import path.
    fn curve(&self, db: &TestDb) -> Vec<(usize, Measured)> {
        let max = self.settings.stored_max;
        let mut steps = vec![0, max / 100, max / 10, max];
        steps.dedup();
        steps.retain(|&n| n == 0 || n >= 1);
        let mut stored = 0;
        let mut out = Vec::new();
        for step in steps {
            if step < stored {
                continue;
            }
            let started = Instant::now();
            seed(db, stored, step);
            if step > stored {
                eprintln!(
                    "\n== {} comments stored (seeded in {:.1} s)",
                    thousands(step as u64),
                    started.elapsed().as_secs_f64()
                );
            } else {
                eprintln!("\n== {} comments stored", thousands(step as u64));
            }
            stored = step;
            let receiver = Kiln::start(&self.kiln, &self.work, db, 0, self.settings.moderation);
            let post = kiln_post(&[receiver.url.as_str()]);
            let m = self.oha(&post, self.settings.connections, None);
            eprintln!("full load: {}", describe(&m));
            out.push((step, m));
        }
        out
    }

    /// One `oha` per request (per replica), all at once, for the window;
    /// `connections` and `rate` are shared out among them.
    fn oha(&self, requests: &[Request], connections: usize, rate: Option<u64>) -> Measured {
        let n = requests.len();
        let children: Vec<(Child, u16)> = requests
            .iter()
            .map(|r| {
                let mut cmd = self.oha_cmd(r, (connections / n).max(1));
                cmd.args(["-z", &format!("{}s", self.settings.seconds)]);
                if let Some(rate) = rate {
                    cmd.args(["-q", &format!("{}", rate as f64 / n as f64)]);
                    cmd.arg("--latency-correction");
                }
                (cmd.spawn().expect("start oha"), r.ok)
            })
            .collect();
        let results: Vec<Measured> = children
            .into_iter()
            .map(|(child, ok)| parse_oha(child, ok))
            .collect();
        let load = load_average();
        Measured {
            accepted_per_s: results.iter().map(|m| m.accepted_per_s).sum(),
            failed: results.iter().map(|m| m.failed).sum(),
            unanswered: results.iter().map(|m| m.unanswered).sum(),
            p50: results.iter().map(|m| m.p50).fold(0.0, f64::max),
            p99: results.iter().map(|m| m.p99).fold(0.0, f64::max),
            load,
        }
    }

    /// Reads and writes at once, each with `connections`.
    fn oha_pair(
        &self,
        reads: &[Request],
        writes: &[Request],
        connections: usize,
    ) -> (Measured, Measured) {
        std::thread::scope(|scope| {
            let w = scope.spawn(|| self.oha(writes, connections, None));
            let r = self.oha(reads, connections, None);
            (r, w.join().expect("the writers"))
        })
    }

    /// `count` requests (to seed a thread); says how many were refused.
    fn oha_count(&self, request: &Request, count: usize) {
        let mut cmd = self.oha_cmd(request, 8);
        cmd.args(["-n", &count.to_string()]);
        let child = cmd.spawn().expect("start oha");
        let out = child.wait_with_output().expect("run oha");
        let json: Value = serde_json::from_slice(&out.stdout).expect("oha's JSON");
        let accepted = status_count(&json, request.ok);
        if accepted as usize != count {
            eprintln!(
                "seeding: {accepted} of {count} accepted: {}",
                json["statusCodeDistribution"]
            );
        }
    }

    fn oha_cmd(&self, r: &Request, connections: usize) -> Command {
        let mut cmd = Command::new(&self.oha);
        cmd.args(["--no-tui", "--output-format", "json", "--redirect", "0"])
            .args(["-c", &connections.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((content_type, body)) = &r.post {
            cmd.args(["-m", "POST", "-T", content_type, "-d", body]);
            // What a browser sends: Isso's API and kiln's CORS both look.
            cmd.args(["-H", &format!("Origin: {ORIGIN}")]);
            cmd.args(["-H", &format!("Referer: {ORIGIN}/posts/load/")]);
        }
        cmd.arg(&r.url);
        cmd
    }
}

/// The no-JS form's body, posted to each receiver.
fn kiln_post(urls: &[&str]) -> Vec<Request> {
    let body = [
        ("thread", LOAD_THREAD.to_owned()),
        ("url", format!("{ORIGIN}{LOAD_THREAD}")),
        ("title", "Load".to_owned()),
        ("name", "Reader".to_owned()),
        ("email", "reader@bench.example".to_owned()),
        ("text", TEXT.to_owned()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", enc(v)))
    .collect::<Vec<_>>()
    .join("&");
    urls.iter()
        .map(|u| Request {
            url: format!("{u}/comments"),
            post: Some(("application/x-www-form-urlencoded", body.clone())),
            ok: 303,
        })
        .collect()
}

/// Isso's JSON API body for `thread`, as its script posts it.
fn isso_post(urls: &[&str], thread: &str) -> Vec<Request> {
    let body = serde_json::json!({
        "text": TEXT,
        "author": "Reader",
        "email": "reader@bench.example",
        "website": null,
        "parent": null,
        "title": "Load",
    })
    .to_string();
    urls.iter()
        .map(|u| Request {
            url: format!("{u}/new?uri={}", enc(thread)),
            post: Some(("application/json", body.clone())),
            ok: 201,
        })
        .collect()
}

/// Percent-encodes everything but the unreserved characters.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_oha(child: Child, ok: u16) -> Measured {
    let out = child.wait_with_output().expect("run oha");
    assert!(out.status.success(), "oha failed: {}", out.status);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oha's output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let seconds = json["summary"]["total"].as_f64().expect("summary.total");
    let accepted = status_count(&json, ok);
    let answered: u64 = json["statusCodeDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    // Requests still in flight when the window closed are reported as
    // errors by oha; they are neither accepted nor failed.
    let errors: u64 = json["errorDistribution"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.contains("deadline"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    let unanswered: u64 = json["errorDistribution"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains("deadline"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    if errors > 0 {
        eprintln!("  oha errors: {}", json["errorDistribution"]);
    }
    let wrong = answered - accepted;
    if wrong > 0 {
        eprintln!(
            "  answers other than {ok}: {}",
            json["statusCodeDistribution"]
        );
    }
    let p = &json["latencyPercentiles"];
    Measured {
        accepted_per_s: accepted as f64 / seconds,
        failed: wrong + errors,
        unanswered,
        p50: p["p50"].as_f64().unwrap_or(f64::NAN),
        p99: p["p99"].as_f64().unwrap_or(f64::NAN),
        load: String::new(),
    }
}

fn status_count(json: &Value, status: u16) -> u64 {
    json["statusCodeDistribution"][status.to_string()]
        .as_u64()
        .unwrap_or(0)
}

fn describe(m: &Measured) -> String {
    format!(
        "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} failed, {} unanswered at the end (load {})",
        m.accepted_per_s,
        m.p50 * 1e3,
        m.p99 * 1e3,
        m.failed,
        m.unanswered,
        m.load
    )
}

fn print_rows(rows: &[Row]) {
    let isso = rows
        .iter()
        .find(|r| r.name.starts_with("Isso"))
        .map(|r| r.full.accepted_per_s);
    println!("| target | accepted/s | × Isso | p50 / p99 at {}/s offered | whole-thread reads/s (writes/s beside) | newer-comments reads/s (writes/s beside) | peak RSS | failed | load average |",
        thousands(rows.first().map_or(0, |_| env_or("BENCH_RATE", 1000u64))));
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let ratio = match isso {
            Some(i) if i > 0.0 => format!("{:.1}×", r.full.accepted_per_s / i),
            _ => "–".to_owned(),
        };
        let newer = match &r.reads_newer {
            Some((reads, writes)) => {
                format!("{:.0} ({:.0})", reads.accepted_per_s, writes.accepted_per_s)
            }
            None => "–".to_owned(),
        };
        let rss = r
            .rss_kb
            .iter()
            .map(|kb| format!("{:.0}", *kb as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" + ");
        let failed = r.full.failed
            + r.fixed.failed
            + r.reads_whole.failed
            + r.writes_whole.failed
            + r.reads_newer
                .as_ref()
                .map_or(0, |(a, b)| a.failed + b.failed);
        println!(
            "| {} | {:.0} | {} | {:.1} / {:.1} ms ({:.0}/s accepted) | {:.0} ({:.0}) | {} | {} MB | {} | {} |",
            r.name,
            r.full.accepted_per_s,
            ratio,
            r.fixed.p50 * 1e3,
            r.fixed.p99 * 1e3,
            r.fixed.accepted_per_s,
            r.reads_whole.accepted_per_s,
            r.writes_whole.accepted_per_s,
            newer,
            rss,
            failed,
            r.full.load,
        );
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The `oha` on PATH, or an exit that says how to get it.
fn find_oha() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("oha"))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => p,
        None => {
            eprintln!(
                "The load benchmark needs oha (an HTTP load generator with a fixed-rate mode).\n\
                 Install it with: cargo install oha --locked --no-default-features --features native-tls\n\
                 (plain HTTP on loopback needs none of its TLS features)."
            );
            std::process::exit(2);
        }
    }
}

/// `BENCH_KILN`, or the kiln binary cargo built beside this benchmark, with
/// the bench profile (the release profile's settings).
fn kiln_binary() -> PathBuf {
    let path = std::env::var_os("BENCH_KILN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kiln")));
    std::fs::canonicalize(&path)
        .unwrap_or_else(|e| panic!("no kiln binary at {}: {e}", path.display()))
}

/// A free loopback port (the receiver picks its own with port 0; gunicorn
/// does not say which it picked).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Stopped with SIGTERM, and reaped, when dropped.
struct Process(Child);

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// One `kiln serve`.
struct Kiln {
    process: Process,
    url: String,
}

impl Kiln {
    fn start(kiln: &Path, work: &Path, db: &TestDb, index: usize, moderation: bool) -> Kiln {
        let dir = work.join(format!("kiln-{index}"));
        std::fs::create_dir_all(&dir).expect("receiver dir");
        let config = dir.join("kiln.toml");
        // Every limit that would refuse the benchmark's load is lifted; the
        // duplicate check too, since every post has the same text.
        std::fs::write(
            &config,
            format!(
                "[moderation]\nenabled = {moderation}\n\
                 [spam]\nposts_per_ip = 4000000000\nposts_per_thread = 4000000000\n\
                 posts_global = 4000000000\nduplicate_days = 0\n"
            ),
        )
        .expect("write kiln.toml");
        let db_arg = match db.location() {
            Location::Sqlite(path) => path.to_str().expect("UTF-8 path").to_owned(),
            Location::Postgres { url, .. } => url.to_owned(),
        };
        let mut child = Command::new(kiln)
            .args(["serve", "--listen", "127.0.0.1:0", "--origin", ORIGIN])
            .arg("--config")
            .arg(&config)
            .args(["--db", &db_arg])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kiln serve");
        let stdout = child.stdout.take().expect("stdout");
        let process = Process(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            // Drained to the end, so the receiver never blocks on its log.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(at) = line.find("listening on http://") {
                        let url = line[at + "listening on ".len()..]
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        let _ = tx.send(url);
                        sent = true;
                    }
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("kiln serve reports its address within 60 s");
        Kiln { process, url }
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Gunicorn running Isso's WSGI app with two workers.
struct Isso {
    process: Process,
    url: String,
}

impl Isso {
    fn start(venv: &Path, work: &Path, db: &Path, moderation: bool) -> Isso {
        let config = work.join("isso.cfg");
        std::fs::write(
            &config,
            format!(
                "[general]\ndbpath = {}\nhost = {ORIGIN}/\n\
                 [moderation]\nenabled = {moderation}\n\
                 [guard]\nenabled = false\n",
                db.display()
            ),
        )
        .expect("write isso.cfg");
        let port = free_port();
        let child = Command::new(venv.join("bin/gunicorn"))
            .args(["--workers", "2", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--log-level", "warning", "isso.run"])
            .env("ISSO_SETTINGS", &config)
            .current_dir(work)
            .stdout(Stdio::null())
            // Isso logs every comment; kept out of the report.
            .stderr(std::fs::File::create(work.join("isso.log")).expect("isso.log"))
            .spawn()
            .expect("start gunicorn");
        let process = Process(child);
        let url = format!("http://127.0.0.1:{port}");
        // Up when both workers answer; each loads Isso on its own.
        let started = Instant::now();
        let client = reqwest::blocking::Client::new();
        loop {
            let up = client
                .get(format!("{url}/info"))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if up && workers(process.pid()).len() == 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "gunicorn did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Isso { process, url }
    }

    /// The master's and each worker's peak RSS.
    fn rss_kb(&self) -> Vec<u64> {
        let mut all = vec![peak_rss_kb(self.process.pid())];
        all.extend(workers(self.process.pid()).into_iter().map(peak_rss_kb));
        all
    }
}

/// The child processes of `pid`.
fn workers(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A venv with Isso and gunicorn from PyPI under target/kiln-bench/, made
/// the way scripts/install-tools makes Isso's (and reused when it has the
/// pinned versions).
fn isso_venv(root: &Path) -> PathBuf {
    let venv = root.join("target/kiln-bench/isso-venv");
    let python = venv.join("bin/python");
    let frozen = Command::new(&python)
        .args(["-m", "pip", "freeze"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let has = |pin: &str| frozen.lines().any(|l| l == pin);
    let isso = format!("isso=={ISSO_VERSION}");
    let gunicorn = format!("gunicorn=={GUNICORN_VERSION}");
    if !has(&isso) || !has(&gunicorn) {
        eprintln!("pip install {isso} {gunicorn} (in {})", venv.display());
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("run python3 -m venv");
        assert!(made.success(), "python3 -m venv {} failed", venv.display());
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args([&isso, &gunicorn])
            .status()
            .expect("run pip");
        assert!(installed.success(), "pip install {isso} {gunicorn} failed");
    }
    venv
}

/// Peak resident set (VmHWM) of `pid`, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The CPU, cores, memory and load, for the record.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    format!(
        "machine: {cpu}, {cores} cores, {:.1} GiB; load average {}",
        mem_kb as f64 / 1024.0 / 1024.0,
        load_average()
    )
}

/// Stores `count` published comments on the big thread through the store's
/// import path; returns the newest one's id.
fn seed_big_thread(db: &TestDb, count: usize) -> i64 {
    let comments = (0..count)
        .map(|i| comment(format!("big-{i}"), i as i64))
        .collect();
    let batch = ImportBatch {
        source: "bench".to_owned(),
        site: kiln_receiver::store::DEFAULT_SITE.to_owned(),
        threads: vec![ImportThread {
            key: BIG_THREAD.to_owned(),
            url: format!("{ORIGIN}{BIG_THREAD}"),
            title: "Big".to_owned(),
            comments,
        }],
        spill: None,
    };
    let mut store = db.open(Mode::ReadWrite);
    let outcome = store
        .import_batch(&batch, true)
        .expect("seed the big thread");
    assert_eq!(outcome.added.len(), count, "the big thread's seed");
    outcome.added.iter().map(|(_, id)| *id).max().unwrap_or(0)
}

/// Grows the store from `from` to `to` comments, on threads of 1,000, in
/// transactions of 50,000.
fn seed(db: &TestDb, from: usize, to: usize) {
    const PER_THREAD: usize = 1000;
    const PER_BATCH: usize = 50_000;
    let mut store = db.open(Mode::ReadWrite);
    let mut at = from;
    while at < to {
        let end = (at + PER_BATCH).min(to);
        let mut threads: BTreeMap<usize, Vec<ImportComment>> = BTreeMap::new();
        for i in at..end {
            threads
                .entry(i / PER_THREAD)
                .or_default()
                .push(comment(format!("seed-{i}"), i as i64));
        }
        let batch = ImportBatch {
            source: "bench".to_owned(),
            site: kiln_receiver::store::DEFAULT_SITE.to_owned(),
            threads: threads
                .into_iter()
                .map(|(t, comments)| ImportThread {
                    key: format!("/posts/seed-{t}/"),
                    url: format!("{ORIGIN}/posts/seed-{t}/"),
                    title: format!("Seed {t}"),
                    comments,
                })
                .collect(),
            spill: None,
        };
        let outcome = store.import_batch(&batch, true).expect("seed the store");
        assert_eq!(outcome.added.len(), end - at, "seeded comments");
        at = end;
    }
}

fn comment(source_id: String, n: i64) -> ImportComment {
    ImportComment {
        source_id,
        parent: None,
        id: None,
        status: Status::Approved,
        created_at: 1_700_000_000 + n,
        fields: ImportFields {
            author: format!("Reader {}", n % 5000),
            email: Some(format!("reader{}@bench.example", n % 5000)),
            website: None,
            text: TEXT.to_owned(),
            remote_addr: None,
            avatar: None,
        }
        .into(),
    }
}

/// How many comments kiln's `/api/comments` shows for the big thread.
fn count_kiln_thread(url: &str) -> usize {
    let json: Value =
        reqwest::blocking::get(format!("{url}/api/comments?thread={}", enc(BIG_THREAD)))
            .and_then(|r| r.json())
            .expect("read the big thread from kiln");
    json["comments"].as_array().map_or(0, Vec::len)
}

/// How many comments Isso shows for the big thread.
fn count_isso_thread(url: &str) -> usize {
    let json: Value = reqwest::blocking::get(format!("{url}/?uri={}", enc(BIG_THREAD)))
        .and_then(|r| r.json())
        .expect("read the big thread from Isso");
    json["replies"].as_array().map_or(0, Vec::len)
}

/// The PostgreSQL server the scratch databases go on: `BENCH_DATABASE_URL`,
/// `KILN_TEST_DATABASE_URL`, or a throwaway cluster with fsync on, started
/// here and stopped on drop.
struct Cluster {
    started: Option<PathBuf>,
}

impl Cluster {
    fn get(root: &Path) -> Cluster {
        if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
            std::env::set_var("KILN_TEST_DATABASE_URL", url);
            return Cluster { started: None };
        }
        if std::env::var_os("KILN_TEST_DATABASE_URL").is_some() {
            eprintln!("PostgreSQL: KILN_TEST_DATABASE_URL (scripts/pg-cluster runs it with fsync off; BENCH_DATABASE_URL for one with fsync on)");
            return Cluster { started: None };
        }
        let script = root.join("scripts/pg-cluster");
        eprintln!("KILN_PG_DURABLE=1 scripts/pg-cluster start");
        let out = Command::new(&script)
            .arg("start")
            .env("KILN_PG_DURABLE", "1")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/pg-cluster");
        assert!(out.status.success(), "scripts/pg-cluster start failed");
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find(|l| l.starts_with("postgres"))
            .expect("scripts/pg-cluster prints the URL")
            .trim()
            .to_owned();
        std::env::set_var("KILN_TEST_DATABASE_URL", url);
        Cluster {
            started: Some(script),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(script) = &self.started {
            let _ = Command::new(script).arg("stop").status();
        }
    }
}
