//! The store's side of moderation beyond approve/reject/delete: marking spam,
//! unpublishing, editing, and the queries behind the admin page (search and
//! counts per state). `crate::moderation` is the one caller-facing entry.

use anyhow::Result;
use kiln_bake::markdown;
use rusqlite::params;

use super::{
    row_to_comment, touch_thread, Refusal, SqliteStore, Status, StoredComment, SELECT_COMMENT,
};
use crate::store::CommentEdit;
use crate::store::Search;

impl SqliteStore {
    /// Marks pending comments as spam: kept out of the queue and off the
    /// page, but on record. All or nothing.
    pub fn spam(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>> {
        self.change_each(ids, |tx, id, status, _| {
            if status != Status::Pending {
                return Ok(Err(Refusal::NotPending(id, status.as_str())));
            }
            tx.execute("UPDATE comments SET status = 'spam' WHERE id = ?1", [id])?;
            Ok(Ok(()))
        })
    }

    /// Returns comments marked as spam to the queue (a false positive).
    /// All or nothing.
    pub fn not_spam(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>> {
        self.change_each(ids, |tx, id, status, _| {
            if status != Status::Spam {
                return Ok(Err(Refusal::NotSpam(id, status.as_str())));
            }
            tx.execute("UPDATE comments SET status = 'pending' WHERE id = ?1", [id])?;
            Ok(Ok(()))
        })
    }

    /// Takes approved comments off the page and back into the queue. A
    /// comment with published replies is refused: its replies would lose
    /// their parent. All or nothing.
    pub fn unpublish(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>> {
        self.change_each(ids, |tx, id, status, thread_id| {
            if status != Status::Approved {
                return Ok(Err(Refusal::NotPublished(id, status.as_str())));
            }
            back_to_queue(tx, id, thread_id)
        })
    }

    /// Replaces a comment's author, e-mail, website and text (and its stored
    /// HTML). A published comment's thread is marked changed so bake
    /// re-renders it. Deleted markers cannot be edited.
    ///
    /// With `hold`, a published comment also goes back to the queue, in the
    /// same transaction (a commenter's edit that must be approved again);
    /// one with published replies is refused then, like `unpublish`.
    pub fn edit(
        &mut self,
        id: i64,
        edit: &CommentEdit,
        hold: bool,
    ) -> Result<std::result::Result<StoredComment, Refusal>> {
        let mail_events = self.mail_events;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let outcome = self.change_each(&[id], |tx, id, status, thread_id| {
            if status == Status::Deleted {
                return Ok(Err(Refusal::DeletedMarker(id)));
            }
            let hold = hold && status == Status::Approved;
            if hold {
                if let Err(refusal) = back_to_queue(tx, id, thread_id)? {
                    return Ok(Err(refusal));
                }
                super::mail::after_held_edit(tx, mail_events, id, now)?;
            }
            tx.execute(
                "UPDATE comments SET author = ?2, email = ?3, website = ?4, text = ?5,
                        html = ?6, html_version = ?7
                 WHERE id = ?1",
                params![
                    id,
                    edit.author,
                    edit.email,
                    edit.website,
                    edit.text,
                    markdown::to_html(&edit.text),
                    markdown::VERSION,
                ],
            )?;
            if status.is_published() && !hold {
                touch_thread(tx, thread_id, 0)?;
            }
            Ok(Ok(()))
        })?;
        match outcome {
            Ok(()) => Ok(Ok(self.get(id)?.expect("edited comment exists"))),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// Comments matching `search`, newest first. Only the conditions given
    /// are put in the statement, so SQLite can use the status or thread
    /// index: with 100,000 comments, the queue's first page is read from
    /// the index instead of sorting every row (~0.2 ms instead of ~45 ms).
    pub fn search(&self, search: &Search) -> Result<Vec<StoredComment>> {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(status) = search.status {
            values.push(status.as_str().to_owned().into());
            conditions.push(format!("c.status = ?{}", values.len()));
        }
        if let Some(thread) = &search.thread {
            values.push(thread.clone().into());
            conditions.push(format!("t.key = ?{}", values.len()));
        }
        if let Some(words) = &search.words {
            // LIKE with `\` as the escape, so `%` and `_` match themselves.
            let escaped = words
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            values.push(format!("%{escaped}%").into());
            let n = values.len();
            conditions.push(format!(
                "(c.text LIKE ?{n} ESCAPE '\\' OR c.author LIKE ?{n} ESCAPE '\\' \
                 OR c.email LIKE ?{n} ESCAPE '\\' OR t.key LIKE ?{n} ESCAPE '\\')"
            ));
        }
        values.push((search.limit as i64).into());
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT_COMMENT} {filter} ORDER BY c.created_at DESC, c.id DESC LIMIT ?{}",
            values.len()
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), row_to_comment)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Takes a published comment off the page and back into the queue, unless
/// it has replies on the page (published, or deleted markers that keep
/// their own replies' place): those would lose their parent.
fn back_to_queue(
    tx: &rusqlite::Transaction,
    id: i64,
    thread_id: i64,
) -> Result<std::result::Result<(), Refusal>> {
    let replies: i64 = tx.query_row(
        "SELECT count(*) FROM comments
         WHERE parent_id = ?1 AND status IN ('approved', 'deleted')",
        [id],
        |r| r.get(0),
    )?;
    if replies > 0 {
        return Ok(Err(Refusal::HasPublishedReplies(id)));
    }
    tx.execute(
        "UPDATE comments SET status = 'pending', approved_at = NULL WHERE id = ?1",
        [id],
    )?;
    touch_thread(tx, thread_id, -1)?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    // Provided methods (`insert`, `export`, `counts`) live on the trait.
    use super::*;
    use crate::store::NewComment;
    use crate::store::Store as _;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kiln.sqlite3")).unwrap();
        (dir, store)
    }

    fn new_comment(thread: &str, author: &str, text: &str) -> NewComment {
        NewComment {
            thread: thread.into(),
            page_url: format!("https://example.org{thread}"),
            page_title: String::new(),
            parent: None,
            author: author.into(),
            email: Some(format!("{}@example.org", author.to_lowercase())),
            website: None,
            text: text.into(),
            remote_addr: None,
        }
    }

    fn add(store: &mut SqliteStore, thread: &str, author: &str, text: &str, at: i64) -> i64 {
        let new = new_comment(thread, author, text);
        store.insert(&new, Status::Pending, at).unwrap().unwrap().id
    }

    fn stamp(store: &SqliteStore, thread: &str) -> Option<(u64, u64)> {
        store
            .thread_stamps()
            .unwrap()
            .into_iter()
            .find(|(k, _, _)| k == thread)
            .map(|(_, seq, n)| (seq, n))
    }

    #[test]
    fn spam_is_all_or_nothing_and_only_for_pending() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "buy now", 1);
        let b = add(&mut store, "/a/", "Bob", "hello", 2);
        store.approve(&[b], 3).unwrap().unwrap();
        assert_eq!(
            store.spam(&[a, b]).unwrap(),
            Err(Refusal::NotPending(b, "approved"))
        );
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
        store.spam(&[a]).unwrap().unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Spam);
        assert_eq!(
            store.counts().unwrap(),
            vec![
                (Status::Pending, 0),
                (Status::Approved, 1),
                (Status::Spam, 1),
                (Status::Deleted, 0)
            ]
        );
    }

    #[test]
    fn not_spam_returns_only_spam_to_the_queue() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "looked like spam", 1);
        let b = add(&mut store, "/a/", "Bob", "pending", 2);
        store.spam(&[a]).unwrap().unwrap();
        assert_eq!(
            store.not_spam(&[a, b]).unwrap(),
            Err(Refusal::NotSpam(b, "pending"))
        );
        assert_eq!(
            store.get(a).unwrap().unwrap().status,
            Status::Spam,
            "all or nothing"
        );
        store.not_spam(&[a]).unwrap().unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
    }

    #[test]
    fn unpublish_returns_to_the_queue_unless_replies_are_published() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "parent", 1);
        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(&store, "/a/").unwrap();
        store.unpublish(&[a]).unwrap().unwrap();
        let after = stamp(&store, "/a/").unwrap();
        assert_eq!(store.get(a).unwrap().unwrap().status, Status::Pending);
        assert!(after.0 > before.0, "thread marked changed");
        assert_eq!(after.1, 0, "no longer counted");
        assert_eq!(
            store.unpublish(&[a]).unwrap(),
            Err(Refusal::NotPublished(a, "pending"))
        );

        store.approve(&[a], 3).unwrap().unwrap();
        let mut reply = NewComment {
            thread: "/a/".into(),
            page_url: "https://example.org/a/".into(),
            page_title: String::new(),
            parent: Some(a),
            author: "Bob".into(),
            email: None,
            website: None,
            text: "reply".into(),
            remote_addr: None,
        };
        let r = store.insert(&reply, Status::Approved, 4).unwrap().unwrap();
        assert_eq!(
            store.unpublish(&[a]).unwrap(),
            Err(Refusal::HasPublishedReplies(a))
        );
        reply.text = "unused".into();
        store.unpublish(&[r.id]).unwrap().unwrap();
    }

    #[test]
    fn edit_replaces_fields_and_html_and_marks_published_threads() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "*old*", 1);
        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(&store, "/a/").unwrap();
        let edit = CommentEdit {
            author: "Ann B.".into(),
            email: None,
            website: Some("https://ann.example".into()),
            text: "**new**".into(),
        };
        let edited = store.edit(a, &edit, false).unwrap().unwrap();
        assert_eq!(
            (edited.author.as_str(), edited.email, edited.text.as_str()),
            ("Ann B.", None, "**new**")
        );
        assert!(stamp(&store, "/a/").unwrap().0 > before.0);
        let export = store.export(&store.avatar_keys(false).unwrap()).unwrap();
        let html = export.threads[0].comments[0].html.clone().unwrap();
        assert!(html.contains("<strong>new</strong>"), "{html}");
        assert_eq!(
            store.edit(99, &edit, false).unwrap(),
            Err(Refusal::Unknown(99))
        );
    }

    #[test]
    fn a_held_edit_takes_a_published_comment_back_to_the_queue_at_once() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "first", 1);
        let edit = |text: &str| CommentEdit {
            author: "Ann".into(),
            email: None,
            website: None,
            text: text.into(),
        };
        // A pending comment stays pending.
        let edited = store.edit(a, &edit("second"), true).unwrap().unwrap();
        assert_eq!(edited.status, Status::Pending);

        store.approve(&[a], 2).unwrap().unwrap();
        let before = stamp(&store, "/a/").unwrap();
        let edited = store.edit(a, &edit("third"), true).unwrap().unwrap();
        assert_eq!(
            (edited.status, edited.text.as_str()),
            (Status::Pending, "third")
        );
        let after = stamp(&store, "/a/").unwrap();
        assert!(after.0 > before.0, "thread marked changed");
        assert_eq!((before.1, after.1), (1, 0), "no longer counted");
        assert!(store
            .export(&store.avatar_keys(false).unwrap())
            .unwrap()
            .threads
            .iter()
            .all(|t| t.comments.is_empty()));

        // With a published reply, nothing changes: neither text nor state.
        store.approve(&[a], 3).unwrap().unwrap();
        let reply = NewComment {
            parent: Some(a),
            ..new_comment("/a/", "Bob", "reply")
        };
        store.insert(&reply, Status::Approved, 4).unwrap().unwrap();
        assert_eq!(
            store.edit(a, &edit("fourth"), true).unwrap(),
            Err(Refusal::HasPublishedReplies(a))
        );
        let kept = store.get(a).unwrap().unwrap();
        assert_eq!(
            (kept.status, kept.text.as_str()),
            (Status::Approved, "third")
        );
    }

    #[test]
    fn search_finds_text_author_email_and_thread_newest_first() {
        let (_dir, mut store) = store();
        let a = add(&mut store, "/a/", "Ann", "about 100% cotton", 1);
        let b = add(&mut store, "/b/", "Bob", "about wool", 2);
        let c = add(&mut store, "/b/", "Cy", "something else", 3);
        store.approve(&[c], 4).unwrap().unwrap();
        let ids = |s: Search| -> Vec<i64> {
            store
                .search(&Search { limit: 100, ..s })
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect()
        };
        let words = |w: &str| Search {
            words: Some(w.into()),
            ..Search::default()
        };
        assert_eq!(ids(words("ABOUT")), vec![b, a], "newest first, any case");
        assert_eq!(ids(words("100%")), vec![a]);
        assert_eq!(ids(words("%")), vec![a], "% matches itself");
        assert_eq!(ids(words("_")), Vec::<i64>::new(), "_ matches itself");
        assert_eq!(ids(words("bob@")), vec![b], "by e-mail");
        assert_eq!(ids(words("Cy")), vec![c], "by author");
        assert_eq!(ids(words("/b/")), vec![c, b], "by thread");
        let pending_b = Search {
            status: Some(Status::Pending),
            thread: Some("/b/".into()),
            ..Search::default()
        };
        assert_eq!(ids(pending_b), vec![b]);
    }
}
