//! Durability under crashes, with real processes and `kill -9`: a receiver
//! killed again and again while many clients post keeps every comment it
//! acknowledged, exactly once, and a database that checks out; a bake
//! killed at any moment leaves every page whole (the old bytes or the new),
//! and the next bake finishes the job and leaves no temp file behind.
//!
//! The receiver's body takes how to start the receiver and how to look
//! into its database, so a PostgreSQL arm can run it unchanged.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::support::*;

/// The site the posters comment on.
const ORIGIN: &str = "https://blog.example";

/// Every limit that would refuse a flood from one address, lifted: the
/// test is about crashes, not about abuse.
const LIFTED: &[(&str, &str)] = &[
    ("KILN_SPAM_POSTS_PER_IP", "1000000"),
    ("KILN_SPAM_POSTS_PER_THREAD", "1000000"),
    ("KILN_SPAM_POSTS_GLOBAL", "1000000"),
    ("KILN_SPAM_DUPLICATE_DAYS", "0"),
];

/// A number below `n` that no run can predict.
fn random_below(n: usize) -> usize {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    (hasher.finish() % n as u64) as usize
}

/// Where the posters send their comments: the running receiver's URL, or
/// `None` while it is down (they wait on the condvar, not in a sleep).
#[derive(Default)]
struct Target {
    url: Mutex<Option<String>>,
    changed: Condvar,
}

impl Target {
    fn set(&self, url: Option<String>) {
        *self.url.lock().unwrap() = url;
        self.changed.notify_all();
    }

    /// The receiver's URL once there is one; `None` once `stop` is set.
    fn wait(&self, stop: &AtomicBool) -> Option<String> {
        let mut url = self.url.lock().unwrap();
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(url) = url.as_ref() {
                return Some(url.clone());
            }
            url = self
                .changed
                .wait_timeout(url, Duration::from_millis(200))
                .unwrap()
                .0;
        }
    }
}

/// What the posters sent and what the receivers acknowledged.
#[derive(Default)]
struct Ledger {
    /// Every token posted, answered or not.
    sent: Mutex<Vec<String>>,
    /// Tokens acknowledged (201 or 303), with the id a JSON answer named.
    acknowledged: Mutex<Vec<(String, Option<i64>)>>,
    count: AtomicUsize,
    /// Answers that were neither an acknowledgement nor a lost connection.
    refused: Mutex<Vec<String>>,
}

/// One poster: form and JSON posts in turn, each with a unique token in its
/// text, until `stop`.
fn poster(n: usize, target: &Target, ledger: &Ledger, stop: &AtomicBool) {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let thread = format!("/posts/p{}/", n % 3);
    let page = format!("{ORIGIN}{thread}");
    for i in 0.. {
        let Some(url) = target.wait(stop) else { return };
        let token = format!("tok-{n}-{i}");
        let text = format!("durability {token} end");
        ledger.sent.lock().unwrap().push(token.clone());
        let request = client.post(format!("{url}/comments"));
        let json = i % 2 == 1;
        let request = if json {
            request.json(&serde_json::json!({
                "thread": thread, "url": page, "name": format!("poster {n}"), "text": text,
            }))
        } else {
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_body(&[
                    ("thread", &thread),
                    ("url", &page),
                    ("name", &format!("poster {n}")),
                    ("text", &text),
                ]))
        };
        // A connection refused, reset or cut by the kill: not acknowledged.
        let Ok(response) = request.send() else {
            continue;
        };
        let status = response.status().as_u16();
        let Ok(body) = response.text() else { continue };
        match status {
            201 if json => {
                let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
                let id = answer["comment"]["id"]
                    .as_i64()
                    .expect("a 201 names the id");
                ledger.acknowledged.lock().unwrap().push((token, Some(id)));
            }
            303 if !json => ledger.acknowledged.lock().unwrap().push((token, None)),
            _ => {
                ledger
                    .refused
                    .lock()
                    .unwrap()
                    .push(format!("{token}: {status} {body}"));
                continue;
            }
        }
        ledger.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// The body every backend runs: `start` starts a receiver on the same
/// database each time it is called; `db` looks into that database. Several
/// posters post while the receiver is killed with SIGKILL `kills` times at
/// random moments and started again; then every acknowledged comment is in
/// the database exactly once (and under the id its answer named), and no
/// comment is there twice or without having been sent.
pub fn acknowledged_comments_survive_kill_9(
    start: &dyn Fn() -> Receiver,
    db: &TestDb,
    kills: usize,
) {
    const POSTERS: usize = 8;
    let target = Arc::new(Target::default());
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));

    let mut receiver = start();
    target.set(Some(receiver.url.clone()));
    let posters: Vec<_> = (0..POSTERS)
        .map(|n| {
            let (target, ledger, stop) = (target.clone(), ledger.clone(), stop.clone());
            std::thread::spawn(move || poster(n, &target, &ledger, &stop))
        })
        .collect();

    for kill in 0..=kills {
        // A random moment: after between 5 and 60 more acknowledgements.
        let goal = ledger.count.load(Ordering::SeqCst) + 5 + random_below(56);
        eventually(
            &format!("{goal} acknowledged posts before kill {kill}"),
            Duration::from_secs(15),
            || {
                let refused = ledger.refused.lock().unwrap();
                assert!(refused.is_empty(), "posts were refused: {refused:?}");
                (ledger.count.load(Ordering::SeqCst) >= goal).then_some(())
            },
        );
        // The posters keep posting into the kill; their requests in flight
        // are cut, and they wait for the next receiver.
        receiver.kill_9();
        target.set(None);
        if kill == kills {
            break;
        }
        receiver = start();
        target.set(Some(receiver.url.clone()));
    }
    stop.store(true, Ordering::SeqCst);
    target.set(None);
    for poster in posters {
        poster.join().expect("a poster panicked");
    }

    let refused = ledger.refused.lock().unwrap();
    assert!(refused.is_empty(), "posts were refused: {refused:?}");
    let sent = ledger.sent.lock().unwrap();
    let acknowledged = ledger.acknowledged.lock().unwrap();
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for row in db.rows("SELECT id, text FROM comments", &[]) {
        let text = row[1].text();
        let token = text
            .strip_prefix("durability ")
            .and_then(|t| t.strip_suffix(" end"))
            .unwrap_or_else(|| panic!("a comment nobody posted: {text:?}"));
        stored
            .entry(token.to_owned())
            .or_default()
            .push(row[0].int());
    }
    for (token, ids) in &stored {
        assert!(sent.contains(token), "stored but never sent: {token}");
        assert_eq!(ids.len(), 1, "{token} is stored {} times", ids.len());
    }
    for (token, id) in acknowledged.iter() {
        let ids = stored
            .get(token)
            .unwrap_or_else(|| panic!("{token} was acknowledged, then lost to kill -9"));
        if let Some(id) = id {
            assert_eq!(ids, &[*id], "{token} is stored under another id");
        }
    }
    eprintln!(
        "{} posts sent, {} acknowledged, {} stored, over {} kills",
        sent.len(),
        acknowledged.len(),
        stored.len(),
        kills
    );
    assert!(acknowledged.len() > kills * 5, "the load was too light");
}

/// On the run's backend (KILN_TEST_BACKEND): every acknowledged comment is
/// stored exactly once however often the receiver is killed; on SQLite the
/// file is also checked for damage.
#[test]
fn acknowledged_comments_survive_repeated_kill_9_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::fresh(tmp.path());
    let start = || {
        Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin: ORIGIN,
            token: None,
            extra_env: LIFTED,
        })
    };
    acknowledged_comments_survive_kill_9(&start, db.peek(), 5);
    if db.peek().kind() == "sqlite" {
        // The file as the last kill left it, opened afresh.
        assert_eq!(
            peek(&Db::sqlite(db.arg())).query_text("PRAGMA integrity_check", &[]),
            "ok",
            "the database is damaged"
        );
    }
}

/// Pages in the site the bake is killed over.
const PAGES: usize = 400;

/// An export (the format `kiln export` writes) with one thread per page,
/// each comment's text naming `version`.
fn export(dir: &Path, version: &str, comments: usize) -> String {
    use kiln_bake::export::{Comment, CommentStatus, Export, Thread};
    let threads = (0..PAGES)
        .map(|i| Thread {
            id: format!("/p{i}/"),
            url: format!("{ORIGIN}/p{i}/"),
            comments: (1..=comments as i64)
                .map(|n| Comment {
                    // Ids are unique across threads.
                    id: (i * comments) as i64 + n,
                    parent: None,
                    status: CommentStatus::Approved,
                    author: format!("Reader {n}"),
                    website: None,
                    text: format!("The {version} comment {n} on page {i}."),
                    created_at: "2026-11-23T10:00:00Z".to_owned(),
                    avatar: None,
                    gravatar: None,
                    likes: 0,
                    verified: false,
                    html: None,
                })
                .collect(),
        })
        .collect();
    let path = dir.join(format!("{version}.json"));
    std::fs::write(&path, serde_json::to_vec(&Export::new(threads)).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Writes the built site: `PAGES` pages, each with a thread placeholder.
fn build_site(root: &Path) {
    let filler =
        "<p>Some words of the post, long enough to take a moment to write.</p>\n".repeat(40);
    for i in 0..PAGES {
        let dir = root.join(format!("p{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            format!(
                "<!doctype html><html><head><title>Post {i}</title></head><body>\n\
                 <h1>Post {i}</h1>\n{filler}<div data-kiln-thread></div>\n</body></html>\n"
            ),
        )
        .unwrap();
    }
}

/// `kiln bake` from `from` into `site`, as a command to run or spawn.
fn bake_command(dir: &Path, site: &Path, from: &str, state: &Path) -> Command {
    let mut cmd = kiln_cmd(dir);
    cmd.args(["bake", "--quiet", "--from", from, "--site-url", ORIGIN])
        .args(["--receiver-url", "https://comments.example", "--state"])
        .arg(state)
        .arg(site)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Every file under `site` by its path relative to it. A bake may be
/// running: a file that is gone by the time it is read (a temp file
/// renamed) was not there.
fn pages(site: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(root, &path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(path.strip_prefix(root).unwrap().to_owned(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(site, site, &mut out);
    out
}

/// The pages a bake from `from` that runs to its end makes of the site.
fn baked_to_the_end(dir: &Path, from: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    let site = dir.join(format!("reference-{}", random_below(1 << 30)));
    build_site(&site);
    let state = site.with_extension("state");
    run_bake(bake_command(dir, &site, from, &state));
    pages(&site)
}

/// Runs a bake to its end, and insists that it succeeded.
fn run_bake(mut bake: Command) {
    let out = bake.stderr(Stdio::piped()).output().unwrap();
    assert!(
        out.status.success(),
        "kiln bake failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bake_killed_at_random_moments_leaves_whole_pages_and_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (old_from, new_from) = (export(dir, "old", 1), export(dir, "new", 2));
    let old = baked_to_the_end(dir, &old_from);
    let new = baked_to_the_end(dir, &new_from);
    let html: Vec<_> = old
        .keys()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    assert_eq!(html.len(), PAGES);
    assert!(html.iter().all(|page| new[*page] != old[*page]));

    let site = dir.join("public");
    build_site(&site);
    let state = dir.join("bake.state");
    run_bake(bake_command(dir, &site, &old_from, &state));
    assert_eq!(pages(&site), old);

    let (mut killed_midway, mut temps_left) = (0, 0);
    for round in 0..8 {
        // Back and forth between the two versions, so every bake has every
        // page to rewrite.
        let (from, to) = if round % 2 == 0 {
            (&new_from, &new)
        } else {
            (&old_from, &old)
        };
        let mut bake = bake_command(dir, &site, from, &state).spawn().unwrap();
        // A random moment: once a random number of pages are rewritten.
        let goal = random_below(PAGES);
        let finished = eventually(
            &format!("the bake to rewrite {goal} pages"),
            Duration::from_secs(20),
            || {
                if bake.try_wait().unwrap().is_some() {
                    return Some(true);
                }
                let done = pages(&site)
                    .iter()
                    .filter(|(page, bytes)| to.get(*page) == Some(*bytes))
                    .count();
                (done >= goal).then_some(false)
            },
        );
        bake.kill().unwrap();
        bake.wait().unwrap();
        killed_midway += usize::from(!finished);
        // No torn page: each is all the old bytes or all the new ones.
        for (page, bytes) in pages(&site) {
            if page
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .contains(".kiln-tmp-")
            {
                temps_left += 1;
                // The page being written when the kill came; the next bake
                // removes it.
                continue;
            }
            assert!(
                *bytes == old[&page] || *bytes == new[&page],
                "round {round}: {} is torn",
                page.display()
            );
        }
    }
    eprintln!("{killed_midway} of 8 bakes killed midway, {temps_left} temp files left by them");
    assert!(killed_midway > 0, "no bake was killed before it finished");

    // The next bake finishes the job, and leaves nothing of its own behind.
    run_bake(bake_command(dir, &site, &new_from, &state));
    assert_eq!(
        pages(&site),
        new,
        "the bake after the kills did not finish the job"
    );
}
