//! Coordination of several receivers through their PostgreSQL database:
//! the rate and login limits (`limits.rs`), the publisher's leadership and
//! its last runs (`lead.rs`). Each call is one short transaction on a
//! connection of a small pool of its own, kept apart from the store's so
//! that a flood being counted never waits for a store connection.

use std::net::IpAddr;
use std::sync::atomic::AtomicI64;
use std::sync::Mutex;

use anyhow::{anyhow, Result};

use super::connect::{one_line, Connection, Target};
use super::{lead, limits};
use crate::store::coordination::{
    Coordination, Event, Holder, Leadership, Limit, LoginAttempt, LoginLimits, Moment, PostLimits,
    PublishRun,
};

/// Idle connections kept for the next call; more are opened under load and
/// closed after it.
const MAX_IDLE: usize = 4;

pub struct PgCoordination {
    target: Target,
    idle: Mutex<Vec<Connection>>,
    /// When this receiver last deleted every bucket's old rows (Unix ms).
    pub(super) swept_posts: AtomicI64,
    pub(super) swept_logins: AtomicI64,
    pub(super) swept_likes: AtomicI64,
}

/// What tells the events one limiter counts apart from another's: their
/// buckets' prefix, their advisory lock and their last sweep.
#[derive(Clone, Copy)]
struct Events {
    prefix: &'static str,
    lock: i32,
    swept: fn(&PgCoordination) -> &AtomicI64,
}

impl Events {
    fn of(event: Event) -> Events {
        match event {
            Event::Post => Events {
                prefix: "post:",
                lock: limits::POST_LOCK,
                swept: |c| &c.swept_posts,
            },
            Event::Like => Events {
                prefix: "like:",
                lock: limits::LIKE_LOCK,
                swept: |c| &c.swept_likes,
            },
        }
    }
}

impl PgCoordination {
    /// Connects lazily: nothing is opened until the first call, which must
    /// come from a thread that may block.
    pub fn new(target: Target) -> PgCoordination {
        PgCoordination {
            target,
            idle: Mutex::new(Vec::new()),
            swept_posts: AtomicI64::new(i64::MIN),
            swept_logins: AtomicI64::new(i64::MIN),
            swept_likes: AtomicI64::new(i64::MIN),
        }
    }

    /// Runs `f` on a pooled connection. A connection the server closed while
    /// it sat idle fails its first statement; the call is then tried once
    /// more on a new one, which is safe because `f` is one transaction that
    /// did not commit.
    fn with_conn<T>(
        &self,
        what: &str,
        mut f: impl FnMut(&mut Connection) -> std::result::Result<T, ::postgres::Error>,
    ) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (mut conn, reused) = match pooled {
            Some(conn) if !conn.is_closed() => (conn, true),
            _ => (self.target.connect()?, false),
        };
        let mut result = f(&mut conn);
        if result.is_err() && reused && conn.is_closed() {
            conn = self.target.connect()?;
            result = f(&mut conn);
        }
        match result {
            Ok(value) => {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < MAX_IDLE && !conn.is_closed() {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(err) => Err(anyhow!(
                "cannot {what} in {}: {}",
                self.target.describe(),
                one_line(&err)
            )),
        }
    }
}

impl Coordination for PgCoordination {
    fn admit(
        &self,
        event: Event,
        client: IpAddr,
        thread: &str,
        now: Moment,
        l: &PostLimits,
    ) -> Result<std::result::Result<(), (Limit, u64)>> {
        let Events {
            prefix,
            lock,
            swept,
        } = Events::of(event);
        let buckets = [
            (format!("{prefix}ip:{client}"), l.per_client),
            (format!("{prefix}thread:{thread}"), l.per_thread),
            (format!("{prefix}all"), l.global),
        ];
        let sweep = limits::due(swept(self), now.unix_ms, l.window);
        let refused = self.with_conn("count a post or like against the rate limits", |conn| {
            limits::admit(
                conn,
                lock,
                &buckets,
                l.window,
                now.unix_ms,
                sweep.then_some(prefix),
            )
        })?;
        Ok(refused.map_err(|(index, wait)| {
            let limit = [Limit::Client, Limit::Thread, Limit::Global][index];
            (limit, wait)
        }))
    }

    fn login_attempt(
        &self,
        ip: IpAddr,
        now: Moment,
        l: &LoginLimits,
    ) -> Result<std::result::Result<LoginAttempt, u64>> {
        let buckets = [
            (limits::login_bucket(ip), l.per_ip),
            (limits::LOGIN_ALL.to_owned(), l.global),
        ];
        let sweep = limits::due(&self.swept_logins, now.unix_ms, l.window);
        let refused = self.with_conn("count a login attempt", |conn| {
            limits::admit(
                conn,
                limits::LOGIN_LOCK,
                &buckets,
                l.window,
                now.unix_ms,
                sweep.then_some("login:"),
            )
        })?;
        Ok(refused
            .map(|()| LoginAttempt { ip, at: now })
            .map_err(|(_, wait)| wait))
    }

    fn login_succeeded(&self, attempt: LoginAttempt) -> Result<()> {
        self.with_conn("forget a right login's failures", |conn| {
            limits::forget_login(conn, attempt.ip, attempt.at.unix_ms)
        })
    }

    fn record_run(&self, run: &PublishRun) -> Result<()> {
        self.with_conn("record a publish run", |conn| lead::record_run(conn, run))
    }

    fn publish_runs(&self) -> Result<Vec<PublishRun>> {
        self.with_conn("read the publish runs", lead::publish_runs)
    }

    fn still_leads(&self, holder: &Holder) -> Result<bool> {
        self.with_conn("ask who publishes", |conn| lead::still_leads(conn, holder))
    }

    fn leadership(&self) -> Result<Box<dyn Leadership>> {
        Ok(Box::new(lead::PgLead::new(self.target.watchful())))
    }
}
