//! SqliteStore tests that only make sense for SQLite: its migrator, which
//! counts in `PRAGMA user_version`. (The store's behaviour is tested on
//! both backends in `store/tests/`.)

use super::*;

#[test]
fn receivers_starting_at_once_on_a_new_file_migrate_it_once() {
    // Four openers released together on a fresh file, a few times over: an
    // unlocked migrator lets two of them run migration 1, and the second
    // fails on a table that already exists.
    const OPENERS: usize = 4;
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let start = std::sync::Arc::new(std::sync::Barrier::new(OPENERS));
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(|store| store.instance_id().unwrap())
                })
            })
            .collect();
        let ids: Vec<String> = openers
            .into_iter()
            .map(|opener| {
                opener
                    .join()
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: {e:#}"))
            })
            .collect();
        assert!(ids.iter().all(|id| id == &ids[0]), "round {round}: {ids:?}");
        let version: usize = SqliteStore::open_read_only(&path)
            .unwrap()
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }
}
