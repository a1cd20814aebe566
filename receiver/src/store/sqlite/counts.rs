//! How many comments threads show, for the optional script, which tops up
//! the `data-kiln-count` elements of list pages baked before an approval.

use anyhow::Result;

use super::SqliteStore;

impl SqliteStore {
    /// For each key, the approved comments its thread shows, counted as bake
    /// counts them (a deleted comment kept for its replies does not count);
    /// 0 for a thread no one has commented on. Per key, one lookup of the
    /// unique thread key and one count over the (thread, status) index.
    pub fn approved_counts(&self, keys: &[String]) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT count(*) FROM comments
             WHERE thread_id = (SELECT id FROM threads WHERE key = ?1)
               AND status = 'approved'",
        )?;
        keys.iter()
            .map(|key| Ok(stmt.query_row([key], |r| r.get::<_, i64>(0))? as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    // Provided methods (`insert`, `export`, `counts`) live on the trait.
    use super::super::{NewComment, Status};
    use super::*;
    use crate::store::Store as _;

    #[test]
    fn counts_only_what_a_reader_sees_through_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
        let mut insert = |thread: &str, parent: Option<i64>, status| {
            let new = NewComment {
                thread: thread.into(),
                page_url: format!("https://example.org{thread}"),
                page_title: String::new(),
                parent,
                author: "Ann".into(),
                email: None,
                website: None,
                text: "hi".into(),
                remote_addr: None,
            };
            store.insert(&new, status, 10).unwrap().unwrap().id
        };
        let first = insert("/a/", None, Status::Approved);
        insert("/a/", Some(first), Status::Approved);
        insert("/a/", None, Status::Pending);
        insert("/b/", None, Status::Approved);
        store.delete(&[first]).unwrap().unwrap();
        let keys = ["/a/", "/b/", "/none/"].map(String::from);
        assert_eq!(store.approved_counts(&keys).unwrap(), vec![1, 1, 0]);

        let mut explain = store
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM comments
                 WHERE thread_id = (SELECT id FROM threads WHERE key = ?1)
                   AND status = 'approved'",
            )
            .unwrap();
        let plan: Vec<String> = explain
            .query_map(["/a/"], |r| r.get(3))
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
