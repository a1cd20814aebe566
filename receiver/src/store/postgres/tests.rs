//! Tests of the PostgreSQL backend against a real server (see `scratch.rs`):
//! what a refused connection and a wrong password say, that a connection
//! may be dropped anywhere, that migrations run once under their lock, and
//! that the statements bake and the script lean on use the indexes. (The
//! `Store`'s behaviour is tested on both backends in `store/tests/`.)

use std::sync::{Arc, Barrier};
use std::time::Duration;

use super::connect::Target;
use super::migrate::{migrate, LOCK_CLASS};
use super::open_migrated;
use super::scratch::{scratch_db, server};

/// A port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn connect_error(target: &Target) -> String {
    match target.connect() {
        Ok(_) => panic!("connected to {}", target.describe()),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_refused_connection_says_so_in_one_line_without_the_password() {
    let port = closed_port();
    let target = Target::parse(
        &format!("postgres://kiln:hunter2-in-url@127.0.0.1:{port}/kiln"),
        "",
    )
    .unwrap();
    let err = connect_error(&target);
    eprintln!("{err}");
    assert!(
        err.starts_with(&format!(
            "cannot connect to PostgreSQL at kiln@127.0.0.1:{port}/kiln (database.url): "
        )),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!err.contains('\n'), "{err}");

    let target = Target::parse(
        &format!("postgres://kiln@127.0.0.1:{port}/kiln"),
        "hunter2-from-env",
    )
    .unwrap();
    let err = connect_error(&target);
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!format!("{target:?}").contains("hunter2"));
}

#[test]
fn bad_credentials_say_so_in_one_line_without_the_password() {
    let Some(server) = server() else { return };
    let Some(db) = scratch_db() else { return };
    // Members of kiln_password must give a password (scripts/pg-cluster's
    // pg_hba.conf); everyone else is trusted on the socket.
    let role = format!("kiln_pw_{}", std::process::id());
    db.execute(&format!(
        "DROP ROLE IF EXISTS {role};
         CREATE ROLE {role} LOGIN PASSWORD 'right-horse-battery' IN ROLE kiln_password"
    ));
    let query = server_query();
    let as_role = |password: &str| {
        Target::parse(&format!("postgres://{role}@/postgres?{query}"), password).unwrap()
    };
    let err = connect_error(&as_role("wrong-staple-4711"));
    eprintln!("{err}");
    assert!(
        err.contains(&format!(
            "password authentication failed for user \"{role}\""
        )),
        "{err}"
    );
    assert!(err.contains("(database.url)"), "{err}");
    assert!(!err.contains("wrong-staple"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    as_role("right-horse-battery").connect().unwrap();
    // The role outlives the scratch database; a role is per cluster.
    db.execute(&format!("DROP ROLE {role}"));

    let err = connect_error(&server.with_dbname("kiln_no_such_database"));
    assert!(
        err.contains("database \"kiln_no_such_database\" does not exist"),
        "{err}"
    );
}

/// `host=…&port=…` of the test server, for URLs naming other users.
fn server_query() -> String {
    let url = std::env::var("KILN_TEST_DATABASE_URL").unwrap();
    url.split_once('?')
        .map(|(_, query)| query.to_owned())
        .unwrap_or_default()
}

#[test]
fn urls_that_cannot_work_are_refused_by_name_without_the_password() {
    let err = Target::parse(
        "postgres://kiln:hunter2@db.example/kiln?sslmode=verify-everything",
        "",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`database.url`") && err.contains("sslmode=verify-everything"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = Target::parse("postgres://kiln:hunter2@db.example/kiln?sslmode=bogus", "")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`database.url`"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // The password is not part of what messages call the database.
    let target = Target::parse("postgresql://kiln:hunter2@db.example:6543/comments", "").unwrap();
    assert_eq!(target.describe(), "kiln@db.example:6543/comments");
}

#[test]
fn a_connection_dropped_on_an_async_worker_thread_does_not_panic() {
    let Some(db) = scratch_db() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let target = db.target.clone();
    let kept = runtime.block_on(async move {
        // Connected where blocking is allowed, as the receiver does…
        let connect = |t: Target| tokio::task::spawn_blocking(move || t.connect().unwrap());
        let conn = connect(target.clone()).await.unwrap();
        // …but dropped on a worker thread, where closing would panic.
        tokio::spawn(async move { drop(conn) }).await.unwrap();
        // And one still alive when the runtime shuts down.
        connect(target).await.unwrap()
    });
    let (tx, rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _kept = kept;
        let _ = tx.send(());
        std::future::pending::<()>().await;
    });
    rx.recv().unwrap();
    runtime.shutdown_timeout(Duration::from_secs(5));
}

#[test]
fn migrations_apply_once_and_seed_the_instance() {
    let Some(db) = scratch_db() else { return };
    let mut conn = open_migrated(&db.target).unwrap();
    // Again: nothing left to do.
    migrate(&mut conn, db.target.describe()).unwrap();
    let versions: Vec<i32> = conn
        .query("SELECT version FROM kiln_migrations", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=super::migrate::latest()).collect::<Vec<_>>());
    let seeded: i64 = conn
        .query_one(
            "SELECT count(*) FROM meta WHERE key IN ('instance', 'avatar_salt') AND value <> ''",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(seeded, 2);
    let seq: i64 = conn
        .query_one("SELECT value FROM change_seq", &[])
        .unwrap()
        .get(0);
    assert_eq!(seq, 0);
}

#[test]
fn concurrent_migrators_apply_the_schema_once() {
    let Some(db) = scratch_db() else { return };
    // Held from here, the lock keeps every migrator waiting: none may have
    // touched the schema until it is released.
    let mut holder = db.target.connect().unwrap();
    holder
        .execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_CLASS])
        .unwrap();
    let start = Arc::new(Barrier::new(4));
    let migrators: Vec<_> = (0..3)
        .map(|_| {
            let target = db.target.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let mut conn = target.connect().unwrap();
                start.wait();
                migrate(&mut conn, target.describe())
            })
        })
        .collect();
    start.wait();
    // Until the migrators are all waiting on the lock (or 5 s have passed).
    for _ in 0..100 {
        let waiting: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exists: bool = holder
        .query_one("SELECT to_regclass('kiln_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!exists, "a migrator did not wait for the lock");
    holder
        .execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_CLASS])
        .unwrap();
    for migrator in migrators {
        migrator.join().unwrap().unwrap();
    }
    let applied: i64 = holder
        .query_one("SELECT count(*) FROM kiln_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, i64::from(super::migrate::latest()));
    let instances: i64 = holder
        .query_one("SELECT count(*) FROM meta WHERE key = 'instance'", &[])
        .unwrap()
        .get(0);
    assert_eq!(instances, 1);
}

#[test]
fn an_edited_or_newer_schema_is_refused_unless_it_says_it_is_compatible() {
    let Some(db) = scratch_db() else { return };
    let mut conn = open_migrated(&db.target).unwrap();
    let describe = db.target.describe().to_owned();

    let checksum: String = conn
        .query_one(
            "SELECT checksum FROM kiln_migrations WHERE version = 1",
            &[],
        )
        .unwrap()
        .get(0);
    conn.batch_execute("UPDATE kiln_migrations SET checksum = 'edited' WHERE version = 1")
        .unwrap();
    let err = format!("{:#}", migrate(&mut conn, &describe).unwrap_err());
    assert!(err.contains("differs") && err.contains(&describe), "{err}");
    // The lock was released after the failure.
    let free: bool = db
        .target
        .connect()
        .unwrap()
        .query_one("SELECT pg_try_advisory_lock($1, 0)", &[&LOCK_CLASS])
        .unwrap()
        .get(0);
    assert!(free, "the migration lock was kept after a failure");
    conn.execute(
        "UPDATE kiln_migrations SET checksum = $1 WHERE version = 1",
        &[&checksum],
    )
    .unwrap();
    migrate(&mut conn, &describe).unwrap();

    // A newer kiln applied the version after this kiln's newest, and says
    // which code still works.
    let next = super::migrate::latest() + 1;
    let newer = |compatible_from: i32| {
        format!(
            "DELETE FROM kiln_migrations WHERE version = {next};
             INSERT INTO kiln_migrations VALUES ({next}, '{next:04}_newer', 'x', {compatible_from}, 0)"
        )
    };
    conn.batch_execute(&newer(1)).unwrap();
    migrate(&mut conn, &describe).unwrap();
    conn.batch_execute(&newer(next)).unwrap();
    let err = format!("{:#}", migrate(&mut conn, &describe).unwrap_err());
    assert!(
        err.contains(&format!("at version {next}"))
            && err.contains("(database.url)")
            && err.contains("so upgrade it"),
        "{err}"
    );
}

/// The PostgreSQL schema is a translation of SQLite's: the same tables with
/// the same columns, plus `change_seq` (SQLite's meta 'seq') and
/// `kiln_migrations` (SQLite's `PRAGMA user_version`), and the limits
/// several receivers share, which one SQLite process keeps in memory
/// (`rate_events`, counted per bucket in `rate_counts`; see `store/memory.rs`).
#[test]
fn the_schema_has_sqlites_tables_and_columns() {
    use crate::store::testing::TestDb;
    let Some(db) = scratch_db() else { return };
    let mut pg = open_migrated(&db.target).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    drop(crate::store::open(&path, crate::store::Mode::ReadWrite).unwrap());
    let sqlite = TestDb::sqlite(&path);
    let columns_of = |table: &str| -> Vec<String> {
        let mut names: Vec<String> = sqlite
            .rows("SELECT name FROM pragma_table_info($1)", &[table.into()])
            .iter()
            .map(|row| row[0].text())
            .collect();
        names.sort();
        names
    };
    let mut sqlite_tables: Vec<String> = sqlite
        .rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            &[],
        )
        .iter()
        .map(|row| row[0].text())
        .collect();
    sqlite_tables.sort();
    let pg_tables: Vec<String> = pg
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public'
               AND table_name NOT IN ('change_seq', 'kiln_migrations', 'rate_events', 'rate_counts')
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(pg_tables, sqlite_tables);
    for table in &sqlite_tables {
        let pg_columns: Vec<String> = pg
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY 1",
                &[table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(pg_columns, columns_of(table), "columns of {table}");
    }
}

/// With 5,000 threads, 20,000 comments and statistics, the statements a bake of
/// some threads and the optional script's counts run go through the
/// indexes instead of reading every comment.
#[test]
fn published_threads_by_key_and_approved_counts_use_the_indexes() {
    use super::comments::{APPROVED_COUNTS, PUBLISHED_IN};
    let Some(db) = scratch_db() else { return };
    let mut conn = open_migrated(&db.target).unwrap();
    conn.batch_execute(
        "INSERT INTO threads (key, url, created_at)
             SELECT '/t' || n || '/', 'https://example.org/', 0 FROM generate_series(1, 5000) n;
         INSERT INTO comments (thread_id, status, author, text, page_url, created_at)
             SELECT 1 + n % 5000, CASE WHEN n % 3 = 0 THEN 'pending' ELSE 'approved' END,
                    'Ann', 'hi', 'https://example.org/', n
             FROM generate_series(1, 20000) n;
         ANALYZE",
    )
    .unwrap();
    let keys = vec!["/t7/".to_owned(), "/t300/".to_owned()];
    let site = "default";
    type Param<'a> = &'a (dyn postgres::types::ToSql + Sync);
    let counts: [Param; 2] = [&keys, &site];
    let published: [Param; 2] = [&site, &keys];
    for (sql, params) in [(APPROVED_COUNTS, counts), (PUBLISHED_IN, published)] {
        let plan: Vec<String> = conn
            .query(&format!("EXPLAIN {sql}"), &params)
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("threads_site_key"), "{plan}");
        assert!(
            !plan.contains("Seq Scan on comments") && plan.contains("on comments"),
            "{plan}"
        );
    }
}

#[test]
fn a_read_only_connection_reads_the_key_a_receiver_made() {
    use crate::store::{open_at, Location, Mode};
    let Some(db) = scratch_db() else { return };
    let at = Location::Postgres {
        url: &db.url,
        password: "",
    };
    // Before any receiver ran there is no key, and a read-only store
    // cannot make one.
    let mut fresh = open_at(at, Mode::ReadWrite).unwrap();
    db.execute("DELETE FROM meta WHERE key = 'secret'");
    let mut reader = open_at(at, Mode::ReadOnly).unwrap();
    let refused = format!("{:#}", reader.secret().unwrap_err());
    assert!(refused.contains("read-only"), "{refused}");
    let made = fresh.secret().unwrap();
    assert_eq!(made.len(), 64);
    assert_eq!(reader.secret().unwrap(), made);
    assert_eq!(fresh.secret().unwrap(), made, "made once");
}
