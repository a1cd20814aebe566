//! `kiln bake --watch` with the real Hugo: it bakes again after an approval,
//! after Hugo rewrites its output, and after the output directory is deleted
//! and built again, and it never answers its own writes with another bake.
//! In fragments mode it rewrites a thread's fragment after an approval.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

const SITE: &str = "http://127.0.0.1:1313";

/// A running `kiln bake --watch`, with the summary lines it printed (one
/// per bake) and what it said on stderr.
struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    said: Arc<Mutex<Vec<String>>>,
}

/// How long the watch must stay quiet to show that its own writes do not
/// make it bake again: they would, within its 300 ms debounce and one bake.
const QUIET: Duration = Duration::from_secs(1);

impl Watch {
    fn start(dir: &Path, args: &[&str]) -> Watch {
        let mut child = kiln_cmd(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kiln bake --watch");
        let keep = |stream: Box<dyn Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let kept = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[watch] {line}");
                    kept.lock().unwrap().push(line);
                }
            });
            lines
        };
        let lines = keep(Box::new(child.stdout.take().unwrap()));
        let said = keep(Box::new(child.stderr.take().unwrap()));
        Watch { child, lines, said }
    }

    fn bakes(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits until `done` holds and the watch has baked more than `after`
    /// times.
    fn wait(&self, after: usize, what: &str, done: impl Fn() -> bool) {
        eventually(
            &format!("the watch to {what}"),
            Duration::from_secs(30),
            || {
                if self.bakes() > after && done() {
                    Ok(())
                } else {
                    Err(format!(
                        "it printed:\n{}",
                        self.lines.lock().unwrap().join("\n")
                    ))
                }
            },
        )
    }

    /// Waits until the watch has said (on stderr) something containing `text`.
    fn wait_to_say(&self, text: &str) {
        eventually(
            &format!("the watch to say {text:?}"),
            Duration::from_secs(30),
            || {
                let said = self.said.lock().unwrap();
                if said.iter().any(|line| line.contains(text)) {
                    Ok(())
                } else {
                    Err(format!("it said:\n{}", said.join("\n")))
                }
            },
        )
    }

    /// Asserts that nothing makes the watch bake for a while: no loop. The
    /// sleep proves that a bake does not follow.
    fn assert_quiet(&self) {
        let before = self.bakes();
        std::thread::sleep(QUIET);
        assert_eq!(
            self.bakes(),
            before,
            "the watch baked again with nothing changed:\n{}",
            self.lines.lock().unwrap().join("\n")
        );
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post_and_approve(receiver: &Receiver, dir: &Path, thread: &str, text: &str) -> i64 {
    let page = format!("{SITE}{thread}");
    let (status, _, body) = post_form(
        receiver,
        &[("thread", thread), ("url", &page), ("text", text)],
    );
    assert_eq!(status, 303, "{body}");
    let id = count_rows(&receiver.db, "comments");
    let db = receiver.db.arg();
    kiln_ok(dir, &["--db", db, "approve", &id.to_string()]);
    id
}

fn page_has(path: &Path, comment: i64) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|html| html.contains(&format!("id=\"kiln-comment-{comment}\"")))
}

#[test]
fn watch_bakes_after_approvals_and_rebuilds_and_never_after_itself() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let dir = tmp.path();
    let public = dir.join("public");
    let Some(()) = hugo_build("hugo", &public) else {
        return;
    };
    let first = post_and_approve(&receiver, dir, "/posts/hello-world/", "Before the watch.");
    let db = receiver.db.arg();
    let state = dir.join("state.bin");
    let watch = Watch::start(
        dir,
        &[
            "--db",
            db,
            "bake",
            "--watch",
            "--from",
            db,
            "--site-url",
            SITE,
            "--state",
            state.to_str().unwrap(),
            public.to_str().unwrap(),
        ],
    );
    let hello = public.join("posts/hello-world/index.html");
    watch.wait(0, "bake at start", || page_has(&hello, first));
    watch.assert_quiet();

    // An approval reaches the page.
    let bakes = watch.bakes();
    let second = post_and_approve(&receiver, dir, "/posts/hello-world/", "During the watch.");
    watch.wait(bakes, "bake the approval", || page_has(&hello, second));
    watch.assert_quiet();

    // Hugo rewrites every page without comments: they come back.
    let bakes = watch.bakes();
    hugo_build("hugo", &public).unwrap();
    watch.wait(bakes, "bake Hugo's rebuild", || {
        page_has(&hello, first) && page_has(&hello, second)
    });
    watch.assert_quiet();

    // The output directory is deleted, the watch sees it gone, and it is
    // built again.
    let bakes = watch.bakes();
    std::fs::remove_dir_all(&public).unwrap();
    watch.wait_to_say("to be built");
    hugo_build("hugo", &public).unwrap();
    watch.wait(bakes, "bake the recreated output", || {
        page_has(&hello, second)
    });
    watch.assert_quiet();
}

#[test]
fn watch_rewrites_fragments_after_an_approval() {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let dir = tmp.path();
    let first = post_and_approve(&receiver, dir, "/posts/hello-world/", "A first one.");
    let db = receiver.db.arg();
    let fragments = dir.join("fragments");
    let watch = Watch::start(
        dir,
        &[
            "--db",
            db,
            "bake",
            "--watch",
            "--from",
            db,
            "--site-url",
            SITE,
            "--fragments",
            fragments.to_str().unwrap(),
        ],
    );
    let hello = fragments.join(fragment_name("/posts/hello-world/"));
    let other = fragments.join(fragment_name("/posts/second-post/"));
    watch.wait(0, "write fragments at start", || page_has(&hello, first));
    watch.assert_quiet();
    let bakes = watch.bakes();
    let second = post_and_approve(&receiver, dir, "/posts/second-post/", "On another post.");
    watch.wait(bakes, "write the new thread's fragment", || {
        page_has(&other, second)
    });
    watch.assert_quiet();
}
