//! Likes on SQLite (`[reactions]`): one row per comment and reader key, so
//! a reader's second like is a no-op the primary key decides; a counted
//! like marks the thread changed, as an approval does, so a bake picks up
//! the new count. The rows go with their comment (`remove_comment`, and the
//! foreign key's cascade).

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::{parse_status, touch_thread, SqliteStore};
use crate::store::{Liked, Status};

impl SqliteStore {
    pub fn like(&mut self, comment: i64, reader: &str, now: i64) -> Result<Liked> {
        let tx = self.write_tx()?;
        let found: Option<(String, i64)> = tx
            .query_row(
                "SELECT status, thread_id FROM comments WHERE id = ?1",
                [comment],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((status, thread_id)) = found else {
            return Ok(Liked::Missing);
        };
        let status = parse_status(&status)?;
        if status != Status::Approved {
            return Ok(Liked::NotPublished(status));
        }
        let added = tx
            .prepare_cached(
                "INSERT INTO reactions (comment_id, reader, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![comment, reader, now])?;
        if added > 0 {
            touch_thread(&tx, thread_id, 0)?;
        }
        let likes: u64 = tx.query_row(
            "SELECT count(*) FROM reactions WHERE comment_id = ?1",
            [comment],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(if added > 0 {
            Liked::Counted(likes)
        } else {
            Liked::Already(likes)
        })
    }

    pub fn likes(&self, site: &str, thread: &str) -> Result<Vec<(i64, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.comment_id, count(*) FROM reactions r
                 JOIN comments c ON c.id = r.comment_id
                 JOIN threads t ON t.id = c.thread_id
             WHERE t.site = ?1 AND t.key = ?2 AND c.status = 'approved'
             GROUP BY r.comment_id ORDER BY r.comment_id",
        )?;
        let rows = stmt
            .query_map([site, thread], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
