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
            if let Err(error) =
                check_form_token(self.signer, &sent.token, &comment.thread, sent.now, 0)
            {
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

#[cfg(test)]
mod tests {
    use kiln_bake::render::FORM_TOKEN_PURPOSE;

    use super::*;
    use crate::admission::testing::{InPlace, Scratch};
    use crate::store::NewComment;

    struct Receiver {
        config: Config,
        signer: Signer,
        limiter: RateLimiter,
        store: InPlace,
        published: i64,
        pending: i64,
        _dir: tempfile::TempDir,
    }

    const PAGE: &str = "http://127.0.0.1:4000/a/";

    impl Receiver {
        fn new(tune: impl FnOnce(&mut Config)) -> Receiver {
            let mut config = Config::default();
            config.reactions.enabled = true;
            config.spam.form_token = true;
            tune(&mut config);
            let Scratch {
                dir,
                mut store,
                limits,
                signer,
            } = Scratch::new();
            let mut add = |status| {
                let new = NewComment {
                    page_url: PAGE.into(),
                    ..NewComment::sample("/a/", "Ann", "hello")
                };
                store.insert(&new, status, 1).unwrap().unwrap().id
            };
            let (published, pending) = (add(Status::Approved), add(Status::Pending));
            Receiver {
                limiter: RateLimiter::for_likes(&config, limits),
                signer,
                store: InPlace::new(store),
                config,
                published,
                pending,
                _dir: dir,
            }
        }

        /// The form token bake puts in thread `thread`'s forms.
        fn token(&self, thread: &str) -> String {
            self.signer
                .sign(FORM_TOKEN_PURPOSE, thread, Some(2_000_000_000))
        }

        fn sent(&self, comment: i64, from: &str) -> SentLike {
            SentLike {
                comment: comment.to_string(),
                url: PAGE.into(),
                token: self.token("/a/"),
                client: from.parse().unwrap(),
                now: 1_800_000_000,
                moment: Moment::now(),
            }
        }

        async fn like(&self, sent: &SentLike) -> std::result::Result<Counted, LikeRefusal> {
            let likes = Likes {
                config: &self.config,
                signer: &self.signer,
                limiter: &self.limiter,
                store: &self.store,
            };
            likes.like(sent).await.unwrap()
        }

        fn rows(&self) -> i64 {
            self.store
                .0
                .lock()
                .unwrap()
                .likes("default", "/a/")
                .unwrap()
                .len() as i64
        }
    }

    #[tokio::test]
    async fn a_reader_likes_once_by_their_network_not_their_machine() {
        let r = Receiver::new(|_| {});
        let first = r.like(&r.sent(r.published, "192.0.2.7")).await.unwrap();
        assert_eq!((first.likes, first.new), (1, true));
        assert_eq!(first.page.as_str(), PAGE);
        // The same /24 is the same reader; another network is another.
        let again = r.like(&r.sent(r.published, "192.0.2.99")).await.unwrap();
        assert_eq!((again.likes, again.new), (1, false));
        let other = r.like(&r.sent(r.published, "198.51.100.1")).await.unwrap();
        assert_eq!((other.likes, other.new), (2, true));
        // The stored key is neither address, and differs per comment.
        let key = reader_key(&r.signer, "192.0.2.7".parse().unwrap(), r.published);
        assert!(!key.contains("192.0.2"), "{key}");
        assert_ne!(
            key,
            reader_key(&r.signer, "192.0.2.7".parse().unwrap(), r.pending)
        );
    }

    #[tokio::test]
    async fn bad_likes_are_refused_by_name_and_store_nothing() {
        let r = Receiver::new(|_| {});
        let cases: Vec<(SentLike, &str)> = vec![
            (
                SentLike {
                    comment: "one".into(),
                    ..r.sent(r.published, "192.0.2.7")
                },
                "invalid",
            ),
            (
                SentLike {
                    url: "https://evil.example/a/".into(),
                    ..r.sent(r.published, "192.0.2.7")
                },
                "origin_not_allowed",
            ),
            (r.sent(9_999, "192.0.2.7"), "like_not_found"),
            (r.sent(r.pending, "192.0.2.7"), "like_not_published"),
            (
                SentLike {
                    token: String::new(),
                    ..r.sent(r.published, "192.0.2.7")
                },
                "form_token_missing",
            ),
            (
                SentLike {
                    token: r.token("/another/"),
                    ..r.sent(r.published, "192.0.2.7")
                },
                "form_token_thread",
            ),
            (
                SentLike {
                    token: Signer::new(b"not the receiver's key").sign(
                        FORM_TOKEN_PURPOSE,
                        "/a/",
                        None,
                    ),
                    ..r.sent(r.published, "192.0.2.7")
                },
                "form_token_invalid",
            ),
        ];
        for (sent, code) in cases {
            let refusal = r.like(&sent).await.unwrap_err();
            assert_eq!(refusal.error().code, code, "{refusal:?}");
        }
        assert_eq!(r.rows(), 0, "nothing was stored");
    }

    #[tokio::test]
    async fn likes_have_their_own_limit_and_say_when_to_try_again() {
        let r = Receiver::new(|c| c.reactions.likes_per_ip = 2);
        for _ in 0..2 {
            r.like(&r.sent(r.published, "192.0.2.7")).await.unwrap();
        }
        let refusal = r.like(&r.sent(r.published, "192.0.2.7")).await.unwrap_err();
        let LikeRefusal::RateLimited { limit, wait } = refusal else {
            panic!("{refusal:?}");
        };
        assert_eq!(limit, Limit::Client);
        assert!(wait > 0 && wait <= 601, "{wait}");
        assert_eq!(refusal.error().code, "like_limit_ip");
        // Another address is not held back by this one's likes.
        assert!(r.like(&r.sent(r.published, "198.51.100.1")).await.is_ok());
    }
}
