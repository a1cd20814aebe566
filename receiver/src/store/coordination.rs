//! What several receivers on one database must agree on beyond the rows of
//! the store: the rate limits on posts, the failed-login limits, which
//! receiver runs the publisher, and the publisher's last runs. One
//! implementation per backend sits behind `Coordination`: with SQLite one
//! process is all there is, so `memory.rs` keeps everything in memory (exact,
//! and no write per post); PostgreSQL shares it through tables, advisory
//! locks and LISTEN/NOTIFY (`postgres/coordination.rs`), so a flood spread
//! over every replica is limited once and one change publishes once.
//!
//! Every method may block (PostgreSQL is a network call): callers run them
//! on tokio's blocking pool or on a thread of their own.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

/// A moment, on both clocks: the in-process limits measure on the
/// monotonic clock, which no clock change moves; replicas can only compare
/// wall-clock time, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub instant: Instant,
    pub unix_ms: i64,
}

impl Moment {
    pub fn now() -> Moment {
        Moment {
            instant: Instant::now(),
            unix_ms: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }

    /// The moment `d` later.
    pub fn plus(self, d: Duration) -> Moment {
        Moment {
            instant: self.instant + d,
            unix_ms: self.unix_ms + d.as_millis() as i64,
        }
    }
}

/// Which limit refused a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Client,
    Thread,
    Global,
}

impl Limit {
    /// The rule's name in logs, `/metrics` and error codes.
    pub fn rule(self) -> &'static str {
        match self {
            Limit::Client => "rate_limit_ip",
            Limit::Thread => "rate_limit_thread",
            Limit::Global => "rate_limit_global",
        }
    }
}

/// What a rate limit counts: posts (`spam.*`), or likes (`[reactions]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Post,
    Like,
}

/// Accepted posts (or likes) allowed per window (`spam.*`, `reactions.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostLimits {
    pub per_client: u32,
    pub per_thread: u32,
    pub global: u32,
    pub window: Duration,
}

/// Failed logins allowed per window (`admin.login_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_ip: u32,
    pub global: u32,
    pub window: Duration,
}

/// A login attempt, counted as a failure until its password proves right.
#[must_use = "a right password must take its attempt back with `login_succeeded`"]
#[derive(Debug)]
pub struct LoginAttempt {
    pub(crate) ip: IpAddr,
    pub(crate) at: Moment,
}

/// One run of a build hook or the publish command, as the admin page shows
/// it; `covered_seq` is the change sequence it published, so a receiver
/// that takes over publishing knows what is left to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishRun {
    /// `hook` or `command`.
    pub kind: String,
    pub name: String,
    /// Seconds since the epoch.
    pub at: i64,
    /// e.g. `HTTP 200`, `exit 1`, `connection failed`.
    pub outcome: String,
    pub ok: bool,
    pub attempts: u32,
    pub covered_seq: u64,
}

/// Shared state of the receivers on one database. Object safe; the
/// receiver holds an `Arc<dyn Coordination>`.
pub trait Coordination: Send + Sync {
    /// Counts a post or a like (`event`) from `client` (an address, or an
    /// IPv6 /64) into `thread` if every limit allows it; otherwise names the
    /// first limit reached (client, thread, everyone) and the seconds until
    /// it allows one (what `Retry-After` says). Each kind of event is
    /// counted apart, so liking never uses up a reader's posts.
    fn admit(
        &self,
        event: Event,
        client: IpAddr,
        thread: &str,
        now: Moment,
        limits: &PostLimits,
    ) -> Result<std::result::Result<(), (Limit, u64)>>;

    /// Counts a login attempt from `ip` as a failure before its password is
    /// checked, or says how many seconds to wait if a limit is reached.
    /// Counting first is what makes the limit hold: the check takes argon2's
    /// time, and attempts sent together would otherwise all find the count
    /// below the limit before any had failed.
    fn login_attempt(
        &self,
        ip: IpAddr,
        now: Moment,
        limits: &LoginLimits,
    ) -> Result<std::result::Result<LoginAttempt, u64>>;

    /// The password was right: its attempt was no failure, and the
    /// address's earlier failures are forgotten.
    fn login_succeeded(&self, attempt: LoginAttempt) -> Result<()>;

    /// Keeps a hook's or the command's last run (one per kind and name).
    fn record_run(&self, run: &PublishRun) -> Result<()>;
    /// Every hook's and command's last run, by kind and name.
    fn publish_runs(&self) -> Result<Vec<PublishRun>>;

    /// The publisher's hold on publishing, for its own thread.
    fn leadership(&self) -> Result<Box<dyn Leadership>>;

    /// Whether the session that won `holder` still holds the lead, as the
    /// database sees it: asked from another connection just before a hook
    /// or the command runs, while the leader's own connection waits for
    /// changes. True with SQLite, where nobody else could lead.
    fn still_leads(&self, holder: &Holder) -> Result<bool>;
}

/// The publisher's side of leadership: one receiver publishes, the others
/// wait to take over. Used from the publisher's thread only; it blocks.
pub trait Leadership: Send {
    /// Blocks until this process leads publishing (at once with SQLite).
    /// While another receiver leads it calls `standing_by`, first at once and
    /// then every few seconds; when that returns false (the receiver is
    /// stopping) it stops waiting and returns `None`.
    fn lead(&mut self, standing_by: &mut dyn FnMut() -> bool) -> Result<Option<Leading>>;

    /// Waits until a change is announced or `poll` passes (with PostgreSQL
    /// the notifications make a poll unnecessary, so a long fallback is used
    /// instead), then reads the change sequence. An error means this process
    /// may no longer lead: call `lead` again.
    fn next_change(&mut self, poll: Duration) -> Result<u64>;
}

/// Where the change sequence stood when this process began to contend for
/// publishing (`since`) and when it won (`seq`): changes in between may not
/// have been published by the receiver that led before. `holder` names the
/// database session that holds the lead, when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leading {
    pub since: u64,
    pub seq: u64,
    pub holder: Option<Holder>,
}

/// A database session holding the lead: its server process and when that
/// started (process ids are reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub(crate) pid: i32,
    pub(crate) started_us: i64,
}

#[cfg(test)]
mod tests {
    //! The limits, one body on each backend: the in-process coordination of
    //! an SQLite receiver, and PostgreSQL's, where each `open()` is another
    //! receiver on the same database.

    use std::sync::Arc;

    use super::*;
    use crate::store::postgres::scratch::scratch_db;
    use crate::store::{coordination, open_at, Location, Mode};

    fn on_each_backend(body: impl Fn(&dyn Fn() -> Arc<dyn Coordination>)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        drop(open_at(Location::Sqlite(&path), Mode::ReadWrite).unwrap());
        // One process has one coordination.
        let memory = coordination(Location::Sqlite(&path)).unwrap();
        body(&|| memory.clone());
        let Some(db) = scratch_db() else { return };
        let location = Location::new("unused.sqlite3".as_ref(), &db.url, "");
        drop(open_at(location, Mode::ReadWrite).unwrap());
        body(&|| coordination(location).unwrap());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn posts(per_client: u32, per_thread: u32, global: u32) -> PostLimits {
        PostLimits {
            per_client,
            per_thread,
            global,
            window: Duration::from_secs(60),
        }
    }

    fn logins(per_ip: u32, global: u32) -> LoginLimits {
        LoginLimits {
            per_ip,
            global,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn post_limits_count_per_client_thread_and_all_and_expire() {
        on_each_backend(|open| {
            let (l, other) = (open(), open());
            let limits = posts(2, 3, 4);
            let t0 = Moment::now();
            let admit = |c: &Arc<dyn Coordination>, who: &str, thread: &str, at: Moment| {
                c.admit(Event::Post, ip(who), thread, at, &limits).unwrap()
            };
            assert!(admit(&l, "192.0.2.1", "/a/", t0).is_ok());
            assert!(admit(&other, "192.0.2.1", "/a/", t0).is_ok());
            // Retry-After: until the oldest post leaves the window, plus a
            // second, as the receiver has always said.
            assert_eq!(admit(&l, "192.0.2.1", "/b/", t0), Err((Limit::Client, 61)));
            assert_eq!(
                admit(
                    &other,
                    "192.0.2.1",
                    "/b/",
                    t0.plus(Duration::from_millis(30_500))
                ),
                Err((Limit::Client, 30))
            );
            assert!(admit(&l, "192.0.2.2", "/a/", t0).is_ok());
            assert_eq!(
                admit(&other, "192.0.2.3", "/a/", t0).unwrap_err().0,
                Limit::Thread
            );
            assert!(admit(&l, "192.0.2.3", "/b/", t0).is_ok());
            assert_eq!(
                admit(&other, "192.0.2.4", "/c/", t0).unwrap_err().0,
                Limit::Global
            );
            let later = t0.plus(Duration::from_secs(61));
            assert!(admit(&l, "192.0.2.1", "/c/", later).is_ok());
            assert!(admit(&other, "192.0.2.1", "/c/", later).is_ok());
            assert_eq!(
                admit(&l, "192.0.2.1", "/d/", later).unwrap_err().0,
                Limit::Client
            );
        });
    }

    #[test]
    fn a_flood_from_many_receivers_at_once_admits_exactly_the_limit() {
        on_each_backend(|open| {
            let limits = posts(1_000, 5, 1_000);
            let now = Moment::now();
            let admitted: usize = std::thread::scope(|scope| {
                let floods: Vec<_> = (0..6)
                    .map(|n| {
                        let shared = open();
                        scope.spawn(move || {
                            (0..5)
                                .filter(|i| {
                                    let client = ip(&format!("198.51.100.{}", n * 10 + i));
                                    shared
                                        .admit(Event::Post, client, "/flood/", now, &limits)
                                        .unwrap()
                                        .is_ok()
                                })
                                .count()
                        })
                    })
                    .collect();
                floods.into_iter().map(|f| f.join().unwrap()).sum()
            });
            assert_eq!(admitted, 5);
        });
    }

    #[test]
    fn login_failures_block_per_address_then_globally_and_expire() {
        on_each_backend(|open| {
            let (l, other) = (open(), open());
            let limits = logins(2, 3);
            let (a, b, c) = (ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3"));
            let t0 = Moment::now();
            let attempt =
                |s: &Arc<dyn Coordination>, who, at| s.login_attempt(who, at, &limits).unwrap();
            let _ = attempt(&l, a, t0).unwrap();
            let _ = attempt(&other, a, t0).unwrap();
            assert_eq!(attempt(&l, a, t0).unwrap_err(), 61);
            let _ = attempt(&other, b, t0).expect("other addresses still may");
            assert!(attempt(&l, c, t0).is_err(), "the global limit is reached");
            let later = t0.plus(Duration::from_secs(61));
            assert!(attempt(&other, a, later).is_ok(), "the window passed");
            let right = attempt(&l, b, later).unwrap();
            other.login_succeeded(right).unwrap();
            let _ = attempt(&l, b, later).unwrap();
            let _ = attempt(&other, b, later).expect("a right password forgot b's failures");
        });
    }

    #[test]
    fn login_attempts_count_before_their_password_is_checked() {
        on_each_backend(|open| {
            let (l, other) = (open(), open());
            let limits = logins(5, 6);
            let (a, b, c) = (ip("192.0.2.9"), ip("192.0.2.10"), ip("192.0.2.11"));
            let t0 = Moment::now();
            // Attempts in flight together: each one is counted as it
            // starts, so the sixth is refused before any check finished.
            let in_flight: Vec<LoginAttempt> = (0..5)
                .map(|_| other.login_attempt(a, t0, &limits).unwrap().unwrap())
                .collect();
            assert!(l.login_attempt(a, t0, &limits).unwrap().is_err());
            // One of them was right: the address starts afresh, and that
            // attempt no longer counts towards everyone's six.
            let mut in_flight = in_flight.into_iter();
            l.login_succeeded(in_flight.next().unwrap()).unwrap();
            assert!(l.login_attempt(a, t0, &limits).unwrap().is_ok());
            assert!(other.login_attempt(b, t0, &limits).unwrap().is_ok());
            assert!(
                l.login_attempt(c, t0, &limits).unwrap().is_err(),
                "everyone's limit counts the five in flight and the two since"
            );
        });
    }

    #[test]
    fn guesses_spread_over_receivers_are_limited_once() {
        on_each_backend(|open| {
            let limits = logins(5, 1_000);
            let now = Moment::now();
            let counted: usize = std::thread::scope(|scope| {
                let guessers: Vec<_> = (0..6)
                    .map(|_| {
                        let shared = open();
                        scope.spawn(move || {
                            (0..5)
                                .filter(|_| {
                                    shared
                                        .login_attempt(ip("203.0.113.7"), now, &limits)
                                        .unwrap()
                                        .is_ok()
                                })
                                .count()
                        })
                    })
                    .collect();
                guessers.into_iter().map(|g| g.join().unwrap()).sum()
            });
            assert_eq!(counted, 5);
        });
    }

    #[test]
    fn publish_runs_are_kept_one_per_strategy() {
        on_each_backend(|open| {
            let (l, other) = (open(), open());
            assert_eq!(l.publish_runs().unwrap(), []);
            let run = |kind: &str, name: &str, at, seq| PublishRun {
                kind: kind.into(),
                name: name.into(),
                at,
                outcome: "exit 0".into(),
                ok: true,
                attempts: 1,
                covered_seq: seq,
            };
            l.record_run(&run("command", "command", 100, 4)).unwrap();
            l.record_run(&run("hook", "ci", 101, 4)).unwrap();
            other
                .record_run(&run("command", "command", 102, 7))
                .unwrap();
            assert_eq!(
                l.publish_runs().unwrap(),
                [run("command", "command", 102, 7), run("hook", "ci", 101, 4)]
            );
        });
    }
}
