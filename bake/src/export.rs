//! The versioned export format: the one shape in which approved comments leave
//! the receiver, whether through `kiln export` or the export API, and the shape
//! every bake source is turned into. Documented in `docs/export-format.md`.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The value of the `format` field; anything else is not a kiln export.
pub const FORMAT: &str = "kiln-export";
/// The current version of the format. Readers refuse newer versions and
/// still read older ones (version 1 had no `avatar` or `gravatar`, version 2
/// no `mail`, version 3 no `likes` or `verified`).
pub const VERSION: u32 = 4;

/// A whole export: every thread that has at least one published comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub format: String,
    pub version: u32,
    /// When the export was made, RFC 3339 in UTC.
    pub generated_at: String,
    /// Whether the receiver sends mail, so a bake offers the "email me when
    /// someone replies" box only when a reply can be mailed. Absent before
    /// version 3 (and then the box is shown, as those versions did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<bool>,
    pub threads: Vec<Thread>,
}

/// One thread: the comments shown by every placeholder with this id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    /// The opaque id the site chose (by default the page's URL path).
    pub id: String,
    /// The page URL the thread's first comment was posted from.
    pub url: String,
    /// Published comments in the order they were posted (by id). Parents
    /// always come before replies.
    pub comments: Vec<Comment>,
}

/// One published comment. E-mail addresses and IP addresses are never exported
/// (with `privacy.gravatar` on, a hash of the address is: see `gravatar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub id: i64,
    /// The comment this one answers, in the same thread.
    pub parent: Option<i64>,
    /// `approved`, or `deleted` for a removed comment kept because it has replies.
    pub status: CommentStatus,
    pub author: String,
    pub website: Option<String>,
    /// The text as the commenter wrote it, in Markdown. Rendering happens at bake time.
    pub text: String,
    /// RFC 3339 in UTC.
    pub created_at: String,
    /// The avatar key (see `avatar`): 16 hex digits derived from the
    /// author's address or name under the receiver's secret salt. Absent for
    /// deleted markers, comments with neither, and version 1 documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// The SHA-256 of the author's trimmed, lower-cased address, as Gravatar
    /// looks it up; only with `privacy.gravatar` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravatar: Option<String>,
    /// How many readers liked it (`[reactions]`); absent when none did, and
    /// before version 4.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub likes: u64,
    /// The author had signed in with the receiver's OpenID provider, so
    /// `author` is the name it verified. Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    /// `text` already rendered and sanitized by this kiln's Markdown renderer
    /// (see `markdown::VERSION`), when the source kept it. Never read from or
    /// written to the export format: HTML from outside is never trusted.
    #[serde(skip)]
    pub html: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Approved,
    Deleted,
}

impl Export {
    /// An export stamped with the current time.
    pub fn new(threads: Vec<Thread>) -> Self {
        Export {
            format: FORMAT.to_owned(),
            version: VERSION,
            generated_at: now_rfc3339(),
            mail: None,
            threads,
        }
    }

    /// Parses and checks an export document.
    pub fn parse(json: &str) -> Result<Self> {
        // Look at the header first, so a newer version gets a clear message
        // instead of an unknown-field error.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let header: Header = serde_json::from_str(json).context("not a JSON object")?;
        if header.format.as_deref() != Some(FORMAT) {
            bail!("`format` is not \"{FORMAT}\"; this is not a kiln export");
        }
        match header.version {
            Some(v) if v > VERSION => {
                bail!("export version {v} is newer than this kiln understands ({VERSION}); upgrade kiln")
            }
            Some(_) => {}
            None => bail!("`version` is missing"),
        }
        let export: Export = serde_json::from_str(json).context("malformed kiln export")?;
        export.check()?;
        if export.version < 4 {
            let newer = export
                .threads
                .iter()
                .flat_map(|t| &t.comments)
                .find_map(|c| c.verified.then_some(c.id));
            if let Some(id) = newer {
                bail!("comment {id} has `verified`, which came with version 4; make the document version 4");
            }
        }
        if export.version < 3 && export.mail.is_some() {
            bail!("`mail` came with version 3; make the document version 3");
        }
        if export.version < 4 {
            let newer = export
                .threads
                .iter()
                .flat_map(|t| &t.comments)
                .find_map(|c| (c.likes > 0).then_some(c.id));
            if let Some(id) = newer {
                bail!("comment {id} has `likes`, which came with version 4; make the document version 4");
            }
        }
        if export.version < 2 {
            // Version 1 has exactly its own fields; these came with version 2.
            let newer = export
                .threads
                .iter()
                .flat_map(|t| &t.comments)
                .find_map(|c| (c.avatar.is_some() || c.gravatar.is_some()).then_some(c.id));
            if let Some(id) = newer {
                bail!("comment {id} has `avatar` or `gravatar`, which version 1 does not have; make the document version 2");
            }
        }
        Ok(export)
    }

    /// Checks the invariants readers rely on: unique thread ids, unique
    /// comment ids, parents that exist earlier in the same thread, and
    /// avatar keys and Gravatar hashes in lower-case hex of their length.
    pub fn check(&self) -> Result<()> {
        let mut threads = std::collections::HashSet::new();
        let mut comments = std::collections::HashSet::new();
        for thread in &self.threads {
            if !threads.insert(thread.id.as_str()) {
                bail!("thread {:?} appears twice", thread.id);
            }
            let mut seen = std::collections::HashSet::new();
            for comment in &thread.comments {
                if let Some(parent) = comment.parent {
                    if !seen.contains(&parent) {
                        bail!(
                            "comment {} in thread {:?} answers {parent}, which is not earlier in the same thread",
                            comment.id,
                            thread.id
                        );
                    }
                }
                if comment.avatar.as_deref().is_some_and(|a| !is_key(a)) {
                    bail!(
                        "comment {}: `avatar` is not {} lower-case hex digits",
                        comment.id,
                        KEY_LEN
                    );
                }
                if comment
                    .gravatar
                    .as_deref()
                    .is_some_and(|g| !is_gravatar_hash(g))
                {
                    bail!(
                        "comment {}: `gravatar` is not {} lower-case hex digits",
                        comment.id,
                        GRAVATAR_LEN
                    );
                }
                if !comments.insert(comment.id) {
                    bail!("comment id {} appears twice", comment.id);
                }
                seen.insert(comment.id);
            }
        }
        Ok(())
    }

    /// The threads keyed by id, for lookups during a bake.
    pub fn into_map(self) -> BTreeMap<String, Thread> {
        self.threads
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Hex digits in an avatar key (see `crate::avatar`): 64 bits, far more than an identicon shows.
pub const KEY_LEN: usize = 16;
/// Hex digits in a Gravatar hash (SHA-256).
pub const GRAVATAR_LEN: usize = 64;

/// Whether `s` is an avatar key as the export carries it.
pub fn is_key(s: &str) -> bool {
    is_lower_hex(s, KEY_LEN)
}

/// Whether `s` is a Gravatar hash as the export carries it.
pub fn is_gravatar_hash(s: &str) -> bool {
    is_lower_hex(s, GRAVATAR_LEN)
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The current time as RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    unix_to_rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Formats seconds since the epoch as RFC 3339 in UTC (`2026-11-23T12:00:00Z`).
pub fn unix_to_rfc3339(secs: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: i64, parent: Option<i64>) -> Comment {
        Comment {
            id,
            parent,
            status: CommentStatus::Approved,
            author: "Ann".into(),
            website: None,
            text: "hi".into(),
            created_at: unix_to_rfc3339(0),
            avatar: None,
            gravatar: None,
            likes: 0,
            verified: false,
            html: None,
        }
    }

    #[test]
    fn round_trips() {
        let export = Export::new(vec![Thread {
            id: "/a/".into(),
            url: "https://example.org/a/".into(),
            comments: vec![comment(1, None), comment(2, Some(1))],
        }]);
        let json = serde_json::to_string(&export).unwrap();
        assert!(
            !json.contains("avatar"),
            "absent fields are left out: {json}"
        );
        assert_eq!(Export::parse(&json).unwrap(), export);

        let mut with_avatars = export.clone();
        with_avatars.threads[0].comments[0].avatar = Some("0123456789abcdef".into());
        with_avatars.threads[0].comments[1].gravatar = Some("ab".repeat(32));
        let json = serde_json::to_string(&with_avatars).unwrap();
        assert_eq!(Export::parse(&json).unwrap(), with_avatars);
    }

    #[test]
    fn likes_come_with_version_4() {
        let mut liked = Export::new(vec![Thread {
            id: "/a/".into(),
            url: "https://example.org/a/".into(),
            comments: vec![comment(1, None)],
        }]);
        liked.threads[0].comments[0].likes = 3;
        let json = serde_json::to_string(&liked).unwrap();
        assert!(json.contains(r#""likes":3"#), "{json}");
        assert_eq!(Export::parse(&json).unwrap(), liked);
        let err = Export::parse(&json.replace(r#""version":4"#, r#""version":3"#)).unwrap_err();
        assert!(err.to_string().contains("version 4"), "{err}");
    }

    #[test]
    fn verified_comes_with_version_4_and_is_left_out_when_false() {
        let mut export = Export::new(vec![Thread {
            id: "/a/".into(),
            url: "https://example.org/a/".into(),
            comments: vec![comment(1, None), comment(2, Some(1))],
        }]);
        assert!(!serde_json::to_string(&export).unwrap().contains("verified"));
        export.threads[0].comments[1].verified = true;
        let json = serde_json::to_string(&export).unwrap();
        assert!(json.contains(r#""verified":true"#), "{json}");
        assert_eq!(Export::parse(&json).unwrap(), export);
        let v3 = json.replace(r#""version":4"#, r#""version":3"#);
        let err = Export::parse(&v3).unwrap_err();
        assert!(err.to_string().contains("version 4"), "{err}");
    }

    #[test]
    fn reads_version_1_which_has_no_avatars() {
        let v1 = r#"{"format":"kiln-export","version":1,"generated_at":"2026-11-23T12:00:00Z",
            "threads":[{"id":"/a/","url":"https://example.org/a/","comments":[{"id":1,
            "parent":null,"status":"approved","author":"Ann","website":null,"text":"hi",
            "created_at":"2026-11-23T11:58:02Z"}]}]}"#;
        let export = Export::parse(v1).unwrap();
        assert_eq!(export.threads[0].comments[0].avatar, None);
        let err = Export::parse(&v1.replace(
            r#""text":"hi","#,
            r#""text":"hi","avatar":"0123456789abcdef","#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("version 1"), "{err}");
    }

    #[test]
    fn refuses_avatars_that_are_not_keys() {
        for (field, value) in [
            ("avatar", "0123456789ABCDEF"),
            ("avatar", "<script>alert(1)</script>"),
            ("gravatar", "0123456789abcdef"),
        ] {
            let json = format!(
                r#"{{"format":"kiln-export","version":2,"generated_at":"2026-11-23T12:00:00Z",
                "threads":[{{"id":"/a/","url":"https://example.org/a/","comments":[{{"id":1,
                "parent":null,"status":"approved","author":"Ann","website":null,"text":"hi",
                "created_at":"2026-11-23T11:58:02Z","{field}":"{value}"}}]}}]}}"#
            );
            let err = Export::parse(&json).unwrap_err();
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        }
    }

    #[test]
    fn refuses_newer_versions_and_foreign_documents() {
        let err =
            Export::parse(r#"{"format":"kiln-export","version":99,"threads":[]}"#).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
        let err = Export::parse(r#"{"format":"isso","version":1}"#).unwrap_err();
        assert!(err.to_string().contains("not a kiln export"), "{err}");
    }

    #[test]
    fn refuses_orphan_replies() {
        let export = Export::new(vec![Thread {
            id: "/a/".into(),
            url: "https://example.org/a/".into(),
            comments: vec![comment(2, Some(1))],
        }]);
        assert!(export
            .check()
            .unwrap_err()
            .to_string()
            .contains("answers 1"));
    }
}
