//! What `kiln restore` asks PostgreSQL before it replaces a database: who
//! else is connected. A receiver reads its keys (the signing secret, the
//! avatar salt) once, when it starts, so one left running through a
//! restore goes on signing links with the old keys and its publisher goes
//! on from a change sequence the restore replaced. Every kiln connection
//! names itself (`application_name` `kiln/VERSION`, see `connect.rs`), so
//! the sessions of receivers and kiln commands on the database can be
//! counted.

use anyhow::{Context, Result};

use super::connect::Target;

/// How many kiln sessions other than this one's are connected to the
/// database `target` names.
pub(in crate::store) fn other_kiln_sessions(target: &Target) -> Result<u64> {
    let mut conn = target.connect()?;
    let n: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name LIKE 'kiln/%'",
            &[],
        )
        .with_context(|| format!("cannot list the sessions on {}", target.describe()))?
        .get(0);
    Ok(n.max(0) as u64)
}
