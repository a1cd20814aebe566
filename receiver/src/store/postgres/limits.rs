//! Sliding-window limits shared by every receiver on the database: each
//! counted event is a row of `rate_events` in its buckets, and one admission
//! at a time looks at the rows and adds its own, under an advisory
//! transaction lock. Without the lock, receivers counting at the same moment
//! each find room and all get in: three clients of a limit of 5 admitted 7
//! (docs/design/postgres.md §2.1); with it, exactly 5. A post's admission
//! is one call of the server-side function `kiln_admit` (migration 0005),
//! so the lock is held only while the server runs it.
//!
//! Semantics follow the in-process limits (`store/memory.rs`) exactly: an
//! event leaves the window `window` after it happened, the first bucket at
//! its limit refuses, and the wait is until that bucket's oldest event
//! leaves, plus a second.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use ::postgres::types::Type;
use ::postgres::{Error, Transaction};

use super::connect::Connection;
use super::migrate::LOCK_CLASS;

/// The advisory lock (second key) that serializes post admissions: one for
/// all posts, since the global limit has to serialize them anyway.
pub const POST_LOCK: i32 = 1;
/// The same for login attempts.
pub const LOGIN_LOCK: i32 = 2;
/// The same for likes (`[reactions]`). Every second key is taken once:
/// 0 is the migrations' (`migrate.rs`), 3 the publisher's leadership
/// (`lead.rs`), 4 the imports' (`imported.rs`).
pub const LIKE_LOCK: i32 = 5;

// A key shared by two kinds of lock would make one wait for the other: a
// like for the publisher's leadership, which is held for good.
const _: () = {
    let keys = [
        POST_LOCK,
        LOGIN_LOCK,
        LIKE_LOCK,
        super::lead::LEADER_LOCK,
        super::imported::IMPORT_LOCK,
        0,
    ];
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() {
            assert!(keys[i] != keys[j], "two advisory locks share a key");
            j += 1;
        }
        i += 1;
    }
};

/// The bucket of every login attempt.
pub const LOGIN_ALL: &str = "login:all";

/// The bucket of one address's login attempts.
pub fn login_bucket(ip: IpAddr) -> String {
    format!("login:ip:{ip}")
}

/// Whether this receiver should delete every old row of a kind now: once per
/// window, by whichever call first finds the last sweep a window ago.
pub fn due(last: &AtomicI64, now_ms: i64, window: Duration) -> bool {
    let seen = last.load(Ordering::Relaxed);
    now_ms.saturating_sub(seen) > window.as_millis() as i64
        && last
            .compare_exchange(seen, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// Opens a limiter transaction: the advisory lock `lock` is held until it
/// ends. A lost row after a crash only forgets a little of a limit, so the
/// commit does not wait for the disk, which keeps the serialized part short.
/// One round trip: the values are kiln's own constants.
fn locked(conn: &mut Connection, lock: i32) -> Result<Transaction<'_>, Error> {
    let mut tx = conn.transaction()?;
    tx.batch_execute(&format!(
        "SET LOCAL synchronous_commit = off; SELECT pg_advisory_xact_lock({LOCK_CLASS}, {lock})"
    ))?;
    Ok(tx)
}

/// Counts an event at `now_ms` into every bucket if none has reached its
/// limit within `window`; otherwise the index of the first that has, and the
/// seconds until it has room. With `sweep`, rows of every bucket starting
/// with it that left the window go too. One round trip: `kiln_admit`
/// (migration 0005) takes the lock, sweeps, counts and inserts on the
/// server, and the statement's own transaction commits without waiting for
/// the disk.
pub fn admit(
    conn: &mut Connection,
    lock: i32,
    buckets: &[(String, u32)],
    window: Duration,
    now_ms: i64,
    sweep: Option<&str>,
) -> Result<std::result::Result<(), (usize, u64)>, Error> {
    let window_ms = window.as_millis() as i64;
    let names: Vec<&str> = buckets.iter().map(|(name, _)| name.as_str()).collect();
    let caps: Vec<i64> = buckets.iter().map(|(_, cap)| i64::from(*cap)).collect();
    let refused = conn.query_typed(
        "SELECT refused, oldest_ms FROM kiln_admit($1, $2, $3, $4, $5, $6, $7)",
        &[
            (&LOCK_CLASS, Type::INT4),
            (&lock, Type::INT4),
            (&names, Type::TEXT_ARRAY),
            (&caps, Type::INT8_ARRAY),
            (&window_ms, Type::INT8),
            (&now_ms, Type::INT8),
            (&sweep, Type::TEXT),
        ],
    )?;
    Ok(match refused.first() {
        None => Ok(()),
        Some(row) => {
            // An empty bucket waits a whole window, as in memory (a limit of 0).
            let (index, oldest): (i32, i64) = (row.get(0), row.get(1));
            let left_ms = (oldest + window_ms - now_ms).max(0);
            Err((index as usize - 1, (left_ms / 1000) as u64 + 1))
        }
    })
}

/// A right password: the address's attempts are forgotten, and this
/// attempt no longer counts towards everyone's.
pub fn forget_login(conn: &mut Connection, ip: IpAddr, at_ms: i64) -> Result<(), Error> {
    let mut tx = locked(conn, LOGIN_LOCK)?;
    tx.execute_typed(
        "DELETE FROM rate_events
         WHERE bucket = $1
            OR ctid = (SELECT ctid FROM rate_events WHERE bucket = $2 AND at_ms = $3 LIMIT 1)",
        &[
            (&login_bucket(ip), Type::TEXT),
            (&LOGIN_ALL, Type::TEXT),
            (&at_ms, Type::INT8),
        ],
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::super::coordination::PgCoordination;
    use super::super::scratch::{scratch_db, ScratchDb};
    use super::*;
    use crate::store::{
        open_at, Coordination, Event, Location, LoginLimits, Mode, Moment, PostLimits,
    };

    fn rows(db: &ScratchDb, prefix: &str) -> i64 {
        db.target
            .connect()
            .unwrap()
            .query_one(
                "SELECT count(*) FROM rate_events WHERE starts_with(bucket, $1)",
                &[&prefix],
            )
            .unwrap()
            .get(0)
    }

    /// Bucket names and their numbers of events.
    type Buckets = Vec<(String, i64)>;

    /// Each bucket's events as `rate_events` holds them and as
    /// `rate_counts` says, side by side.
    fn counts(db: &ScratchDb) -> (Buckets, Buckets) {
        let mut conn = db.target.connect().unwrap();
        let mut read = |sql: &str| -> Buckets {
            conn.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        };
        (
            read("SELECT bucket, count(*) FROM rate_events GROUP BY bucket ORDER BY bucket"),
            read("SELECT bucket, n FROM rate_counts ORDER BY bucket"),
        )
    }

    #[test]
    fn bucket_counts_follow_admissions_refusals_sweeps_and_right_passwords() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let shared = PgCoordination::new(db.target.clone());
        let window = Duration::from_secs(60);
        let posts = PostLimits {
            per_client: 3,
            per_thread: 100,
            global: 100,
            window,
        };
        let t0 = Moment::now();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        for n in 0..5 {
            let admitted = shared.admit(Event::Post, client, &format!("/t{n}/"), t0, &posts);
            assert_eq!(admitted.unwrap().is_ok(), n < 3, "post {n}");
        }
        let (events, counted) = counts(&db);
        assert_eq!(counted, events);
        assert!(
            counted.contains(&("post:ip:192.0.2.1".to_owned(), 3)),
            "{counted:?}"
        );

        let logins = LoginLimits {
            per_ip: 5,
            global: 100,
            window,
        };
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let failed = shared.login_attempt(ip, t0, &logins).unwrap().unwrap();
        drop(failed);
        let right = shared.login_attempt(ip, t0, &logins).unwrap().unwrap();
        shared.login_succeeded(right).unwrap();
        let (events, counted) = counts(&db);
        assert_eq!(counted, events, "a right password's rows leave the counts");

        // A window later the old rows are swept, and their counts go with
        // them: the client has room again.
        let later = t0.plus(window + Duration::from_secs(1));
        shared
            .admit(Event::Post, client, "/t9/", later, &posts)
            .unwrap()
            .unwrap();
        let (events, counted) = counts(&db);
        assert_eq!(counted, events);
        assert!(
            counted.contains(&("post:ip:192.0.2.1".to_owned(), 1)),
            "{counted:?}"
        );

        db.target
            .connect()
            .unwrap()
            .batch_execute("TRUNCATE rate_events")
            .unwrap();
        assert_eq!(counts(&db), (vec![], vec![]));
    }

    #[test]
    fn old_rows_of_every_bucket_are_swept_once_a_window() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let shared = PgCoordination::new(db.target.clone());
        let window = Duration::from_secs(60);
        let posts = PostLimits {
            per_client: 100,
            per_thread: 100,
            global: 100,
            window,
        };
        let t0 = Moment::now();
        for n in 0..3 {
            let client: IpAddr = format!("192.0.2.{n}").parse().unwrap();
            let thread = format!("/t{n}/");
            shared
                .admit(Event::Post, client, &thread, t0, &posts)
                .unwrap()
                .unwrap();
        }
        assert_eq!(rows(&db, "post:"), 9, "three buckets per post");
        let logins = LoginLimits {
            per_ip: 5,
            global: 100,
            window,
        };
        let attempt = shared
            .login_attempt("192.0.2.7".parse().unwrap(), t0, &logins)
            .unwrap()
            .unwrap();
        drop(attempt);
        assert_eq!(rows(&db, "login:"), 2);

        // A window later, one post clears what every other bucket kept;
        // logins are swept by logins.
        let later = t0.plus(window + Duration::from_secs(1));
        shared
            .admit(
                Event::Post,
                "192.0.2.9".parse().unwrap(),
                "/t9/",
                later,
                &posts,
            )
            .unwrap()
            .unwrap();
        assert_eq!(rows(&db, "post:"), 3);
        assert_eq!(rows(&db, "login:"), 2);
        let attempt = shared
            .login_attempt("192.0.2.8".parse().unwrap(), later, &logins)
            .unwrap()
            .unwrap();
        drop(attempt);
        assert_eq!(rows(&db, "login:"), 2, "only the new attempt's rows");
    }
}
