//! Publishing after moderation: whenever what a page shows changes (an
//! approval, unpublish, deletion or edit, from the admin page, a mail link or
//! the command line), the configured strategies run.
//!
//! - **In place**: the receiver re-bakes the deployed site's directory itself,
//!   at once. `kiln_bake::bake` with a state file (`publish.state_dir`)
//!   is the thread→pages map: it re-reads only the pages showing a thread
//!   whose stamp moved, and re-lists only directories whose mtime changed.
//! - **Build hooks**: POSTs to configured URLs, debounced and retried.
//! - **Command**: a shell command, debounced, never two at once.
//!
//! How changes are noticed: every change to what a thread shows bumps the
//! store's change sequence (`Store::change_seq`). One thread per receiver
//! watches it, through the coordination's `Leadership`:
//! - With SQLite the receiver is alone and always leads. Moderation in this
//!   process wakes it at once ([`changed`]), and a poll every
//!   `publish.poll_ms` catches the CLI, which runs in another process.
//! - With PostgreSQL one receiver leads and the others stand by until its
//!   connection ends; every change notifies the leader (LISTEN/NOTIFY), so
//!   one change makes one run whichever receiver or command made it. A new
//!   leader compares each strategy's last covered change with the sequence
//!   and runs those that fell behind.
//!
//! Everything that reads the database runs on the publisher's threads, never
//! on the receiver's async threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::{expand_env, Config, Database, Hook, Publish};
use crate::store::{self, Coordination, Leadership};

pub use crate::store::PublishRun as LastRun;

/// Wakes the publisher in this process right after a change, without waiting
/// for its poll. Called by `crate::moderation` after every change.
pub fn changed() {
    store::memory::changed();
}

/// The publisher as the rest of the receiver sees it: the strategies' last
/// runs (for the admin page) and whether this receiver leads.
pub struct Status {
    shared: Arc<dyn Coordination>,
    leading: AtomicBool,
    /// The database session that holds the lead for this receiver, if any.
    holder: Mutex<Option<store::Holder>>,
    stopped: AtomicBool,
}

impl Status {
    fn new(shared: Arc<dyn Coordination>) -> Status {
        Status {
            shared,
            leading: AtomicBool::new(false),
            holder: Mutex::new(None),
            stopped: AtomicBool::new(false),
        }
    }

    fn now_leading(&self, holder: Option<store::Holder>) {
        *self.holder.lock().unwrap_or_else(|p| p.into_inner()) = holder;
        self.leading.store(true, Ordering::SeqCst);
    }

    /// Whether a hook or the command may run now: this receiver leads, and
    /// the database still sees its session holding the lead (its own
    /// connection may have died since the publisher last woke). When the
    /// database cannot say, it runs: publishing twice beats not at all.
    fn may_run(&self) -> bool {
        if !self.is_leading() {
            return false;
        }
        let holder = *self.holder.lock().unwrap_or_else(|p| p.into_inner());
        let Some(holder) = holder else { return true };
        match self.shared.still_leads(&holder) {
            Ok(leads) => leads,
            Err(err) => {
                tracing::warn!(
                    "cannot ask the database who publishes, so this receiver runs: {err:#}"
                );
                true
            }
        }
    }

    /// Every hook's and command's last run, by kind and name, whichever
    /// receiver ran it. Blocks: call it off the async threads.
    pub fn runs(&self) -> Result<Vec<LastRun>> {
        self.shared.publish_runs()
    }

    /// Whether this receiver runs the publishing strategies now.
    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Ends the publisher at its next wake-up, and with it its hold on
    /// publishing (tests start several publishers in one process).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.leading.store(false, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn record(&self, run: LastRun) {
        if let Err(err) = self.shared.record_run(&run) {
            tracing::warn!(kind = %run.kind, name = %run.name, "cannot record a publish run: {err:#}");
        }
    }
}

/// A debounced strategy and the names its runs are recorded under.
struct Strategy {
    kind: &'static str,
    names: Vec<String>,
    trigger: mpsc::Sender<u64>,
}

/// Starts the publisher threads if `[publish]` asks for any strategy.
/// `receiver_url` is what baked forms post to. Returns once the in-place
/// directories have their first bake (or another receiver leads), so pages
/// built while the receiver was down have their comments before it serves.
pub async fn start(
    config: &Config,
    receiver_url: &str,
    shared: Arc<dyn Coordination>,
) -> Result<Arc<Status>> {
    let status = Arc::new(Status::new(shared.clone()));
    let publish = &config.publish;
    let sites_in_place = config
        .sites
        .site
        .iter()
        .any(|s| !s.publish.in_place.is_empty());
    if !publish.is_on() && !sites_in_place {
        return Ok(status);
    }
    publish.validate_with_environment()?;
    let mut strategies = Vec::new();
    let window = Duration::from_millis(publish.debounce_ms);
    if !publish.hooks.is_empty() {
        let (hooks, run_status, publish) = (publish.hooks.clone(), status.clone(), publish.clone());
        // The blocking client runs its own runtime, so it is made on the
        // hooks' thread, outside the receiver's.
        let mut client = None;
        let trigger = debounced("hooks", window, status.clone(), move |seq| {
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
                call_hook(client, hook, &publish, &run_status, seq);
            }
        })?;
        strategies.push(Strategy {
            kind: "hook",
            names: config.publish.hooks.iter().map(Hook::label).collect(),
            trigger,
        });
    }
    if !publish.command.trim().is_empty() {
        let (command, run_status) = (publish.command.clone(), status.clone());
        let trigger = debounced("command", window, status.clone(), move |seq| {
            run_command(&command, &run_status, seq)
        })?;
        strategies.push(Strategy {
            kind: "command",
            names: vec!["command".into()],
            trigger,
        });
    }
    let (ready, is_ready) = tokio::sync::oneshot::channel();
    let watcher = Watcher {
        lead: shared.leadership()?,
        db: config.database.clone(),
        poll: Duration::from_millis(publish.poll_ms),
        bakes: in_place_options(config, receiver_url)
            .into_iter()
            .map(InPlace::watching)
            .collect(),
        strategies,
        status: status.clone(),
        ready: Some(ready),
    };
    std::thread::Builder::new()
        .name("kiln-publish".into())
        .spawn(move || watcher.watch())
        .context("starting the publisher")?;
    // A publisher that died before its first bake has said all it will
    // in the log; the receiver serves anyway.
    let _ = is_ready.await;
    Ok(status)
}

/// Bakes every `publish.in_place` directory now, as the publisher does after
/// a change. `kiln demo` calls it so the site has its forms before its URL
/// is printed.
pub fn bake_in_place_now(config: &Config, receiver_url: &str) {
    for (site, options) in in_place_options(config, receiver_url) {
        bake_in_place(&config.database, &site, &options);
    }
}

/// Where the in-place bake of directory `i` keeps its state: in
/// `publish.state_dir` when set; else beside an SQLite database
/// (`kiln.sqlite3.publish-0.state`, ...), or in the working directory with
/// PostgreSQL, which has no file to sit beside.
fn state_file(config: &Config, i: usize) -> PathBuf {
    let name = format!("kiln.publish-{i}.state");
    match &config.publish.state_dir {
        Some(dir) => dir.join(name),
        None if config.database.is_postgres() => PathBuf::from(name),
        None => {
            let mut state = config.database.path.clone().into_os_string();
            state.push(format!(".publish-{i}.state"));
            PathBuf::from(state)
        }
    }
}

/// One bake per in-place directory, each remembering its state
/// (`state_file`), with the site whose comments it shows: `bake.site` for
/// `publish.in_place`, then each further site's own `in_place`, baked with
/// its first origin as the site URL.
fn in_place_options(config: &Config, receiver_url: &str) -> Vec<(String, kiln_bake::BakeOptions)> {
    let own = (config.publish.in_place.iter())
        .map(|dir| (config.bake.site.clone(), config.site_url(), dir));
    let sites = config.sites.site.iter().flat_map(|site| {
        let url = site.origins.first().cloned().unwrap_or_default();
        (site.publish.in_place.iter()).map(move |dir| (site.name.clone(), url.clone(), dir))
    });
    own.chain(sites)
        .enumerate()
        .map(|(i, (site, site_url, dir))| {
            let state = state_file(config, i);
            let options = kiln_bake::BakeOptions {
                output_dir: dir.clone(),
                site_url,
                render: crate::pages::render_options(config, receiver_url),
                progress: false,
                state_file: Some(state),
                full: false,
                listing_unchanged: false,
                stylesheet: config.bake.stylesheet_file(),
                feeds: config.bake.feeds_dir(),
            };
            (site, options)
        })
        .collect()
}

/// The publisher's thread: contends for publishing, then watches the change
/// sequence, bakes in place at once and triggers the debounced strategies.
struct Watcher {
    lead: Box<dyn Leadership>,
    db: Database,
    poll: Duration,
    bakes: Vec<InPlace>,
    strategies: Vec<Strategy>,
    status: Arc<Status>,
    /// Told once the first bake is done or another receiver leads.
    ready: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Watcher {
    fn watch(mut self) {
        // The sequence this receiver last published, as leader.
        let mut last_seq: Option<u64> = None;
        while !self.status.stopped() {
            let ready = &mut self.ready;
            let status = &self.status;
            let mut announced = false;
            let leading = self.lead.lead(&mut || {
                if !announced {
                    tracing::info!("another receiver publishes; this one stands by");
                    announced = true;
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                !status.stopped()
            });
            let leading = match leading {
                Ok(Some(leading)) if !self.status.stopped() => leading,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!("publisher cannot read the database: {err:#}");
                    self.is_ready();
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            self.status.now_leading(leading.holder);
            if self.ready.is_none() {
                tracing::info!(seq = leading.seq, "this receiver publishes now");
            }
            if last_seq != Some(leading.seq) {
                self.bake_all();
            }
            self.is_ready();
            // What this receiver saw before it may have gone unpublished too.
            let since = last_seq.map_or(leading.since, |last| last.min(leading.since));
            self.catch_up(since, leading.seq);
            last_seq = Some(leading.seq);
            while !self.status.stopped() {
                match self.lead.next_change(self.poll) {
                    Ok(seq) if Some(seq) != last_seq => {
                        self.bake_all();
                        for strategy in &self.strategies {
                            let _ = strategy.trigger.send(seq);
                        }
                        last_seq = Some(seq);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        // Runs still waiting in their debounce are left to
                        // whoever leads next.
                        self.status.leading.store(false, Ordering::SeqCst);
                        tracing::warn!("publisher cannot read the database: {err:#}");
                        std::thread::sleep(Duration::from_secs(1));
                        break;
                    }
                }
            }
        }
        self.status.leading.store(false, Ordering::SeqCst);
    }

    fn is_ready(&mut self) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(());
        }
    }

    fn bake_all(&mut self) {
        for place in self.bakes.iter_mut() {
            place.bake(&self.db);
        }
    }

    /// Triggers each strategy whose last run covered less than `seq`; one
    /// that never ran counts as covering `since`.
    fn catch_up(&self, since: u64, seq: u64) {
        if self.strategies.is_empty() {
            return;
        }
        let runs = match self.status.runs() {
            Ok(runs) => runs,
            Err(err) => {
                tracing::warn!("cannot read the last publish runs, so none is caught up: {err:#}");
                return;
            }
        };
        for strategy in &self.strategies {
            let covered = |name: &String| {
                runs.iter()
                    .find(|r| r.kind == strategy.kind && r.name == *name)
                    .map_or(since, |r| r.covered_seq)
            };
            if strategy.names.iter().any(|name| covered(name) < seq) {
                tracing::info!(
                    kind = strategy.kind,
                    seq,
                    "catching up on changes not yet published"
                );
                let _ = strategy.trigger.send(seq);
            }
        }
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
    /// The site whose comments it shows.
    site: String,
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
    fn watching((site, options): (String, kiln_bake::BakeOptions)) -> InPlace {
        InPlace {
            site,
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

    fn bake(&mut self, db: &Database) {
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
        match bake_in_place(db, &self.site, &self.options) {
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

/// Bake's view of one site's threads in the database, whichever backend
/// holds it.
fn open_source(
    db: &Database,
    gravatar: bool,
    site: &str,
) -> Result<Box<dyn kiln_bake::source::Source + Send>> {
    store::open_source(
        store::Location::new(&db.path, &db.url, &db.password),
        gravatar,
        site,
    )
}

/// Bakes one directory with site `site`'s comments; the files written, or
/// `None` if the bake failed.
fn bake_in_place(
    db: &Database,
    site: &str,
    options: &kiln_bake::BakeOptions,
) -> Option<Vec<PathBuf>> {
    let started = Instant::now();
    // The render options carry `privacy.gravatar`, which the export obeys too.
    let result = open_source(db, options.render.gravatar, site)
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
/// after the first, then runs once for all of them, with the newest change
/// sequence they carried. Triggers that arrive during a run cause exactly
/// one more run, after another window. Runs never overlap, and none starts
/// once this receiver no longer leads: the next leader catches up instead.
fn debounced(
    name: &str,
    window: Duration,
    status: Arc<Status>,
    mut run: impl FnMut(u64) + Send + 'static,
) -> Result<mpsc::Sender<u64>> {
    let (tx, rx) = mpsc::channel::<u64>();
    let strategy = name.to_owned();
    std::thread::Builder::new()
        .name(format!("kiln-publish-{name}"))
        .spawn(move || {
            while let Ok(mut seq) = rx.recv() {
                let until = Instant::now() + window;
                loop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match rx.recv_timeout(left) {
                        Ok(newer) => seq = seq.max(newer),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                while let Ok(newer) = rx.try_recv() {
                    seq = seq.max(newer);
                }
                if status.may_run() {
                    run(seq);
                } else {
                    tracing::info!(%strategy, "not run: another receiver publishes now");
                }
            }
        })
        .with_context(|| format!("starting the {name} publisher"))?;
    Ok(tx)
}

fn call_hook(
    client: &reqwest::blocking::Client,
    hook: &Hook,
    publish: &Publish,
    status: &Status,
    seq: u64,
) {
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
            kind: "hook".into(),
            name: name.clone(),
            at: now(),
            outcome,
            ok,
            attempts,
            covered_seq: seq,
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

fn run_command(command: &str, status: &Status, seq: u64) {
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
        kind: "command".into(),
        name: "command".into(),
        at: now(),
        outcome,
        ok,
        attempts: 1,
        covered_seq: seq,
    });
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn debounce_runs_once_per_burst_and_once_more_for_changes_during_a_run() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let kept = runs.clone();
        let status = Arc::new(Status::new(Arc::new(store::memory::InProcess::new(
            "unused.sqlite3".into(),
        ))));
        status.leading.store(true, Ordering::SeqCst);
        let tx = debounced("test", Duration::from_millis(100), status, move |seq| {
            kept.lock().unwrap().push((Instant::now(), seq));
            std::thread::sleep(Duration::from_millis(300));
        })
        .unwrap();
        for seq in 0..10 {
            tx.send(seq).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200)); // the run has started
        tx.send(11).unwrap();
        tx.send(10).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        let runs = runs.lock().unwrap();
        assert_eq!(
            runs.len(),
            2,
            "one run for the burst, one for the changes during it"
        );
        assert!(
            runs[1].0 - runs[0].0 >= Duration::from_millis(300),
            "runs overlapped"
        );
        assert_eq!(
            (runs[0].1, runs[1].1),
            (9, 11),
            "each run covers the newest change"
        );
    }

    #[test]
    fn in_place_state_sits_beside_sqlite_or_where_state_dir_says() {
        let mut config = Config::default();
        config.database.path = PathBuf::from("/srv/kiln/comments.db");
        assert_eq!(
            state_file(&config, 0),
            Path::new("/srv/kiln/comments.db.publish-0.state"),
            "SQLite keeps the name it always had"
        );
        config.database.path = Config::default().database.path;
        config.database.url = "postgres://kiln@db.example/kiln".into();
        assert_eq!(
            state_file(&config, 1),
            Path::new("kiln.publish-1.state"),
            "PostgreSQL has no file to sit beside: the working directory"
        );
        config.publish.state_dir = Some(PathBuf::from("/var/lib/kiln"));
        assert_eq!(
            state_file(&config, 1),
            Path::new("/var/lib/kiln/kiln.publish-1.state")
        );
    }

    /// Polls `done` until it holds, for at most 30 s; the publisher's tests
    /// on both backends wait with it.
    pub(crate) fn eventually(what: &str, done: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < until, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_change_a_stopped_receiver_left_unpublished_runs_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let runs = dir.path().join("runs");
        let mut config = Config::default();
        config.database.path = path.clone();
        config.publish.command = format!("echo run >> '{}'", runs.display());
        config.publish.debounce_ms = 20;
        let mut db = store::open(&path, store::Mode::ReadWrite).unwrap();
        let mut approve = |text: &str| {
            let comment = store::NewComment::sample("/a/", "Ann", text);
            db.insert(&comment, store::Status::Approved, 1_000)
                .unwrap()
                .unwrap();
            changed();
        };
        let count = || {
            std::fs::read_to_string(&runs)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let receiver = |config: &Config| {
            let shared = store::coordination(store::Location::Sqlite(&path)).unwrap();
            rt.block_on(start(config, "http://127.0.0.1:9/", shared))
                .unwrap()
        };

        let first = receiver(&config);
        approve("one");
        eventually("the command ran", || count() == 1);
        eventually("the run is recorded", || {
            first.runs().unwrap().first().map(|r| r.covered_seq) == Some(1)
        });
        first.stop();
        // Changed while no receiver publishes (the command line, or a run
        // still waiting out its debounce when the receiver stopped).
        approve("two");
        let second = receiver(&config);
        eventually("the next receiver caught up", || count() == 2);
        eventually("its run is recorded", || {
            second.runs().unwrap().first().map(|r| r.covered_seq) == Some(2)
        });
        second.stop();
    }
}
