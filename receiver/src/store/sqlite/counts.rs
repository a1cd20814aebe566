//! How many comments threads show, for the optional script, which tops up
//! the `data-kiln-count` elements of list pages baked before an approval.

use anyhow::Result;

use super::SqliteStore;

impl SqliteStore {
    /// For each key, the approved comments its thread shows, counted as bake
    /// counts them (a deleted comment kept for its replies does not count);
    /// 0 for a thread no one has commented on. Per key, one lookup of the
    /// unique thread key and one count over the (thread, status) index.
    pub fn approved_counts(&self, site: &str, keys: &[String]) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT count(*) FROM comments
             WHERE thread_id = (SELECT id FROM threads WHERE site = ?2 AND key = ?1)
               AND status = 'approved'",
        )?;
        keys.iter()
            .map(|key| Ok(stmt.query_row([key, site], |r| r.get::<_, i64>(0))? as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's half of the plan check (what `approved_counts` counts is
    /// tested on both backends in `store/tests/`): each key is one lookup of
    /// the unique thread key and one count over the (thread, status) index.
    #[test]
    fn approved_counts_read_through_the_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
        let mut explain = store
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM comments
                 WHERE thread_id = (SELECT id FROM threads WHERE site = ?2 AND key = ?1)
                   AND status = 'approved'",
            )
            .unwrap();
        let plan: Vec<String> = explain
            .query_map(["/a/", "default"], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter()
                .any(|p| p.starts_with("SEARCH comments USING COVERING INDEX"))
                && plan.iter().any(|p| p.starts_with("SEARCH threads USING")),
            "{plan:?}"
        );
    }
}
