//! Shared helpers for the end-to-end tests: run the real `kiln` binary, start
//! a real receiver on port 0 and wait until it says where it listens, find
//! the real static site generators, and read the real database: an SQLite
//! file, or with `KILN_TEST_BACKEND=postgres` a PostgreSQL database of the
//! test's own (see [`Db`]).

pub mod browser;
pub mod hooks;
pub mod mail;
mod sites;
pub mod themed;

pub use sites::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use kiln_receiver::store::testing::TestDb;

pub const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// The repository root (where `examples/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tools must be present in CI (and whenever KILN_REQUIRE_TOOLS is set); a
/// developer without them is told which test did not run.
pub fn tools_required() -> bool {
    std::env::var_os("KILN_REQUIRE_TOOLS").is_some() || std::env::var_os("CI").is_some()
}

/// Finds a tool on PATH (or at the path in `override_var`), or explains why not.
pub fn find_tool(name: &str, override_var: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(override_var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The tool, or `None` after printing why the calling test does nothing.
/// Panics instead when tools are required.
pub fn require_tool(name: &str, override_var: &str) -> Option<PathBuf> {
    match find_tool(name, override_var) {
        Some(p) => Some(p),
        None if tools_required() => {
            panic!("{name} is required but not installed; run scripts/test, which installs it")
        }
        None => {
            eprintln!("NOTICE: {name} not found; this test did not run. scripts/test installs it.");
            None
        }
    }
}

/// Polls `check` until it answers `Some` (or `Ok`), and returns that. Waits
/// grow from 5 ms to 100 ms, so a fast condition costs little and a slow one
/// does not spin. Panics naming `what` once `timeout` has passed without an
/// answer, with what the last `Err` said, if the check says what it saw.
pub fn eventually<T, A: Answer<T>>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> A,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        let seen = match check().into_result() {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        if std::time::Instant::now() >= deadline {
            let seen = if seen.is_empty() {
                seen
            } else {
                format!("; last seen: {seen}")
            };
            panic!("timed out after {timeout:?} waiting for {what}{seen}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// What a check given to [`eventually`] answers: `Some` or `Ok` once the
/// wait is over; until then `None`, or an `Err` saying what it saw instead,
/// for the message if the wait times out.
pub trait Answer<T> {
    fn into_result(self) -> Result<T, String>;
}

impl<T> Answer<T> for Option<T> {
    fn into_result(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

impl<T> Answer<T> for Result<T, String> {
    fn into_result(self) -> Result<T, String> {
        self
    }
}

/// The system clock in whole seconds since the epoch, the unit the receiver
/// counts a form token's age in.
pub fn clock_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// Waits until [`clock_seconds`] reads `second` or later.
pub fn wait_for_clock(second: u64) {
    let what = format!("the clock to reach second {second}");
    let timeout = Duration::from_secs(second.saturating_sub(clock_seconds()) + 5);
    eventually(&what, timeout, || (clock_seconds() >= second).then_some(()));
}

/// Runs `kiln` with arguments in `dir`, with no stray KILN_* configuration.
pub fn kiln(dir: &Path, args: &[&str]) -> Output {
    kiln_cmd(dir).args(args).output().expect("run kiln")
}

pub fn kiln_cmd(dir: &Path) -> Command {
    program_cmd(Path::new(KILN), dir)
}

/// `program` (a kiln binary, or what runs one) in `dir`, with none of this
/// process's KILN_* settings, as `kiln_cmd` runs the kiln under test.
pub fn program_cmd(program: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("KILN_") && k != "KILN_REQUIRE_TOOLS" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `kiln` and insists that it succeeded; returns its stdout.
pub fn kiln_ok(dir: &Path, args: &[&str]) -> String {
    kiln_ok_env(dir, &[], args)
}

/// `kiln_ok` with these `KILN_*` variables set.
pub fn kiln_ok_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = kiln_cmd(dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run kiln");
    assert!(
        out.status.success(),
        "kiln {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The variable that picks the backend every test's database is on:
/// `sqlite` (the default) or `postgres`.
const BACKEND_VAR: &str = "KILN_TEST_BACKEND";

/// Whether this run's tests put their databases on PostgreSQL.
pub fn on_postgres() -> bool {
    match std::env::var(BACKEND_VAR).as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => false,
        Ok("postgres") => true,
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: say `sqlite` or `postgres`"),
    }
}

/// The database a test's receiver and commands use, on the backend this run
/// tests (`KILN_TEST_BACKEND`): what `--db` names, and what a test peeks
/// into. Clones share one database; a PostgreSQL one is dropped with the
/// last of them.
#[derive(Debug, Clone)]
pub struct Db {
    test: TestDb,
    /// `--db`'s value: the file's path or the database's URL.
    arg: String,
}

impl Db {
    /// A new, empty database for one test: `kiln.sqlite3` in `dir`, or a
    /// scratch database on the PostgreSQL server `KILN_TEST_DATABASE_URL`
    /// names (scripts/test starts one) when this run tests PostgreSQL.
    pub fn fresh(dir: &Path) -> Db {
        if !on_postgres() {
            return Db::sqlite(dir.join("kiln.sqlite3"));
        }
        Db::postgres().unwrap_or_else(|| {
            panic!("{BACKEND_VAR}=postgres needs a server in KILN_TEST_DATABASE_URL; run scripts/test, or start one with scripts/pg-cluster")
        })
    }

    /// A new, empty PostgreSQL database whatever the run's backend, for
    /// tests of what only PostgreSQL does (several receivers on one
    /// database). `None`, after saying which test did not run, when
    /// KILN_TEST_DATABASE_URL names no server; a failure instead when this
    /// run tests PostgreSQL (`KILN_TEST_BACKEND=postgres`) or requires its
    /// tools (KILN_REQUIRE_TOOLS, CI).
    pub fn postgres() -> Option<Db> {
        let test = match TestDb::postgres() {
            Some(test) => test,
            None if on_postgres() => {
                panic!("{BACKEND_VAR}=postgres needs a server in KILN_TEST_DATABASE_URL; run scripts/test, or start one with scripts/pg-cluster")
            }
            None => return None,
        };
        let arg = match test.location() {
            kiln_receiver::store::Location::Postgres { url, .. } => url.to_owned(),
            kiln_receiver::store::Location::Sqlite(_) => unreachable!("a PostgreSQL TestDb"),
        };
        Some(Db { test, arg })
    }

    /// The SQLite file at `path`, whatever the run's backend: for tests
    /// about the file itself, which say why they are SQLite-only.
    pub fn sqlite(path: impl Into<PathBuf>) -> Db {
        let path = path.into();
        let arg = path.to_str().expect("a UTF-8 temporary path").to_owned();
        Db {
            test: TestDb::sqlite(path),
            arg,
        }
    }

    /// What `--db` (or `bake --from`) takes to reach this database.
    pub fn arg(&self) -> &str {
        &self.arg
    }

    /// The store's test seam on this database, for peeks.
    pub fn peek(&self) -> &TestDb {
        &self.test
    }
}

/// A `kiln serve` process on a free port.
pub struct Receiver {
    child: Child,
    pub url: String,
    pub db: Db,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub struct ReceiverOptions<'a> {
    pub dir: &'a Path,
    pub db: &'a Db,
    pub origin: &'a str,
    pub token: Option<&'a str>,
    pub extra_env: &'a [(&'a str, &'a str)],
}

impl Receiver {
    pub fn start(opts: ReceiverOptions) -> Receiver {
        let mut cmd = kiln_cmd(opts.dir);
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--origin",
            opts.origin,
            "--db",
        ])
        .arg(opts.db.arg())
        .env("KILN_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if let Some(token) = opts.token {
            cmd.env("KILN_SERVER_EXPORT_TOKEN", token);
        }
        for (k, v) in opts.extra_env {
            cmd.env(k, v);
        }
        Receiver::launch(cmd, opts.db)
    }

    /// Runs `cmd`, a `kiln serve` set up by the caller (another kiln binary,
    /// as a container image or a Debian package has it, or one run through
    /// chroot), and waits until it logs the address it listens on.
    pub fn launch(mut cmd: Command, db: &Db) -> Receiver {
        cmd.stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("start kiln serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            let mut sent = false;
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
                // Keep draining so the receiver never blocks on a full pipe.
                eprintln!("[receiver] {line}");
                kept.lock().unwrap().push(line);
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("kiln serve did not report its address within 30 s");
            }
        };
        Receiver {
            child,
            url,
            db: db.clone(),
            logs,
        }
    }

    /// Everything the receiver has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Asks the receiver to stop, as a service manager or a rolling restart
    /// does: SIGTERM. See `exited` and `wait_for_exit`.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {}", self.child.id());
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("check the receiver")
    }

    /// Waits for the process to end (after `terminate`) and reaps it.
    pub fn wait_for_exit(mut self) -> std::process::ExitStatus {
        eventually("the receiver exits", Duration::from_secs(30), || {
            self.exited()
        })
    }

    /// Ends the process the hard way, as a crash would.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL the receiver");
        self.child.wait().expect("reap the receiver");
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A receiver for pages on `origin`, on a fresh database (see
/// [`Db::fresh`]) in a fresh directory.
pub fn fresh_receiver(origin: &str, extra_env: &[(&str, &str)]) -> (tempfile::TempDir, Receiver) {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::fresh(tmp.path());
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin,
        token: None,
        extra_env,
    });
    (tmp, receiver)
}

/// A blocking HTTP client that does not follow redirects, so tests see the 303.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Percent-encodes form fields the way a browser does.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Posts a form as a browser would and returns (status, Location, body).
pub fn post_form(receiver: &Receiver, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let resp = http()
        .post(format!("{}/comments", receiver.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields))
        .send()
        .expect("POST /comments");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, resp.text().unwrap())
}

/// Follows where a no-JS post landed: a `303` to the receiver's "thank you"
/// page (`/posted/TOKEN`), which must offer the private edit link. Returns
/// the page's "Back to the page" link and the edit link.
pub fn landing(receiver: &Receiver, location: Option<&str>) -> (String, String) {
    let location = location.expect("a 303 names where it goes");
    assert!(
        location.starts_with(&format!("{}/posted/", receiver.url)),
        "the post lands on the receiver's thank-you page: {location}"
    );
    let resp = http().get(location).send().expect("GET the thank-you page");
    assert_eq!(resp.status().as_u16(), 200, "{location}");
    assert_eq!(
        resp.headers()
            .get("referrer-policy")
            .map(|v| v.to_str().unwrap()),
        Some("no-referrer"),
        "a page with a private link sends no Referer"
    );
    let policy = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "the receiver's pages run no script and cannot be framed: {policy}"
    );
    let html = resp.text().unwrap();
    let href_before = |text: &str| {
        let at = html
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} on the thank-you page:\n{html}"));
        let start = html[..at].rfind("href=\"").expect("a link") + "href=\"".len();
        let end = start + html[start..].find('"').unwrap();
        kiln_bake::inject::decode_attribute(&html[start..end])
    };
    let back = href_before(">Back to the page<");
    let edit = href_before(">edit or delete your comment<");
    (back, edit)
}

/// Posts a page's baked form with JavaScript off, with an address the
/// browser takes (type=email) but the receiver refuses, and returns the
/// error summary of the receiver's page it lands on.
pub fn post_refused_email(
    browser: &browser::Browser,
    receiver: &Receiver,
    (text, name, email): (&str, &str, &str),
) -> String {
    browser.fill("textarea[name=text]", text).unwrap();
    browser.fill("input[name=name]", name).unwrap();
    browser.fill("input[name=email]", email).unwrap();
    browser
        .submit("form.kiln-form button[type=submit]")
        .unwrap();
    assert!(
        browser.current_url().unwrap().starts_with(&receiver.url),
        "on the receiver's error page"
    );
    browser.text(".kiln-error-summary").unwrap()
}

/// From the receiver's "thank you" page, where a no-JS post lands, back to
/// the page by its link.
pub fn back_to_the_page(browser: &browser::Browser, receiver: &Receiver) {
    let at = browser.current_url().unwrap();
    assert!(
        at.starts_with(&format!("{}/posted/", receiver.url)),
        "the post landed on the thank-you page: {at}"
    );
    browser.submit("a.kiln-back").unwrap();
}

/// The password [`admin_login`] sets, for logging in with a browser too.
pub const ADMIN_PASSWORD: &str = "an admin password for tests";

/// Sets an admin password with `kiln admin set-password` (on stdin, as a
/// person would) and logs in over HTTP as the login form does; returns the
/// session cookie's value.
pub fn admin_login(receiver: &Receiver, dir: &Path) -> String {
    use std::io::Write;
    let password = ADMIN_PASSWORD;
    let mut child = kiln_cmd(dir)
        .args(["--db", receiver.db.arg(), "admin", "set-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success(), "kiln admin set-password");
    admin_login_with(receiver, &[("password", password)])
}

/// Logs in over HTTP as the login form does, with its `fields` (the
/// `password`, and a named moderator's `moderator`); returns the session
/// cookie's value.
pub fn admin_login_with(receiver: &Receiver, fields: &[(&str, &str)]) -> String {
    let login = http()
        .post(format!("{}/admin/login", receiver.url))
        .form(fields)
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 303, "logged in");
    login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find_map(|c| {
            c.strip_prefix("kiln_admin=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .expect("a session cookie")
}

/// The admin page's HTML, for the session `cookie`.
pub fn admin_page(receiver: &Receiver, cookie: &str) -> String {
    http()
        .get(format!("{}/admin", receiver.url))
        .header("cookie", format!("kiln_admin={cookie}"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// A POST to the admin page from outside a browser, with the given cookie.
pub fn admin_post(receiver: &Receiver, path: &str, cookie: &str, body: &str) -> u16 {
    http()
        .post(format!("{}{path}", receiver.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("kiln_admin={cookie}"))
        .body(body.to_owned())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The value of the first `name="NAME" value="…"` in a page.
pub fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..][..html[start..].find('"').unwrap()].to_owned()
}

/// The receiver's database as tests may look into it: through the store's
/// test seam, never through a driver, so the peeks stay backend-neutral.
pub fn peek(db: &Db) -> TestDb {
    db.peek().clone()
}

/// Counts rows in the receiver's database (`table` may carry a `WHERE`).
pub fn count_rows(db: &Db, table: &str) -> i64 {
    peek(db).count_rows(table)
}

/// The texts of the stored comments that start with `prefix`, after
/// checking that each is stored once and that every text in `acknowledged`
/// is among them: what a test under load asserts of the posts it was
/// answered 303 for.
pub fn stored_once<'a>(
    db: &Db,
    prefix: &str,
    acknowledged: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeSet<String> {
    let counted: Vec<(String, i64)> = peek(db)
        .rows(
            "SELECT text, count(*) FROM comments WHERE text LIKE $1 || '%' GROUP BY text",
            &[prefix.into()],
        )
        .iter()
        .map(|row| (row[0].text(), row[1].int()))
        .collect();
    let twice: Vec<_> = counted.iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let stored: std::collections::BTreeSet<String> =
        counted.into_iter().map(|(text, _)| text).collect();
    let missing: Vec<&str> = acknowledged
        .into_iter()
        .filter(|text| !stored.contains(*text))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    stored
}

/// The test venv's Python (or `KILN_PYTHON`) when it can import `module`,
/// or `None` after saying why the test does nothing; a panic where tools
/// are required.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = std::env::var_os("KILN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("venv").join("bin").join("python"));
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if tools_required() {
        panic!(
            "{module} is required but {} cannot import it; run scripts/install-tools",
            python.display()
        );
    }
    eprintln!(
        "NOTICE: {module} not found; this test did not run. scripts/install-tools installs it."
    );
    None
}

/// Builds `examples/<name>` with Hugo into `dest`. `None` if Hugo is absent
/// and not required.
pub fn hugo_build(example: &str, dest: &Path) -> Option<()> {
    let hugo = require_tool("hugo", "KILN_HUGO")?;
    let out = Command::new(hugo)
        .arg("--source")
        .arg(repo_root().join("examples").join(example))
        .arg("--destination")
        .arg(dest)
        .arg("--quiet")
        .output()
        .expect("run hugo");
    assert!(
        out.status.success(),
        "hugo failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// Every file under `dir` with its bytes and modification time.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, bytes, mtime)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The HTML files under `dir` whose text contains `needle`, relative to `dir`.
pub fn pages_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits: Vec<String> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .filter(|p| std::fs::read_to_string(p).unwrap().contains(needle))
        .map(|p| {
            p.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    hits.sort();
    hits
}

/// Runs lol_html over `html` with the given handlers, discarding the output:
/// the tests read pages with a real HTML parser, never with string searches.
fn parse(html: &str, settings: lol_html::Settings<'_, '_>) {
    let mut rewriter = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).expect("parse html");
    rewriter.end().expect("parse html");
}

/// The comments on a baked page as (comment id, id of the comment it is
/// nested in).
pub fn comment_nesting(html: &str) -> Vec<(i64, Option<i64>)> {
    use lol_html::{element, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;

    let stack: Rc<RefCell<Vec<i64>>> = Rc::default();
    type Nesting = Vec<(i64, Option<i64>)>;
    let found: Rc<RefCell<Nesting>> = Rc::default();
    {
        let (stack, found) = (stack.clone(), found.clone());
        parse(
            html,
            Settings::new().append_element_content_handler(element!(
                "article[id^='kiln-comment-']",
                move |el| {
                    let id: i64 = el
                        .get_attribute("id")
                        .and_then(|v| v.strip_prefix("kiln-comment-").and_then(|n| n.parse().ok()))
                        .expect("numeric comment id");
                    found
                        .borrow_mut()
                        .push((id, stack.borrow().last().copied()));
                    stack.borrow_mut().push(id);
                    let stack = stack.clone();
                    if let Some(handlers) = el.end_tag_handlers() {
                        let pop: lol_html::EndTagHandler<'static> = Box::new(move |_end| {
                            stack.borrow_mut().pop();
                            Ok(())
                        });
                        handlers.push(pop);
                    }
                    Ok(())
                }
            )),
        );
    }
    let result = found.borrow().clone();
    result
}

/// Serves a built site's files over HTTP on a free loopback port, as a
/// static host would (`/posts/a/` serves `posts/a/index.html`), so the browser
/// sees the baked page at a real http:// origin. Like a host's `_headers`
/// file, it can add headers to every answer (a Content-Security-Policy), and
/// it keeps every report a browser POSTs to [`StaticSite::CSP_REPORTS`].
pub struct StaticSite {
    pub url: String,
    shared: std::sync::Arc<SiteShared>,
}

#[derive(Default)]
struct SiteShared {
    headers: std::sync::Mutex<Vec<(String, String)>>,
    reports: std::sync::Mutex<Vec<String>>,
    beacons: std::sync::Mutex<Vec<String>>,
}

impl StaticSite {
    /// Where browsers may send CSP violation reports (`report-uri`).
    pub const CSP_REPORTS: &'static str = "/csp-reports";
    /// Where a test's own page scripts may POST what they saw
    /// (`navigator.sendBeacon`), from any frame and any origin.
    pub const BEACONS: &'static str = "/beacons";

    pub fn serve(root: &Path) -> StaticSite {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind static site");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let root = root.to_owned();
        let shared = std::sync::Arc::new(SiteShared::default());
        let kept = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (root, shared) = (root.clone(), kept.clone());
                std::thread::spawn(move || serve_one(&root, &shared, stream));
            }
        });
        StaticSite { url, shared }
    }

    /// Sends `name: value` with every answer from now on.
    pub fn add_header(&self, name: &str, value: &str) {
        let mut headers = self.shared.headers.lock().unwrap();
        headers.push((name.to_owned(), value.to_owned()));
    }

    /// The bodies of the reports POSTed to [`StaticSite::CSP_REPORTS`] so far.
    pub fn csp_reports(&self) -> Vec<String> {
        self.shared.reports.lock().unwrap().clone()
    }

    /// The bodies POSTed to [`StaticSite::BEACONS`] so far.
    pub fn beacons(&self) -> Vec<String> {
        self.shared.beacons.lock().unwrap().clone()
    }
}

fn serve_one(root: &Path, shared: &SiteShared, mut stream: std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("GET");
    let path = words.next().unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let kept = match path {
        StaticSite::CSP_REPORTS => Some(&shared.reports),
        StaticSite::BEACONS => Some(&shared.beacons),
        _ => None,
    };
    if let (Some(kept), "POST") = (kept, method) {
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0usize);
        let mut body = vec![0; length.min(1 << 20)];
        if stream.read_exact(&mut body).is_ok() {
            let body = String::from_utf8_lossy(&body).into_owned();
            kept.lock().unwrap().push(body);
        }
        let _ = write!(
            stream,
            "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let mut file = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "..") {
        file.push(part);
    }
    if path.ends_with('/') || file.is_dir() {
        file.push("index.html");
    }
    let (status, body, kind) = match std::fs::read(&file) {
        Ok(body) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css",
                Some("js") => "text/javascript",
                Some("xml") => "application/xml",
                _ => "application/octet-stream",
            };
            ("200 OK", body, kind)
        }
        Err(_) => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let extra: String = shared
        .headers
        .lock()
        .unwrap()
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

/// Every element inside the page's threads as (tag, [(attribute, value)]),
/// read with a real HTML parser, to check that hostile input came out inert.
pub fn thread_elements(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    use lol_html::{element, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;

    type Elements = Vec<(String, Vec<(String, String)>)>;
    let found: Rc<RefCell<Elements>> = Rc::default();
    {
        let found = found.clone();
        parse(
            html,
            Settings::new().append_element_content_handler(element!(
                "[data-kiln-thread] *",
                move |el| {
                    let attrs = el
                        .attributes()
                        .iter()
                        .map(|a| (a.name(), a.value()))
                        .collect();
                    found.borrow_mut().push((el.tag_name(), attrs));
                    Ok(())
                }
            )),
        );
    }
    let result = found.borrow().clone();
    result
}

/// The text inside each element matching `selector`, read with a real parser.
pub fn texts_of(html: &str, selector: &str) -> Vec<String> {
    use lol_html::{element, text, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;

    let found: Rc<RefCell<Vec<String>>> = Rc::default();
    {
        let (starts, texts) = (found.clone(), found.clone());
        parse(
            html,
            Settings::new()
                .append_element_content_handler(element!(selector, move |_| {
                    starts.borrow_mut().push(String::new());
                    Ok(())
                }))
                .append_element_content_handler(text!(selector, move |chunk| {
                    if let Some(last) = texts.borrow_mut().last_mut() {
                        last.push_str(chunk.as_str());
                    }
                    Ok(())
                })),
        );
    }
    let result = found.borrow().iter().map(|t| t.trim().to_owned()).collect();
    result
}

/// The example Hugo site built by the real `hugo`, served over HTTP, with a
/// receiver that accepts comments from it: what a reader's browser meets.
pub struct ServedSite {
    pub tmp: tempfile::TempDir,
    pub public: PathBuf,
    pub site: StaticSite,
    pub db: Db,
    pub receiver: Receiver,
}

impl ServedSite {
    /// `None` when Hugo is missing and not required.
    pub fn start() -> Option<ServedSite> {
        Self::start_with(&[])
    }

    /// As `start`, with `KILN_*` settings for the receiver.
    pub fn start_with(extra_env: &[(&str, &str)]) -> Option<ServedSite> {
        Self::build_and_serve(extra_env, false)
    }

    /// As `start_with`, with the receiver publishing in place to the
    /// served site (`publish.in_place`), looking for changes every 20 ms.
    pub fn in_place(extra_env: &[(&str, &str)]) -> Option<ServedSite> {
        Self::build_and_serve(extra_env, true)
    }

    fn build_and_serve(extra_env: &[(&str, &str)], in_place: bool) -> Option<ServedSite> {
        let tmp = tempfile::tempdir().unwrap();
        let public = tmp.path().join("public");
        hugo_build("hugo", &public)?;
        let mut env = Vec::new();
        if in_place {
            env.push(("KILN_PUBLISH_IN_PLACE", public.to_str().unwrap()));
            env.push(("KILN_PUBLISH_POLL_MS", "20"));
        }
        env.extend_from_slice(extra_env);
        let site = StaticSite::serve(&public);
        let db = Db::fresh(tmp.path());
        let receiver = Receiver::start(ReceiverOptions {
            dir: tmp.path(),
            db: &db,
            origin: &site.url,
            token: None,
            extra_env: &env,
        });
        Some(ServedSite {
            tmp,
            public,
            site,
            db,
            receiver,
        })
    }

    /// As `start`, with a headless Chromium beside it; `None` when either
    /// tool is missing and not required.
    pub fn with_browser(
        options: browser::BrowserOptions,
    ) -> Option<(ServedSite, browser::Browser)> {
        let served = Self::start()?;
        let browser = browser::Browser::start_or_skip(options).unwrap()?;
        Some((served, browser))
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The public URL of a page, e.g. `page("/posts/hello-world/")`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.site.url)
    }

    /// Bakes from `from` (the database when `None`), remembering state in
    /// `state` inside the scratch directory.
    pub fn bake_from(&self, from: Option<&str>, state: &str) -> String {
        self.bake_with_env(&[], from, state)
    }

    /// `bake_from` with configuration from the environment (`KILN_*`).
    pub fn bake_with_env(&self, env: &[(&str, &str)], from: Option<&str>, state: &str) -> String {
        let db = self.db.arg();
        let state = self.dir().join(state);
        let args = [
            "--db",
            db,
            "bake",
            "--from",
            from.unwrap_or(db),
            "--site-url",
            &self.site.url,
            "--receiver-url",
            &self.receiver.url,
            "--state",
            state.to_str().unwrap(),
            self.public.to_str().unwrap(),
        ];
        kiln_ok_env(self.dir(), env, &args)
    }

    /// Runs a moderation command (`approve`, `queue`, ...) on the database.
    pub fn moderate(&self, args: &[&str]) -> String {
        let mut all = vec!["--db", self.db.arg()];
        all.extend_from_slice(args);
        kiln_ok(self.dir(), &all)
    }
}
