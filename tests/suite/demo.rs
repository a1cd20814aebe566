//! `kiln demo`, as a newcomer meets it: no config, one process, the example
//! site on 127.0.0.1. In real headless Chromium with JavaScript off they post
//! a comment, approve it in the admin page, reload the page and see it.
//! Also: the site embedded in the binary (`examples/demo-site/`) is what the
//! real Hugo builds from `examples/hugo`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::*;

/// Every file under `dir` by relative path, with Hugo's generator tag (which
/// names the Hugo version) left out.
fn site_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(path, bytes, _)| {
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = String::from_utf8_lossy(&bytes);
            let kept: String = text
                .split_inclusive('\n')
                .filter(|line| !line.contains("<meta name=\"generator\""))
                .collect();
            (relative, kept.into_bytes())
        })
        .collect()
}

#[test]
fn the_embedded_demo_site_is_what_hugo_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hugo) = require_tool("hugo", "KILN_HUGO") else {
        return;
    };
    let out = std::process::Command::new(hugo)
        .arg("--source")
        .arg(repo_root().join("examples/hugo"))
        .arg("--destination")
        .arg(tmp.path())
        .args(["--quiet", "--baseURL", "/"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let built = site_files(tmp.path());
    let embedded = site_files(&repo_root().join("examples/demo-site"));
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        embedded.keys().collect::<Vec<_>>(),
        "examples/demo-site is out of date; rebuild it: \
         hugo --source examples/hugo --destination \"$PWD/examples/demo-site\" --baseURL /"
    );
    for (path, bytes) in &built {
        assert!(
            embedded[path] == *bytes,
            "examples/demo-site/{path} is out of date; rebuild it: \
             hugo --source examples/hugo --destination \"$PWD/examples/demo-site\" --baseURL /"
        );
    }
}

/// A running `kiln demo` and what it printed.
struct Demo {
    child: Child,
    site: String,
    admin: String,
    password: String,
}

impl Demo {
    fn start(dir: &Path) -> Demo {
        let mut child = kiln_cmd(dir)
            .args(["demo", "--site-port", "0", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kiln demo");
        let stdout = child.stdout.take().unwrap();
        let said: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = said.clone();
        // Keeps draining, so the demo never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[demo] {line}");
                kept.lock().unwrap().push(line);
            }
        });
        // What follows `label` at the start of a line the demo printed.
        let printed = |label: &str| {
            let said = said.lock().unwrap();
            said.iter().find_map(|line| {
                let mut words = line.split_whitespace();
                match words.next() {
                    Some(first) if first == label => words.next().map(str::to_owned),
                    _ => None,
                }
            })
        };
        // Dropped, and so killed, should a wait below fail.
        let mut demo = Demo {
            child,
            site: String::new(),
            admin: String::new(),
            password: String::new(),
        };
        // The password comes last.
        demo.password = eventually(
            "the demo to print a password",
            Duration::from_secs(30),
            || printed("password:"),
        );
        demo.site = printed("site:").expect("the demo prints the site's URL");
        demo.admin = printed("admin:").expect("the demo prints the admin page's URL");
        demo
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_newcomer_posts_approves_and_sees_the_comment_without_javascript() {
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false }).unwrap()
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let demo = Demo::start(tmp.path());
    assert!(demo.site.starts_with("http://127.0.0.1:"), "{}", demo.site);
    assert!(
        demo.admin.starts_with("http://127.0.0.1:"),
        "{}",
        demo.admin
    );
    // The whole bundled site was unpacked, and nothing else but the
    // threads' stylesheet and script, which the demo's bake wrote.
    let mut unpacked = site_files(&tmp.path().join("kiln-demo/site"));
    assert!(
        unpacked.remove("kiln.css").is_some(),
        "the bake wrote kiln.css"
    );
    assert!(
        unpacked.remove("kiln.js").is_some(),
        "the bake wrote kiln.js"
    );
    let bundled = site_files(&repo_root().join("examples/demo-site"));
    assert_eq!(
        unpacked.keys().collect::<Vec<_>>(),
        bundled.keys().collect::<Vec<_>>()
    );

    let text = "My first comment through kiln demo.";
    browser.goto(&demo.site).unwrap();
    browser.fill("textarea[name=text]", text).unwrap();
    browser.fill("input[name=name]", "Newcomer").unwrap();
    browser
        .submit("form.kiln-form button[type=submit]")
        .unwrap();
    assert!(
        !browser.source().unwrap().contains(text),
        "held for moderation, not on the page yet"
    );

    browser.goto(&demo.admin).unwrap();
    browser
        .fill("#ka-login input[type=password]", &demo.password)
        .unwrap();
    browser.submit("#ka-login button").unwrap();
    assert!(browser.source().unwrap().contains(text), "in the queue");
    browser.submit("button[value=\"approve:1\"]").unwrap();

    // The in-place bake runs beside the approval, in milliseconds on an
    // idle machine; a reader reloading on a busy one may need a moment.
    let threads = eventually("the comment on the page", Duration::from_secs(20), || {
        browser.goto(&demo.site).unwrap();
        let threads = texts_of(&browser.source().unwrap(), "[data-kiln-thread]").join("\n");
        if threads.contains(text) {
            Ok(threads)
        } else {
            Err(threads)
        }
    });
    assert!(threads.contains("Newcomer"), "{threads}");
}

/// Issue 16: a demo whose port is taken says so and which flags choose
/// others, and leaves nothing behind: no `kiln-demo/site/`.
#[test]
fn a_demo_whose_port_is_busy_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    for flag in ["--port", "--site-port"] {
        let other = if flag == "--port" {
            "--site-port"
        } else {
            "--port"
        };
        let out = kiln(tmp.path(), &["demo", flag, &port, other, "0"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
                && stderr.contains("--site-port and --port"),
            "{flag}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{flag}: left behind {left:?}");
    }
}
