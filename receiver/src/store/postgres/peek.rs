//! The PostgreSQL side of `testing::TestDb`: runs a test's peek on its own
//! connection and hands back plain values. Booleans come back as 0 or 1,
//! as SQLite stores them, so one peek reads the same on both backends.

use postgres::types::{ToSql, Type};
use postgres::Row;

use super::connect::Target;
use crate::store::testing::{Param, Value};

/// Every row of `sql`.
pub(crate) fn rows(target: &Target, sql: &str, params: &[Param]) -> Vec<Vec<Value>> {
    let values = values(params);
    target
        .connect()
        .unwrap_or_else(|e| panic!("{e:#}"))
        .query(sql, &refs(&values))
        .unwrap_or_else(|e| panic!("cannot run {sql}: {e}"))
        .iter()
        .map(|row| (0..row.len()).map(|i| value(row, i, sql)).collect())
        .collect()
}

/// Runs a statement that changes rows; returns how many it changed.
pub(crate) fn execute(target: &Target, sql: &str, params: &[Param]) -> usize {
    let values = values(params);
    target
        .connect()
        .unwrap_or_else(|e| panic!("{e:#}"))
        .execute(sql, &refs(&values))
        .unwrap_or_else(|e| panic!("cannot run {sql}: {e}")) as usize
}

fn values(params: &[Param]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match *p {
                Param::Int(n) => Box::new(n),
                Param::Text(s) => Box::new(s.to_owned()),
            }
        })
        .collect()
}

fn refs(values: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v.as_ref()).collect()
}

fn value(row: &Row, i: usize, sql: &str) -> Value {
    let ty = row.columns()[i].type_().clone();
    let read = |outcome: Result<Value, postgres::Error>| {
        outcome.unwrap_or_else(|e| panic!("{sql}: column {i}: {e}"))
    };
    let int = |n: Option<i64>| n.map_or(Value::Null, Value::Int);
    if ty == Type::INT8 {
        read(row.try_get(i).map(int))
    } else if ty == Type::INT4 {
        read(
            row.try_get::<_, Option<i32>>(i)
                .map(|n| int(n.map(i64::from))),
        )
    } else if ty == Type::INT2 {
        read(
            row.try_get::<_, Option<i16>>(i)
                .map(|n| int(n.map(i64::from))),
        )
    } else if ty == Type::BOOL {
        read(
            row.try_get::<_, Option<bool>>(i)
                .map(|b| int(b.map(i64::from))),
        )
    } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(&ty) {
        read(
            row.try_get::<_, Option<String>>(i)
                .map(|t| t.map_or(Value::Null, Value::Text)),
        )
    } else {
        panic!("{sql}: column {i} is {ty}, which peeks do not read")
    }
}
