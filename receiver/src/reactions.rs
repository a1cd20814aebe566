//! Likes (`[reactions]`, issue 18): the one road from a like form's fields
//! to a counted like, as `admission` is for comments. Its checks, in
//! order: the comment id, the page to come back to (one of `sites.origins`,
//! so the answer's redirect is never an open one), the comment (it must be
//! published), the form token (the thread's, as the comment form carries
//! it, when `spam.form_token` is on), the like limits (`reactions.*`,
//! counted apart from posts), then the store.
//!
//! One like per reader per comment, without a cookie: a reader is known by
//! `reader_key`, a keyed hash (the receiver's secret) of their anonymized
//! address (`address::anonymize`) and the comment id. Only that hash is
//! stored, so the table holds no address, and one reader's likes of two
//! comments cannot be linked to each other. Readers behind one network
//! (a /24, a /48) share a key: the cost of storing no more than that.
//! Nothing here knows HTTP.

use std::net::IpAddr;

use anyhow::Result;

use crate::abuse::{check_form_token, Limit, RateLimiter};
use crate::address::anonymize;
use crate::admission::WithStore;
use crate::config::Config;
use crate::signing::Signer;
use crate::store::{Liked, Moment, Status};
use crate::submission::{check_page_url, FieldError};

/// The purpose reader keys are hashed under (see `Signer::digest`).
pub const READER_PURPOSE: &str = "like-reader";

/// The key a reader's like of `comment` is stored under.
pub fn reader_key(signer: &Signer, client: IpAddr, comment: i64) -> String {
    signer.digest(READER_PURPOSE, &format!("{}\0{comment}", anonymize(client)))
}

/// A like as it arrived: the form's fields and where it came from.
#[derive(Debug, Clone)]
pub struct SentLike {
    /// The comment's id, as typed in the form.
    pub comment: String,
    /// The page to come back to.
    pub url: String,
    /// The thread's form token; empty when none was sent.
    pub token: String,
    /// The client's address, as trusted proxies report it.
    pub client: IpAddr,
    /// Unix seconds (tokens, the store) and the moment the limits count.
    pub now: i64,
    pub moment: Moment,
}

/// A like that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub comment: i64,
    /// The comment's likes now.
    pub likes: u64,
    /// False when this reader had liked it before: nothing changed.
    pub new: bool,
    /// Where the reader goes back to (checked against `sites.origins`).
    pub page: url::Url,
}

/// Why a like was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LikeRefusal {
    /// A field cannot be read: the comment id, or the page (`url`).
    Malformed(FieldError),
    /// No comment has this id (or it was deleted).
    Missing(i64),
    /// The comment is not on the page: pending, spam, or a deleted marker.
    NotPublished(i64),
    /// The form token is missing, forged, expired or for another thread.
    FormToken(FieldError),
    /// A like limit, and the seconds until it allows another like.
    RateLimited { limit: Limit, wait: u64 },
}

impl LikeRefusal {
    /// The refusal as the reader reads it, and the rule logs and `/metrics`
    /// name.
    pub fn error(&self) -> FieldError {
        match self {
            LikeRefusal::Malformed(error) | LikeRefusal::FormToken(error) => error.clone(),
            LikeRefusal::Missing(id) => FieldError::new(
                "comment",
                "like_not_found",
                format!("There is no comment {id} to like: it may have been deleted."),
            ),
            LikeRefusal::NotPublished(id) => FieldError::new(
                "comment",
                "like_not_published",
                format!("Comment {id} is not published, so it cannot be liked."),
            ),
            LikeRefusal::RateLimited { limit, wait } => {
                let minutes = wait.div_ceil(60);
                let when = format!("in {minutes} minute{}", if minutes == 1 { "" } else { "s" });
                let who = match limit {
                    Limit::Client => "You have liked many comments in a short time",
                    Limit::Thread => "This page is receiving a lot of likes right now",
                    Limit::Global => "The comment service is receiving a lot of likes right now",
                };
                let rule = match limit {
                    Limit::Client => "like_limit_ip",
                    Limit::Thread => "like_limit_thread",
                    Limit::Global => "like_limit_global",
                };
                FieldError::new("comment", rule, format!("{who}. Please try again {when}."))
            }
        }
    }
}

/// What the checks consult.
pub struct Likes<'a, S> {
    pub config: &'a Config,
    pub signer: &'a Signer,
    pub limiter: &'a RateLimiter,
    pub store: &'a S,
}

impl<S: WithStore> Likes<'_, S> {
    /// Takes `sent` through every check and counts it; `Err` only when the
    /// store fails.
    pub async fn like(&self, sent: &SentLike) -> Result<std::result::Result<Counted, LikeRefusal>> {
        let id = match sent.comment.trim().parse::<i64>() {
            Ok(id) if id > 0 => id,
            _ => {
                return Ok(Err(LikeRefusal::Malformed(FieldError::new(
                    "comment",
                    "invalid",
                    "This like button names no comment. Reload the page and try again.",
                ))))
            }
        };
        let page = match check_page_url(&sent.url, self.config) {
            Ok(page) => page,
            Err(error) => return Ok(Err(LikeRefusal::Malformed(error))),
        };
        let found = self.store.with_store(move |store| store.get(id)).await?;
        let comment = match found {
            None => return Ok(Err(LikeRefusal::Missing(id))),
            Some(c) if c.status != Status::Approved => {
                return Ok(Err(LikeRefusal::NotPublished(id)))
            }
            Some(c) => c,
        };
        if self.config.spam.form_token {
            // A like is one click: no time to fill in, so no minimum.
            if let Err(error) = check_form_token(self.signer, &sent.token, &comment.thread, sent.now, 0) {
                return Ok(Err(LikeRefusal::FormToken(FieldError::new(
                    "token",
                    error.code,
                    "This like button was not made for this comment by this site, or has expired. Reload the page and try again.",
                ))));
            }
        }
        if let Err((limit, wait)) = self
            .limiter
            .admit(sent.client, &comment.thread, sent.moment)
            .await?
        {
            return Ok(Err(LikeRefusal::RateLimited { limit, wait }));
        }
        let reader = reader_key(self.signer, sent.client, id);
        let now = sent.now;
        let liked = self
            .store
            .with_store(move |store| store.like(id, &reader, now))
            .await?;
        Ok(match liked {
            Liked::Counted(likes) => Ok(Counted {
                comment: id,
                likes,
                new: true,
                page,
            }),
            Liked::Already(likes) => Ok(Counted {
                comment: id,
                likes,
                new: false,
                page,
            }),
            // Unpublished or deleted since it was read above.
            Liked::NotPublished(_) => Err(LikeRefusal::NotPublished(id)),
            Liked::Missing => Err(LikeRefusal::Missing(id)),
        })
    }
}
