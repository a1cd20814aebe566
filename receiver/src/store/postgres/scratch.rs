//! A database of its own for each test on PostgreSQL (through
//! `testing::TestDb`, or directly in the backend's own tests), on the
//! server `KILN_TEST_DATABASE_URL` names (scripts/test starts one with
//! scripts/pg-cluster). Each test gets a new database, made from template0
//! and dropped afterwards, so tests share no rows, advisory locks or
//! notification channels and may run in parallel.
//!
//! Without the variable a test does nothing and says so, unless
//! KILN_REQUIRE_TOOLS or CI is set: then it fails, so that a green run there
//! means every PostgreSQL test ran (the rule of tests/support's
//! `require_tool`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::connect::Target;

/// The variable naming the test server; a URL such as scripts/pg-cluster
/// prints, whose database is only used to create and drop the test's own.
const URL_VAR: &str = "KILN_TEST_DATABASE_URL";

/// A database that exists until this is dropped.
pub struct ScratchDb {
    server: Target,
    name: String,
    /// The scratch database itself.
    pub target: Target,
    /// Its URL, for `store::open_at`.
    pub url: String,
}

/// The server's target, or `None` after saying which test did not run.
#[cfg(test)]
pub fn server() -> Option<Target> {
    let url = server_url()?;
    Some(Target::parse(&url, "").unwrap_or_else(|e| panic!("{URL_VAR}: {e:#}")))
}

/// The same server over TCP with TLS (`scripts/pg-cluster tls-url`): a
/// `verify-full` URL naming `localhost` and the cluster's own CA. `None`
/// after saying which test did not run, as for `server`.
#[cfg(test)]
pub fn tls_server_url() -> Option<String> {
    required_var("KILN_TEST_DATABASE_TLS_URL")
}

/// The server's URL, or `None` after saying which test did not run.
fn server_url() -> Option<String> {
    required_var(URL_VAR)
}

/// The value of a variable a PostgreSQL test needs; see the module header.
fn required_var(var: &str) -> Option<String> {
    let Some(url) = std::env::var(var).ok().filter(|u| !u.is_empty()) else {
        let test = std::thread::current()
            .name()
            .unwrap_or("a PostgreSQL test")
            .to_owned();
        if std::env::var_os("KILN_REQUIRE_TOOLS").is_some() || std::env::var_os("CI").is_some() {
            panic!("{test} needs PostgreSQL, but {var} is not set; run scripts/test, which starts a cluster (scripts/pg-cluster)");
        }
        eprintln!("NOTICE: {var} is not set; {test} did not run. scripts/test starts a PostgreSQL cluster for it.");
        return None;
    };
    Some(url)
}

/// `url` naming database `name` instead of its own: the path between the
/// authority and the query is the database.
fn with_dbname(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL has a scheme");
    let authority = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[authority..]
        .find('?')
        .map_or("", |q| &rest[authority + q..]);
    format!("{scheme}://{}/{name}{query}", &rest[..authority])
}

/// A new, empty database, or `None` (see `server`).
pub fn scratch_db() -> Option<ScratchDb> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server_url = server_url()?;
    let server = Target::parse(&server_url, "").unwrap_or_else(|e| panic!("{URL_VAR}: {e:#}"));
    let name = format!(
        "kiln_t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = server.connect().unwrap();
    // Left over from an earlier run whose process id was the same.
    // Two calls: several statements in one simple query form one
    // transaction, which neither statement may run in.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .unwrap();
    let target = server.with_dbname(&name);
    let url = with_dbname(&server_url, &name);
    Some(ScratchDb {
        server,
        name,
        target,
        url,
    })
}

#[cfg(test)]
impl ScratchDb {
    /// Runs `sql` as the test's superuser in the scratch database.
    pub fn execute(&self, sql: &str) {
        self.target.connect().unwrap().batch_execute(sql).unwrap();
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Best effort: a failed drop leaves a database for the next start of
        // scripts/pg-cluster to throw away, and must not hide a test failure.
        if let Ok(mut admin) = self.server.connect() {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
