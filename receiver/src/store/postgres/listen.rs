//! Wake-ups across receivers: each receiver on a PostgreSQL database keeps
//! one connection that `LISTEN`s for a channel, and wakes its outbox when a
//! notification arrives. Whatever queues mail sends `pg_notify` in the same
//! transaction, so the wake-up comes on commit, from any receiver or `kiln`
//! command. The outbox still polls, so a notification lost while this
//! connection was down delays mail by one poll at most; after reconnecting,
//! it wakes the outbox once to cover that gap.
//!
//! The connection lives on a thread of its own: the driver blocks, and
//! tokio's worker threads must never run (or drop) it.

use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use ::postgres::fallible_iterator::FallibleIterator;
use anyhow::{anyhow, Context, Result};

use super::connect::Target;

/// The channel that says "mail was queued".
pub const OUTBOX_CHANNEL: &str = "kiln_outbox";

/// How often the thread looks up from waiting, to see whether it should stop.
const TICK: Duration = Duration::from_millis(500);
/// The wait before the first reconnection; it doubles up to `MAX_RETRY`.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// A listening thread. Dropping this stops it (within `TICK`), closing its
/// connection.
pub struct Listening {
    _stop: mpsc::Sender<()>,
}

/// Starts a thread that calls `wake` whenever `channel` is notified in the
/// database `target` names, and once after each (re)connection. It returns
/// at once: connecting happens on the thread, which keeps trying, with
/// backoff, for as long as the `Listening` lives.
pub fn spawn(
    target: Target,
    channel: &'static str,
    wake: Box<dyn Fn() + Send>,
) -> Result<Listening> {
    let (stop, stopped) = mpsc::channel();
    // The thread logs where its starter logs.
    let logs = tracing::dispatcher::get_default(|current| current.clone());
    std::thread::Builder::new()
        .name("kiln-pg-listen".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&logs, || run(&target, channel, &*wake, &stopped))
        })
        .context("cannot start the thread that listens for PostgreSQL notifications")?;
    Ok(Listening { _stop: stop })
}

/// Why a session ended.
enum Ended {
    /// The `Listening` was dropped.
    Stopped,
    /// The connection failed or could not be made.
    Failed(anyhow::Error),
}

fn run(target: &Target, channel: &str, wake: &dyn Fn(), stop: &mpsc::Receiver<()>) {
    let mut retry = FIRST_RETRY;
    // Whether the current outage has been logged: one line per outage,
    // not one per attempt.
    let mut down = false;
    loop {
        let mut connected = || {
            if down {
                tracing::info!(
                    database = target.describe(),
                    channel,
                    "listening for notifications again"
                );
                down = false;
            }
            retry = FIRST_RETRY;
        };
        match session(target, channel, wake, stop, &mut connected) {
            Ended::Stopped => return,
            Ended::Failed(e) => {
                if down {
                    tracing::debug!(database = target.describe(), channel, error = format!("{e:#}"), retry_in = ?retry, "still cannot listen for notifications");
                } else {
                    // `Target::connect` scrubs the password from its errors,
                    // and the driver's other errors never carry it.
                    tracing::warn!(
                        database = target.describe(),
                        channel,
                        error = format!("{e:#}"),
                        "lost the PostgreSQL connection that wakes the outbox; mail waits for the next poll until it is back"
                    );
                    down = true;
                }
            }
        }
        match stop.recv_timeout(retry) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// One connection's life: connect, listen, and wake on each notification
/// until the connection fails or the listener is stopped.
fn session(
    target: &Target,
    channel: &str,
    wake: &dyn Fn(),
    stop: &mpsc::Receiver<()>,
    connected: &mut dyn FnMut(),
) -> Ended {
    let mut conn = match target.connect() {
        Ok(conn) => conn,
        Err(e) => return Ended::Failed(e),
    };
    // The channel is one of kiln's constants, never input.
    if let Err(e) = conn.batch_execute(&format!("LISTEN {channel}")) {
        return Ended::Failed(anyhow!(e).context(format!("cannot LISTEN {channel}")));
    }
    connected();
    // Whatever was queued while nobody listened.
    wake();
    loop {
        match stop.try_recv() {
            Err(TryRecvError::Empty) => {}
            _ => return Ended::Stopped,
        }
        let next = conn.notifications().timeout_iter(TICK).next();
        match next {
            Ok(Some(_)) => {
                // Several notifications may be waiting; one wake-up covers
                // them all, since the outbox claims whatever is due.
                while let Ok(Some(_)) = conn.notifications().iter().next() {}
                wake();
            }
            Ok(None) if conn.is_closed() => {
                return Ended::Failed(anyhow!("the server closed the connection"))
            }
            Ok(None) => {}
            Err(e) => return Ended::Failed(anyhow!(one_line(&e))),
        }
    }
}

/// The driver's error in one line: the server's own message when there is
/// one (e.g. "terminating connection due to administrator command").
fn one_line(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut line = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                line = format!("{line}: {cause}");
                source = cause.source();
            }
            line.replace('\n', " ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::scratch::scratch_db;

    /// Waits for a wake-up; the bound only turns a hang into a failure.
    fn woken(rx: &mpsc::Receiver<()>) {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the listener never woke the outbox");
    }

    /// Checks `done` until it holds, pausing a little longer each time; the
    /// bound only turns a hang into a failure.
    fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut pause = Duration::from_millis(5);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "waited too long for {what}"
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Log lines, as a `tracing` subscriber writes them.
    #[derive(Clone, Default)]
    struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
        fn count(&self, what: &str) -> usize {
            self.text().matches(what).count()
        }
    }

    #[test]
    fn an_outage_is_logged_once_without_the_password() {
        let Some(db) = scratch_db() else { return };
        let Some(server) = crate::store::postgres::scratch::server() else {
            return;
        };
        // The test cluster trusts local connections, so the password is
        // sent and ignored: it is only here to be looked for in the logs.
        const PASSWORD: &str = "pw-that-must-not-be-logged";
        let target = Target::parse(&db.url, PASSWORD).unwrap();
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // While only one dispatcher exists, tracing remembers whether a log
        // line is wanted from the first thread to reach it, which may be a
        // parallel test's thread that has no subscriber; with a second one
        // it asks every dispatcher.
        let _second = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(std::io::sink)
                .finish(),
        );
        let (tx, rx) = mpsc::channel();
        let listening = tracing::subscriber::with_default(subscriber, || {
            spawn(
                target,
                OUTBOX_CHANNEL,
                Box::new(move || {
                    let _ = tx.send(());
                }),
            )
            .unwrap()
        });
        woken(&rx);

        // The database refuses connections, and the session ends: the
        // listener fails to reconnect, more than once.
        let mut admin = server.connect().unwrap();
        let database = db.target.describe().rsplit('/').next().unwrap().to_owned();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
            ))
            .unwrap();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND query = $2",
                &[&database, &format!("LISTEN {OUTBOX_CHANNEL}")],
            )
            .unwrap();
        until("a second failed attempt", || {
            logs.count("still cannot listen") >= 1
        });
        admin
            .batch_execute(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
            .unwrap();
        woken(&rx);
        until("the line saying it is back", || {
            logs.count("listening for notifications again") == 1
        });
        drop(listening);

        let text = logs.text();
        assert_eq!(logs.count("lost the PostgreSQL connection"), 1, "{text}");
        assert!(text.contains(db.target.describe()), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }

    #[test]
    fn a_notification_wakes_and_a_lost_connection_comes_back() {
        let Some(db) = scratch_db() else { return };
        let (tx, rx) = mpsc::channel();
        let listening = spawn(
            db.target.clone(),
            OUTBOX_CHANNEL,
            Box::new(move || {
                let _ = tx.send(());
            }),
        )
        .unwrap();
        // Connected and listening: the first wake-up says so.
        woken(&rx);
        let mut other = db.target.connect().unwrap();
        other
            .execute("SELECT pg_notify($1, '')", &[&OUTBOX_CHANNEL])
            .unwrap();
        woken(&rx);

        // An administrator (or a failover) ends the listener's session: it
        // reconnects on its own and wakes the outbox for what it missed.
        let ended: i64 = other
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND query = $1",
                &[&format!("LISTEN {OUTBOX_CHANNEL}")],
            )
            .unwrap()
            .get(0);
        assert_eq!(ended, 1, "the listener's session was not found");
        woken(&rx);
        while rx.try_recv().is_ok() {}
        other
            .execute("SELECT pg_notify($1, '')", &[&OUTBOX_CHANNEL])
            .unwrap();
        woken(&rx);

        // Once dropped, it stops and closes its connection.
        drop(listening);
        until("the listener's session to end", || {
            let left: i64 = other
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND query = $1",
                    &[&format!("LISTEN {OUTBOX_CHANNEL}")],
                )
                .unwrap()
                .get(0);
            left == 0
        });
    }
}
