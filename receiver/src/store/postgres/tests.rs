//! Tests of the PostgreSQL backend against a real server (see `scratch.rs`):
//! what a refused connection and a wrong password say, that a connection
//! may be dropped anywhere.

use std::time::Duration;

use super::connect::Target;
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
        "postgres://kiln:hunter2@db.example/kiln?sslmode=require",
        "",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`database.url`") && err.contains("TLS"),
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
