//! Publishing after moderation: whenever what a page shows changes (an
//! approval, unpublish, deletion or edit, from the admin page, a mail link or
//! the command line), the configured strategies run.
//!
//! - **In place**: the receiver re-bakes the deployed site's directory itself,
//!   at once. `kiln_bake::bake` with a state file (kept beside the database)
//!   is the thread→pages map: it re-reads only the pages showing a thread
//!   whose stamp moved, and re-lists only directories whose mtime changed.
//! - **Build hooks**: POSTs to configured URLs, debounced and retried.
//! - **Command**: a shell command, debounced, never two at once.
//!
//! How changes are noticed: every change to what a thread shows bumps the
//! store's change sequence (`Store::change_seq`). One thread watches it:
//! moderation in this process wakes it at once ([`changed`]), and a poll
//! every `publish.poll_ms` catches the CLI, which runs in another process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::{expand_env, Config, Hook, Publish};
use crate::store::{self, Mode, Store};

/// Wakes the publisher in this process right after a change, without waiting
/// for its poll. Called by `crate::moderation` after every change.
pub fn changed() {
    let (count, wake) = &WAKE;
    *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    wake.notify_all();
}

static WAKE: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Waits until [`changed`] is called (after `seen`) or `timeout` passes;
/// returns the new count.
fn wait_for_change(seen: u64, timeout: Duration) -> u64 {
    let (count, wake) = &WAKE;
    let guard = count.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, _) = wake
        .wait_timeout_while(guard, timeout, |n| *n == seen)
        .unwrap_or_else(|p| p.into_inner());
    *guard
}

/// What the admin page shows: each hook's and the command's last run.
#[derive(Debug, Default)]
pub struct Status {
    runs: Mutex<BTreeMap<String, LastRun>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// `hook` or `command`.
    pub kind: &'static str,
    pub name: String,
    /// Seconds since the epoch.
    pub at: i64,
    /// e.g. `HTTP 200`, `exit 1`, `connection failed`.
    pub outcome: String,
    pub ok: bool,
    pub attempts: u32,
}

impl Status {
    /// Every hook's and command's last run, by name.
    pub fn runs(&self) -> Vec<LastRun> {
        self.lock().values().cloned().collect()
    }

    fn record(&self, run: LastRun) {
        self.lock()
            .insert(format!("{}:{}", run.kind, run.name), run);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LastRun>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the publisher threads if `[publish]` asks for any strategy.
/// `receiver_url` is what baked forms post to.
pub fn start(config: &Config, receiver_url: &str) -> Result<Arc<Status>> {
    let status = Arc::new(Status::default());
    let publish = &config.publish;
    if !publish.is_on() {
        return Ok(status);
    }
    publish.validate_with_environment()?;
    let mut triggers = Vec::new();
    let window = Duration::from_millis(publish.debounce_ms);
    if !publish.hooks.is_empty() {
        let (hooks, status, publish) = (publish.hooks.clone(), status.clone(), publish.clone());
        // The blocking client runs its own runtime, so it is made on the
        // hooks' thread, outside the receiver's.
        let mut client = None;
        triggers.push(debounced("hooks", window, move || {
            let client = match &client {
                Some(client) => client,
                None => match reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                {
                    Ok(made) => client.insert(made),
                    Err(e) => {
                        tracing::error!("cannot create the HTTP client for build hooks: {e}");
                        return;
                    }
                },
            };
            for hook in &hooks {
                call_hook(client, hook, &publish, &status);
            }
        })?);
    }
    if !publish.command.trim().is_empty() {
        let (command, status) = (publish.command.clone(), status.clone());
        triggers.push(debounced("command", window, move || {
            run_command(&command, &status)
        })?);
    }
    let mut bakes: Vec<InPlace> = in_place_options(config, receiver_url)
        .into_iter()
        .map(InPlace::watching)
        .collect();
    let db = config.database.path.clone();
    // Pages built while the receiver was down get their comments before it
    // serves anything; the sequence is read first, so a change made during
    // this bake is caught by the watch.
    let first = store::open(&db, Mode::ReadOnly)
        .and_then(|mut s| s.change_seq())
        .ok();
    for place in &mut bakes {
        place.bake(&db);
    }
    let poll = Duration::from_millis(publish.poll_ms);
    std::thread::Builder::new()
        .name("kiln-publish".into())
        .spawn(move || watch(&db, poll, first, &mut bakes, &triggers))
        .context("starting the publisher")?;
    Ok(status)
}

/// Bakes every `publish.in_place` directory now, as the publisher does after
/// a change. `kiln demo` calls it so the site has its forms before its URL
/// is printed.
pub fn bake_in_place_now(config: &Config, receiver_url: &str) {
    for options in in_place_options(config, receiver_url) {
        bake_in_place(&config.database.path, &options);
    }
}

/// One bake per in-place directory, each remembering its state beside the
/// database (`kiln.sqlite3.publish-0.state`, ...).
fn in_place_options(config: &Config, receiver_url: &str) -> Vec<kiln_bake::BakeOptions> {
    config
        .publish
        .in_place
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let mut state = config.database.path.clone().into_os_string();
            state.push(format!(".publish-{i}.state"));
            kiln_bake::BakeOptions {
                output_dir: dir.clone(),
                site_url: config.site_url(),
                render: crate::pages::render_options(config, receiver_url),
                progress: false,
                state_file: Some(PathBuf::from(state)),
                full: false,
                listing_unchanged: false,
                stylesheet: config.bake.stylesheet_file(),
            }
        })
        .collect()
}

/// Watches the change sequence; bakes in place at once and triggers the
/// debounced strategies.
fn watch(
    db: &Path,
    poll: Duration,
    mut last_seq: Option<u64>,
    bakes: &mut [InPlace],
    triggers: &[mpsc::Sender<()>],
) {
    let mut store = None;
    let mut wakes = 0;
    loop {
        let seq = store
            .get_or_insert_with(|| store::open(db, Mode::ReadOnly))
            .as_mut()
            .map_err(|e| format!("{e:#}"))
            .and_then(|s: &mut Box<dyn Store>| s.change_seq().map_err(|e| format!("{e:#}")));
        match seq {
            Ok(seq) if Some(seq) != last_seq => {
                for place in bakes.iter_mut() {
                    place.bake(db);
                }
                if last_seq.is_some() {
                    for trigger in triggers {
                        let _ = trigger.send(());
                    }
                }
                last_seq = Some(seq);
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!("publisher cannot read the database: {err}");
                store = None;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        wakes = wait_for_change(wakes, poll);
    }
}

/// One in-place directory and what is known about who wrote to it.
///
/// A notify watcher collects every path that changes under the directory.
/// Before a bake, if all of them are bake's own writes (or irrelevant, like
/// CSS), nobody else touched the site since the last bake, and bake may
/// trust its remembered pages: an approval then reads, renders and writes
/// only the pages of that thread, without stat'ing the other 10,000. Any
/// other change (a deploy, an SSG rebuild), a watcher error, or too many
/// events at once means one full check of the tree, as a plain bake does.
struct InPlace {
    options: kiln_bake::BakeOptions,
    /// Paths changed since the last bake; `None` when nothing can vouch for
    /// the directory (no watch yet, an overflow, an error).
    seen: Arc<Mutex<Option<Vec<PathBuf>>>>,
    /// The watch, and the directory it is on (canonical path and inode): a
    /// deploy that replaces the directory, or swaps a symlink to it, is a
    /// different directory, which the old watch cannot see.
    watch: Option<(notify::RecommendedWatcher, PathBuf, u64)>,
    ours: kiln_bake::own_writes::OwnWrites,
}

/// Past this many changed paths between two bakes, check the whole tree.
const MAX_SEEN: usize = 10_000;

impl InPlace {
    fn watching(options: kiln_bake::BakeOptions) -> InPlace {
        InPlace {
            options,
            seen: Arc::new(Mutex::new(None)),
            watch: None,
            ours: Default::default(),
        }
    }

    /// The directory as it is now: canonical path and inode.
    fn identity(&self) -> Option<(PathBuf, u64)> {
        let path = self.options.output_dir.canonicalize().ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        Some((path, inode(&meta)))
    }

    /// Whether the watch is on the directory as it is now; if not, starts
    /// one there (which vouches for nothing until the next bake).
    fn watch_is_current(&mut self) -> bool {
        use notify::Watcher;
        let now = self.identity();
        if let (Some((_, path, ino)), Some((p, i))) = (&self.watch, &now) {
            if path == p && ino == i {
                return true;
            }
        }
        self.watch = None;
        let Some((path, ino)) = now else {
            return false;
        };
        let sink = self.seen.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let mut seen = sink.lock().unwrap_or_else(|p| p.into_inner());
            match event {
                Ok(event) if matches!(event.kind, notify::EventKind::Access(_)) => {}
                Ok(event) => {
                    if let Some(paths) = seen.as_mut() {
                        paths.extend(event.paths);
                        if paths.len() > MAX_SEEN {
                            *seen = None;
                        }
                    }
                }
                Err(_) => *seen = None,
            }
        })
        .and_then(|mut w| w.watch(&path, notify::RecursiveMode::Recursive).map(|()| w));
        match watcher {
            Ok(w) => self.watch = Some((w, path, ino)),
            Err(err) => tracing::warn!(
                dir = %self.options.output_dir.display(),
                "cannot watch the in-place directory, so every bake checks all of it: {err}"
            ),
        }
        false
    }

    fn bake(&mut self, db: &Path) {
        let current = self.watch_is_current();
        // Take what was seen and start collecting afresh; events from this
        // bake's own writes are judged at the next one, once `ours` knows
        // them.
        let seen = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let taken = seen.take();
            if self.watch.is_some() {
                *seen = Some(Vec::new());
            }
            taken
        };
        let trusted = current
            && seen
                .is_some_and(|paths| paths.iter().all(|path| !self.ours.is_foreign_change(path)));
        self.options.listing_unchanged = trusted;
        match bake_in_place(db, &self.options) {
            Some(written) => self.ours.record(&written),
            // A failed bake vouches for nothing.
            None => *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = None,
        }
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// Bakes one directory; the files written, or `None` if the bake failed.
fn bake_in_place(db: &Path, options: &kiln_bake::BakeOptions) -> Option<Vec<PathBuf>> {
    let started = Instant::now();
    // The render options carry `privacy.gravatar`, which the export obeys too.
    let result = store::open_source(db, options.render.gravatar)
        .and_then(|mut source| kiln_bake::bake(source.as_mut(), options));
    match result {
        Ok(summary) => {
            for warning in &summary.warnings {
                tracing::warn!(dir = %options.output_dir.display(), "{warning}");
            }
            tracing::info!(
                dir = %options.output_dir.display(),
                files_changed = summary.files_changed,
                ms = started.elapsed().as_millis() as u64,
                pages_checked = if options.listing_unchanged { "changed threads only" } else { "all" },
                "published in place"
            );
            Some(summary.written)
        }
        Err(err) => {
            tracing::error!(
                dir = %options.output_dir.display(),
                "in-place bake failed: {err:#}"
            );
            None
        }
    }
}

/// A thread that runs `run` after each burst of triggers: it waits `window`
/// after the first, then runs once for all of them. Triggers that arrive
/// during a run cause exactly one more run, after another window. Runs never
/// overlap.
fn debounced(
    name: &str,
    window: Duration,
    mut run: impl FnMut() + Send + 'static,
) -> Result<mpsc::Sender<()>> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name(format!("kiln-publish-{name}"))
        .spawn(move || {
            while rx.recv().is_ok() {
                let until = Instant::now() + window;
                loop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match rx.recv_timeout(left) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                while rx.try_recv().is_ok() {}
                run();
            }
        })
        .with_context(|| format!("starting the {name} publisher"))?;
    Ok(tx)
}

fn call_hook(client: &reqwest::blocking::Client, hook: &Hook, publish: &Publish, status: &Status) {
    let name = hook.label();
    let mut attempts = 0;
    let mut delay = Duration::from_millis(publish.retry_ms);
    loop {
        attempts += 1;
        let (outcome, ok) = match send_hook(client, hook) {
            Ok(code) => (format!("HTTP {}", code.as_u16()), code.is_success()),
            // The error's text can hold the URL; name only its kind.
            Err(HookError::Config(why)) => (why, false),
            Err(HookError::Send(e)) => (describe_send_error(&e), false),
        };
        tracing::info!(hook = %name, attempt = attempts, outcome = %outcome, "build hook called");
        status.record(LastRun {
            kind: "hook",
            name: name.clone(),
            at: now(),
            outcome,
            ok,
            attempts,
        });
        if ok || attempts >= publish.hook_attempts {
            if !ok {
                tracing::error!(hook = %name, attempts, "build hook failed; giving up until the next change");
            }
            return;
        }
        std::thread::sleep(delay);
        delay = delay.saturating_mul(2);
    }
}

enum HookError {
    Config(String),
    Send(reqwest::Error),
}

fn send_hook(
    client: &reqwest::blocking::Client,
    hook: &Hook,
) -> std::result::Result<reqwest::StatusCode, HookError> {
    let expanded = |text: &str| expand_env(text).map_err(|e| HookError::Config(e.to_string()));
    let mut request = client.post(expanded(&hook.url)?);
    for (name, value) in &hook.headers {
        request = request.header(name.as_str(), expanded(value)?);
    }
    let response = request
        .body(expanded(&hook.body)?)
        .send()
        .map_err(HookError::Send)?;
    Ok(response.status())
}

fn describe_send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

fn run_command(command: &str, status: &Status) {
    let started = Instant::now();
    let result = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .status();
    let (outcome, ok) = match result {
        Ok(exit) if exit.success() => ("exit 0".to_owned(), true),
        Ok(exit) => match exit.code() {
            Some(code) => (format!("exit {code}"), false),
            None => ("killed by a signal".to_owned(), false),
        },
        Err(e) => (format!("could not start sh: {e}"), false),
    };
    tracing::info!(
        outcome = %outcome,
        ms = started.elapsed().as_millis() as u64,
        "publish command ran"
    );
    status.record(LastRun {
        kind: "command",
        name: "command".into(),
        at: now(),
        outcome,
        ok,
        attempts: 1,
    });
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debounce_runs_once_per_burst_and_once_more_for_changes_during_a_run() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let kept = runs.clone();
        let tx = debounced("test", Duration::from_millis(100), move || {
            kept.lock().unwrap().push(Instant::now());
            std::thread::sleep(Duration::from_millis(300));
        })
        .unwrap();
        for _ in 0..10 {
            tx.send(()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200)); // the run has started
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        let runs = runs.lock().unwrap();
        assert_eq!(
            runs.len(),
            2,
            "one run for the burst, one for the changes during it"
        );
        assert!(
            runs[1] - runs[0] >= Duration::from_millis(300),
            "runs overlapped"
        );
    }
}
