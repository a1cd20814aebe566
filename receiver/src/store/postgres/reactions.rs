//! Likes on PostgreSQL (`[reactions]`), as `sqlite/reactions.rs`: one row
//! per comment and reader key, a second like a no-op (`ON CONFLICT DO
//! NOTHING` on the primary key, so two likes at once from one reader count
//! once), a counted like marking the thread changed. Locks in the store's
//! order: the comment row (`FOR SHARE`, so it cannot be unpublished or
//! deleted under the like), then the thread and the change sequence
//! (`Touched::touch`).

use anyhow::Result;

use super::{status, unsigned, PgStore, Touched};
use crate::store::{Liked, Status};

impl PgStore {
    pub fn like(&mut self, comment: i64, reader: &str, now: i64) -> Result<Liked> {
        self.write(|tx| {
            let Some(row) = tx.query_opt(
                "SELECT status, thread_id FROM comments WHERE id = $1 FOR SHARE",
                &[&comment],
            )?
            else {
                return Ok(Liked::Missing);
            };
            let found = status(row.try_get(0)?)?;
            if found != Status::Approved {
                return Ok(Liked::NotPublished(found));
            }
            let added = tx.execute(
                "INSERT INTO reactions (comment_id, reader, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&comment, &reader, &now],
            )?;
            if added > 0 {
                let mut touched = Touched::default();
                touched.thread(row.try_get(1)?, 0);
                touched.touch(tx)?;
            }
            let likes = unsigned(
                tx.query_one(
                    "SELECT count(*) FROM reactions WHERE comment_id = $1",
                    &[&comment],
                )?
                .try_get(0)?,
            )?;
            Ok(if added > 0 {
                Liked::Counted(likes)
            } else {
                Liked::Already(likes)
            })
        })
    }

    pub fn likes(&mut self, site: &str, thread: &str) -> Result<Vec<(i64, u64)>> {
        self.query(
            "SELECT r.comment_id, count(*) FROM reactions r
                 JOIN comments c ON c.id = r.comment_id
                 JOIN threads t ON t.id = c.thread_id
             WHERE t.site = $1 AND t.key = $2 AND c.status = 'approved'
             GROUP BY r.comment_id ORDER BY r.comment_id",
            &[&site, &thread],
        )?
        .iter()
        .map(|row| Ok((row.try_get(0)?, unsigned(row.try_get(1)?)?)))
        .collect()
    }
}
