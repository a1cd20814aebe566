//! The SQLite side of `testing::TestDb`: runs a test's peek on its own
//! connection, so a test can read what a running receiver stored.

use std::path::Path;

use rusqlite::types::ValueRef;

use crate::store::testing::{Param, Value};

/// Every row of `sql`, with its `$N` placeholders read as SQLite's `?N`.
pub(crate) fn rows(path: &Path, sql: &str, params: &[Param]) -> Vec<Vec<Value>> {
    let conn = open(path);
    let sql = numbered(sql);
    let mut stmt = conn
        .prepare(&sql)
        .unwrap_or_else(|e| panic!("cannot prepare {sql}: {e}"));
    let columns = stmt.column_count();
    let mut rows = stmt
        .query(values(params))
        .unwrap_or_else(|e| panic!("cannot run {sql}: {e}"));
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{sql}: {e}")) {
        let values = (0..columns)
            .map(
                |i| match row.get_ref(i).unwrap_or_else(|e| panic!("{sql}: {e}")) {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    other => panic!("{sql}: column {i} is {other:?}, which peeks do not read"),
                },
            )
            .collect();
        out.push(values);
    }
    out
}

/// Runs a statement that changes rows; returns how many it changed.
pub(crate) fn execute(path: &Path, sql: &str, params: &[Param]) -> usize {
    let sql = numbered(sql);
    open(path)
        .execute(&sql, values(params))
        .unwrap_or_else(|e| panic!("cannot run {sql}: {e}"))
}

fn open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

fn values(params: &[Param]) -> rusqlite::ParamsFromIter<Vec<rusqlite::types::Value>> {
    rusqlite::params_from_iter(
        params
            .iter()
            .map(|p| match *p {
                Param::Int(n) => rusqlite::types::Value::Integer(n),
                Param::Text(s) => rusqlite::types::Value::Text(s.to_owned()),
            })
            .collect::<Vec<_>>(),
    )
}

/// `$1` → `?1`: tests write PostgreSQL's placeholders, SQLite reads its own.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollar_placeholders_become_question_marks() {
        assert_eq!(
            super::numbered("SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '$'"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '$'"
        );
    }
}
