//! One publisher among the receivers on a database. The publisher thread of
//! each receiver opens a dedicated connection and takes a session advisory
//! lock; whoever holds it leads, the others wait inside the lock call. The
//! server releases the lock the moment the leader's session ends (a crash,
//! `kill -9`, a lost network), and the next in line takes over.
//!
//! The leader listens for `kiln_changed` on the same connection: every
//! transaction that changes what a thread shows notifies it with the new
//! change sequence, delivered on commit. Losing the connection thus loses
//! the lock and the wake-ups together, and the leader steps down and
//! contends again. A long fallback poll covers a notification lost with a
//! connection, at no cost to the database in between.
//!
//! The runs of hooks and the command are kept in `publish_runs`, with the
//! change sequence each covered, so that every receiver's admin page shows
//! them and a new leader knows what is left to publish.

use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::Error;
use anyhow::{anyhow, Context, Result};

use super::connect::{one_line, Connection, Target};
use super::migrate::LOCK_CLASS;
use crate::store::coordination::{Holder, Leadership, Leading, PublishRun};

/// The advisory lock (second key) whose holder publishes.
pub const LEADER_LOCK: i32 = 3;

/// The channel every change is announced on.
pub const CHANNEL: &str = "kiln_changed";

/// How long the leader waits for a notification before it reads the change
/// sequence anyway.
const FALLBACK: Duration = Duration::from_secs(30);

/// How long a receiver standing by waits inside the lock before it asks
/// whether it is stopping (`lock_timeout`, in PostgreSQL's units).
const STANDBY_CHECK: &str = "2s";

pub struct PgLead {
    target: Target,
    /// The leader's connection, holding the lock and the LISTEN.
    conn: Option<Connection>,
}

impl PgLead {
    pub fn new(target: Target) -> PgLead {
        PgLead { target, conn: None }
    }

    fn failed(&self, what: &str, err: &Error) -> anyhow::Error {
        anyhow!(
            "cannot {what} in {}: {}",
            self.target.describe(),
            one_line(err)
        )
    }
}

fn change_seq(conn: &mut Connection) -> Result<u64, Error> {
    let value: i64 = conn.query_one("SELECT value FROM change_seq", &[])?.get(0);
    Ok(value as u64)
}

impl Leadership for PgLead {
    fn lead(&mut self, standing_by: &mut dyn FnMut() -> bool) -> Result<Option<Leading>> {
        // Whatever held the lock before is gone with its connection.
        self.conn = None;
        let mut conn = self.target.connect()?;
        let since =
            change_seq(&mut conn).map_err(|e| self.failed("read the change sequence", &e))?;
        let won: bool = conn
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&LOCK_CLASS, &LEADER_LOCK],
            )
            .map_err(|e| self.failed("contend for publishing", &e))?
            .get(0);
        if !won {
            // Wait in the lock's queue, so that the next in line takes over
            // the moment the leader's session ends, but only for a while at a
            // time: a receiver that is stopping must not wait for that.
            conn.batch_execute(&format!("SET lock_timeout = '{STANDBY_CHECK}'"))
                .map_err(|e| self.failed("wait to publish", &e))?;
            loop {
                if !standing_by() {
                    return Ok(None);
                }
                match conn.execute(
                    "SELECT pg_advisory_lock($1, $2)",
                    &[&LOCK_CLASS, &LEADER_LOCK],
                ) {
                    Ok(_) => break,
                    Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => continue,
                    Err(e) => return Err(self.failed("wait to publish", &e)),
                }
            }
            conn.batch_execute("RESET lock_timeout")
                .map_err(|e| self.failed("wait to publish", &e))?;
        }
        conn.batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(|e| self.failed("listen for changes", &e))?;
        // Read after LISTEN: a change committed in between is in the
        // sequence or in a notification, never in neither.
        let seq = change_seq(&mut conn).map_err(|e| self.failed("read the change sequence", &e))?;
        let row = conn
            .query_one(
                "SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint
                 FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(|e| self.failed("name the leading session", &e))?;
        let holder = Holder {
            pid: row.get(0),
            started_us: row.get(1),
        };
        self.conn = Some(conn);
        Ok(Some(Leading {
            since,
            seq,
            holder: Some(holder),
        }))
    }

    fn next_change(&mut self, _poll: Duration) -> Result<u64> {
        let conn = self.conn.as_mut().context("this receiver does not lead")?;
        let waited = {
            let mut notifications = conn.notifications();
            // A closed connection ends the wait at once, without an error;
            // the read below then fails.
            let first = notifications.timeout_iter(FALLBACK).next();
            match first {
                // Take every other announcement already here: one read of
                // the sequence covers them all.
                Ok(Some(_)) => notifications.iter().count().map(drop),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        };
        let seq = waited.and_then(|()| change_seq(conn));
        seq.map_err(|e| {
            let err = self.failed("wait for changes", &e);
            self.conn = None;
            err
        })
    }
}

/// Whether `holder`'s session is alive and holds the leader's lock.
pub fn still_leads(conn: &mut Connection, holder: &Holder) -> Result<bool, Error> {
    Ok(conn
        .query_one(
            "SELECT EXISTS (
                 SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.classid = $1::int::oid AND l.objid = $2::int::oid AND l.objsubid = 2
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.pid = $3
                   AND (extract(epoch FROM a.backend_start) * 1000000)::bigint = $4)",
            &[&LOCK_CLASS, &LEADER_LOCK, &holder.pid, &holder.started_us],
        )?
        .get(0))
}

pub fn record_run(conn: &mut Connection, run: &PublishRun) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO publish_runs (kind, name, at, outcome, ok, attempts, covered_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (kind, name) DO UPDATE SET
             at = excluded.at, outcome = excluded.outcome, ok = excluded.ok,
             attempts = excluded.attempts,
             covered_seq = greatest(publish_runs.covered_seq, excluded.covered_seq)",
        &[
            &run.kind,
            &run.name,
            &run.at,
            &run.outcome,
            &run.ok,
            &(run.attempts as i32),
            &(run.covered_seq as i64),
        ],
    )?;
    Ok(())
}

pub fn publish_runs(conn: &mut Connection) -> Result<Vec<PublishRun>, Error> {
    Ok(conn
        .query(
            "SELECT kind, name, at, outcome, ok, attempts, covered_seq FROM publish_runs
             ORDER BY kind, name",
            &[],
        )?
        .iter()
        .map(|row| PublishRun {
            kind: row.get(0),
            name: row.get(1),
            at: row.get(2),
            outcome: row.get(3),
            ok: row.get(4),
            attempts: row.get::<_, i32>(5) as u32,
            covered_seq: row.get::<_, i64>(6) as u64,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    //! Two publishers on one database, as two receivers would run them, each
    //! with a real `publish.command` that appends its name to a file.

    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::publish::tests::eventually;
    use crate::publish::Status;
    use crate::store::postgres::scratch::{scratch_db, ScratchDb};
    use crate::store::{coordination, open_at, Coordination, Location, Mode};

    fn shared(db: &ScratchDb) -> Arc<dyn Coordination> {
        coordination(Location::new("unused.sqlite3".as_ref(), &db.url, "")).unwrap()
    }

    /// A receiver's publisher named `name`, whose command appends its name
    /// to `runs` after `debounce_ms`.
    fn publisher(
        rt: &tokio::runtime::Runtime,
        db: &ScratchDb,
        runs: &Path,
        name: &str,
        debounce_ms: u64,
    ) -> Arc<Status> {
        let mut config = Config::default();
        config.database.url = db.url.clone();
        config.publish.command = format!("echo {name} >> '{}'", runs.display());
        config.publish.debounce_ms = debounce_ms;
        rt.block_on(crate::publish::start(
            &config,
            "http://127.0.0.1:9/",
            shared(db),
        ))
        .unwrap()
    }

    fn lines(runs: &Path) -> Vec<String> {
        std::fs::read_to_string(runs)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A change to what a thread shows, announced as the store announces it:
    /// the sequence moves and `kiln_changed` carries it, on commit.
    fn change(db: &ScratchDb) {
        db.execute(
            "WITH s AS (UPDATE change_seq SET value = value + 1 RETURNING value)
             SELECT pg_notify('kiln_changed', value::text) FROM s",
        );
    }

    /// The server process of whoever holds the leader's lock, and how many
    /// wait for it, in this test's database (other tests run beside it).
    fn holder_and_waiting(db: &ScratchDb) -> (Option<i32>, i64) {
        let mut conn = db.target.connect().unwrap();
        let row = conn
            .query_one(
                "SELECT (array_agg(pid) FILTER (WHERE granted))[1],
                        count(*) FILTER (WHERE NOT granted)
                 FROM pg_locks
                 WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&LOCK_CLASS, &LEADER_LOCK],
            )
            .unwrap();
        (row.get(0), row.get(1))
    }

    fn covered(shared: &dyn Coordination) -> Option<u64> {
        shared
            .publish_runs()
            .unwrap()
            .iter()
            .find(|r| r.kind == "command")
            .map(|r| r.covered_seq)
    }

    #[test]
    fn one_change_makes_one_run_and_a_standby_takes_over() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let a = publisher(&rt, &db, &runs, "A", 50);
        assert!(a.is_leading(), "the first publisher leads");
        let b = publisher(&rt, &db, &runs, "B", 50);
        eventually("B waits for the lock", || holder_and_waiting(&db).1 == 1);
        assert!(!b.is_leading());

        change(&db);
        eventually("the leader ran", || lines(&runs).len() == 1);
        change(&db);
        eventually("the leader ran again", || lines(&runs).len() == 2);
        let record = shared(&db);
        eventually("the second run is recorded", || {
            covered(&*record) == Some(2)
        });
        assert_eq!(
            lines(&runs),
            ["A", "A"],
            "one run per change, by the leader"
        );

        // The leader's connection dies: B takes over, A stands by.
        let (holder, _) = holder_and_waiting(&db);
        db.execute(&format!(
            "SELECT pg_terminate_backend({})",
            holder.expect("someone leads")
        ));
        eventually("B leads", || b.is_leading());
        eventually("A stands by again", || holder_and_waiting(&db).1 == 1);
        assert!(!a.is_leading());
        change(&db);
        eventually("B ran", || lines(&runs).len() == 3);
        eventually("B's run is recorded", || covered(&*record) == Some(3));
        assert_eq!(lines(&runs), ["A", "A", "B"]);
        a.stop();
        b.stop();
    }

    #[test]
    fn a_new_leader_catches_up_on_a_change_its_predecessor_left() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        // A would wait a minute before running: it dies first.
        let a = publisher(&rt, &db, &runs, "A", 60_000);
        let b = publisher(&rt, &db, &runs, "B", 50);
        eventually("B waits for the lock", || holder_and_waiting(&db).1 == 1);
        change(&db);
        let (holder, _) = holder_and_waiting(&db);
        db.execute(&format!(
            "SELECT pg_terminate_backend({})",
            holder.expect("A leads")
        ));
        eventually("B leads", || b.is_leading());
        eventually("B caught up", || lines(&runs) == ["B"]);
        let record = shared(&db);
        eventually("B's run is recorded", || covered(&*record) == Some(1));
        assert!(!a.is_leading(), "A's waiting run will not run");
        a.stop();
        b.stop();
    }

    #[test]
    fn the_database_says_who_leads_and_a_dead_leader_notices() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let shared = shared(&db);
        let mut first = shared.leadership().unwrap();
        let leading = first
            .lead(&mut || panic!("nobody else leads yet"))
            .unwrap()
            .unwrap();
        let holder = leading.holder.expect("a session holds the lead");
        assert!(shared.still_leads(&holder).unwrap());

        let (standing_by, stands_by) = std::sync::mpsc::channel();
        let other = shared.clone();
        let second = std::thread::spawn(move || {
            let mut lead = other.leadership().unwrap();
            let leading = lead
                .lead(&mut || standing_by.send(()).is_ok())
                .unwrap()
                .expect("it leads once the first session is gone");
            (lead, leading)
        });
        stands_by.recv().expect("the second contender stands by");
        db.execute(&format!("SELECT pg_terminate_backend({})", holder.pid));
        let (mut lead, took_over) = second.join().unwrap();
        assert!(
            !shared.still_leads(&holder).unwrap(),
            "the old session is gone"
        );
        let new_holder = took_over.holder.unwrap();
        assert!(shared.still_leads(&new_holder).unwrap());
        assert!(
            first.next_change(Duration::from_millis(10)).is_err(),
            "the old leader learns it no longer leads"
        );

        change(&db);
        assert_eq!(lead.next_change(Duration::from_millis(10)).unwrap(), 1);
    }

    #[test]
    fn a_receiver_standing_by_stops_waiting_when_it_is_stopped() {
        let Some(db) = scratch_db() else { return };
        drop(open_at(Location::new("x".as_ref(), &db.url, ""), Mode::ReadWrite).unwrap());
        let shared = shared(&db);
        let mut first = shared.leadership().unwrap();
        let _leading = first.lead(&mut || panic!("nobody else leads yet")).unwrap();

        // The second is asked whether to go on at once, then again after one
        // wait in the lock's queue ran out; it says no the second time.
        let mut asked = 0;
        let mut second = shared.leadership().unwrap();
        let outcome = second
            .lead(&mut || {
                asked += 1;
                asked < 2
            })
            .unwrap();
        assert_eq!(outcome, None, "a stopped receiver does not lead");
        assert_eq!(asked, 2);
        assert_eq!(
            holder_and_waiting(&db).1,
            0,
            "nobody is left waiting in the lock's queue"
        );
        assert!(
            first.next_change(Duration::from_millis(10)).is_ok(),
            "the first still leads"
        );
    }
}
