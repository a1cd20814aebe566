//! Helpers shared by the bake tests: an in-memory source that counts what is
//! asked of it, and comment builders.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Thread};
use kiln_bake::source::stamp_of;
use kiln_bake::{Source, Stamp};

/// Threads held in memory; stamps are content hashes, like the export file's.
#[derive(Default)]
pub struct MemorySource {
    pub threads: BTreeMap<String, Thread>,
    /// The `ids` argument of every `threads` call.
    pub loads: Vec<Option<Vec<String>>>,
}

impl MemorySource {
    pub fn new(threads: Vec<Thread>) -> Self {
        MemorySource {
            threads: threads.into_iter().map(|t| (t.id.clone(), t)).collect(),
            loads: Vec::new(),
        }
    }

    pub fn add(&mut self, thread_id: &str, comment: Comment) {
        let thread = self
            .threads
            .entry(thread_id.to_owned())
            .or_insert_with(|| Thread {
                id: thread_id.to_owned(),
                url: format!("https://example.org{thread_id}"),
                comments: Vec::new(),
            });
        thread.comments.push(comment);
    }
}

impl Source for MemorySource {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn identity(&mut self) -> Result<String> {
        Ok("memory".into())
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self
            .threads
            .iter()
            .map(|(id, t)| (id.clone(), stamp_of(t)))
            .collect())
    }

    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        self.loads.push(ids.map(<[String]>::to_vec));
        Ok(match ids {
            None => self.threads.values().cloned().collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.threads.get(id).cloned())
                .collect(),
        })
    }
}

pub fn comment(id: i64, parent: Option<i64>, author: &str, text: &str) -> Comment {
    Comment {
        id,
        parent,
        status: CommentStatus::Approved,
        author: author.into(),
        website: None,
        text: text.into(),
        created_at: unix_to_rfc3339(1_795_000_000 + id * 60),
        avatar: None,
        gravatar: None,
        likes: 0,
        verified: false,
        html: None,
    }
}

pub fn thread(id: &str, comments: Vec<Comment>) -> Thread {
    Thread {
        id: id.into(),
        url: format!("https://example.org{id}"),
        comments,
    }
}

/// A page as a theme would write it, with `slot` where the placeholder goes.
pub fn page(title: &str, slot: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><article><h1>{title}</h1><p>Body text.</p></article>\n{slot}\n</body></html>\n"
    )
}
