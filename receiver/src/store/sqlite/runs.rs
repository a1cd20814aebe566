//! The publisher's last runs (`publish_runs`), one row per hook and for the
//! command, read and written by the in-process coordination
//! (`store/memory.rs`) rather than through the `Store` trait: with
//! PostgreSQL the same rows belong to the coordination too.

use anyhow::Result;
use rusqlite::params;

use super::SqliteStore;
use crate::store::PublishRun;

impl SqliteStore {
    /// Keeps `run` as its strategy's last; the covered sequence never goes
    /// back.
    pub fn record_publish_run(&mut self, run: &PublishRun) -> Result<()> {
        self.conn.execute(
            "INSERT INTO publish_runs (kind, name, at, outcome, ok, attempts, covered_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (kind, name) DO UPDATE SET
                 at = excluded.at, outcome = excluded.outcome, ok = excluded.ok,
                 attempts = excluded.attempts,
                 covered_seq = max(covered_seq, excluded.covered_seq)",
            params![
                run.kind,
                run.name,
                run.at,
                run.outcome,
                run.ok,
                run.attempts,
                run.covered_seq as i64
            ],
        )?;
        Ok(())
    }

    /// Every strategy's last run, by kind and name.
    pub fn publish_runs(&self) -> Result<Vec<PublishRun>> {
        let mut statement = self.conn.prepare(
            "SELECT kind, name, at, outcome, ok, attempts, covered_seq FROM publish_runs
             ORDER BY kind, name",
        )?;
        let runs = statement
            .query_map([], |row| {
                Ok(PublishRun {
                    kind: row.get(0)?,
                    name: row.get(1)?,
                    at: row.get(2)?,
                    outcome: row.get(3)?,
                    ok: row.get(4)?,
                    attempts: row.get(5)?,
                    covered_seq: row.get::<_, i64>(6)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(runs)
    }
}
