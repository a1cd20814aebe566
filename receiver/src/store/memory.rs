//! Coordination for one process (SQLite): with one receiver on the database
//! there is nothing to share, so limits are sliding logs in memory (exact,
//! and no write per post), the publisher always leads, and changes made in
//! this process wake it through a condition variable, while a poll catches
//! the command line's, made in another process. A restart forgets the
//! limits, which costs an attacker a restart they cannot cause. Only the
//! publisher's last runs are written, to the database's `publish_runs`, so
//! that a restart neither hides them nor loses a run that was due.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::coordination::{
    Coordination, Event, Holder, Leadership, Leading, Limit, LoginAttempt, LoginLimits, Moment,
    PostLimits, PublishRun,
};
use super::sqlite::SqliteStore;
use super::{open, Mode, Store};

/// Wakes the publisher of this process right after a change, without
/// waiting for its poll.
pub fn changed() {
    let (count, wake) = &WAKE;
    *lock(count) += 1;
    wake.notify_all();
}

static WAKE: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Waits until [`changed`] is called (after `seen`) or `timeout` passes;
/// returns the new count.
fn wait_for_change(seen: u64, timeout: Duration) -> u64 {
    let (count, wake) = &WAKE;
    let (guard, _) = wake
        .wait_timeout_while(lock(count), timeout, |n| *n == seen)
        .unwrap_or_else(|p| p.into_inner());
    *guard
}

/// A lock that a panic elsewhere does not poison for good.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The coordination of a receiver on an SQLite file.
pub struct InProcess {
    /// The database, which the publisher reads its change sequence from.
    path: PathBuf,
    posts: Mutex<Posts>,
    /// The same for likes, counted apart.
    likes: Mutex<Posts>,
    logins: Mutex<Logins>,
    /// A connection of its own for `publish_runs`, opened on first use.
    runs: Mutex<Option<SqliteStore>>,
}

impl InProcess {
    pub fn new(path: PathBuf) -> InProcess {
        InProcess {
            path,
            posts: Mutex::default(),
            likes: Mutex::default(),
            logins: Mutex::default(),
            runs: Mutex::default(),
        }
    }
}

impl InProcess {
    fn with_runs<T>(&self, f: impl FnOnce(&mut SqliteStore) -> Result<T>) -> Result<T> {
        let mut runs = lock(&self.runs);
        let store = match &mut *runs {
            Some(store) => store,
            None => runs.insert(SqliteStore::open(&self.path)?),
        };
        let result = f(store);
        if result.is_err() {
            // Perhaps the file was replaced; open it afresh next time.
            *runs = None;
        }
        result
    }
}

/// Accepted posts' times per client, per thread and for all.
#[derive(Default)]
struct Posts {
    by_client: HashMap<IpAddr, VecDeque<Instant>>,
    by_thread: HashMap<String, VecDeque<Instant>>,
    all: VecDeque<Instant>,
    last_sweep: Option<Instant>,
}

/// Failed logins' times per address and for all.
#[derive(Default)]
struct Logins {
    by_ip: HashMap<IpAddr, Vec<Instant>>,
    all: Vec<Instant>,
}

/// Seconds until the oldest of `times` leaves the window: what `Retry-After`
/// says.
fn wait(oldest: Option<Instant>, window: Duration, now: Instant) -> u64 {
    (oldest.unwrap_or(now) + window)
        .saturating_duration_since(now)
        .as_secs()
        + 1
}

impl Coordination for InProcess {
    fn admit(
        &self,
        event: Event,
        client: IpAddr,
        thread: &str,
        now: Moment,
        limits: &PostLimits,
    ) -> Result<std::result::Result<(), (Limit, u64)>> {
        let counted = match event {
            Event::Post => &self.posts,
            Event::Like => &self.likes,
        };
        Ok(admit(counted, client, thread, now, limits))
    }

    fn login_attempt(
        &self,
        ip: IpAddr,
        now: Moment,
        limits: &LoginLimits,
    ) -> Result<std::result::Result<LoginAttempt, u64>> {
        let at = now;
        let now = now.instant;
        let mut f = lock(&self.logins);
        if let Some(cutoff) = now.checked_sub(limits.window) {
            f.all.retain(|t| *t > cutoff);
            f.by_ip.retain(|_, times| {
                times.retain(|t| *t > cutoff);
                !times.is_empty()
            });
        }
        if let Some(times) = f
            .by_ip
            .get(&ip)
            .filter(|t| t.len() >= limits.per_ip as usize)
        {
            return Ok(Err(wait(times.first().copied(), limits.window, now)));
        }
        if f.all.len() >= limits.global as usize {
            return Ok(Err(wait(f.all.first().copied(), limits.window, now)));
        }
        f.by_ip.entry(ip).or_default().push(now);
        f.all.push(now);
        Ok(Ok(LoginAttempt { ip, at }))
    }

    fn login_succeeded(&self, attempt: LoginAttempt) -> Result<()> {
        let mut f = lock(&self.logins);
        f.by_ip.remove(&attempt.ip);
        if let Some(at) = f.all.iter().position(|t| *t == attempt.at.instant) {
            f.all.remove(at);
        }
        Ok(())
    }

    fn record_run(&self, run: &PublishRun) -> Result<()> {
        self.with_runs(|store| store.record_publish_run(run))
    }

    fn publish_runs(&self) -> Result<Vec<PublishRun>> {
        self.with_runs(|store| store.publish_runs())
    }

    fn still_leads(&self, _holder: &Holder) -> Result<bool> {
        Ok(true)
    }

    fn leadership(&self) -> Result<Box<dyn Leadership>> {
        Ok(Box::new(AlwaysLead {
            path: self.path.clone(),
            store: None,
            wakes: 0,
        }))
    }
}

/// Counts an event of `times` (posts or likes) from `client` into `thread`
/// if every limit allows it; otherwise names the first limit reached and
/// the seconds until it allows one.
fn admit(
    times: &Mutex<Posts>,
    client: IpAddr,
    thread: &str,
    now: Moment,
    limits: &PostLimits,
) -> std::result::Result<(), (Limit, u64)> {
    let now = now.instant;
    let window = limits.window;
    let mut t = lock(times);
    let cutoff = now.checked_sub(window);
    let prune = |q: &mut VecDeque<Instant>| {
        while q.front().is_some_and(|f| cutoff.is_some_and(|c| *f <= c)) {
            q.pop_front();
        }
    };
    // Now and then drop the keys nobody used within the window, so the
    // maps stay as small as the recent traffic.
    if t.last_sweep.is_none_or(|s| now.duration_since(s) > window) {
        t.by_client.retain(|_, q| {
            prune(q);
            !q.is_empty()
        });
        t.by_thread.retain(|_, q| {
            prune(q);
            !q.is_empty()
        });
        t.last_sweep = Some(now);
    }
    let times = &mut *t;
    prune(&mut times.all);
    let by_client = times.by_client.entry(client).or_default();
    prune(by_client);
    if by_client.len() >= limits.per_client as usize {
        return Err((Limit::Client, wait(by_client.front().copied(), window, now)));
    }
    let by_thread = times.by_thread.entry(thread.to_owned()).or_default();
    prune(by_thread);
    if by_thread.len() >= limits.per_thread as usize {
        return Err((Limit::Thread, wait(by_thread.front().copied(), window, now)));
    }
    if times.all.len() >= limits.global as usize {
        return Err((Limit::Global, wait(times.all.front().copied(), window, now)));
    }
    by_thread.push_back(now);
    times.by_client.entry(client).or_default().push_back(now);
    times.all.push_back(now);
    Ok(())
}

/// The one process always leads; it learns of changes from [`changed`]
/// and its poll, and reads the sequence from a read-only connection.
struct AlwaysLead {
    path: PathBuf,
    store: Option<Box<dyn Store>>,
    wakes: u64,
}

impl AlwaysLead {
    fn read(&mut self) -> Result<u64> {
        let store = match &mut self.store {
            Some(store) => store,
            None => self.store.insert(open(&self.path, Mode::ReadOnly)?),
        };
        let seq = store.change_seq();
        if seq.is_err() {
            // Perhaps the file was replaced; open it afresh next time.
            self.store = None;
        }
        seq
    }
}

impl Leadership for AlwaysLead {
    fn lead(&mut self, _standing_by: &mut dyn FnMut() -> bool) -> Result<Option<Leading>> {
        self.wakes = *lock(&WAKE.0);
        let seq = self.read()?;
        Ok(Some(Leading {
            since: seq,
            seq,
            holder: None,
        }))
    }

    fn next_change(&mut self, poll: Duration) -> Result<u64> {
        self.wakes = wait_for_change(self.wakes, poll);
        self.read()
    }
}
