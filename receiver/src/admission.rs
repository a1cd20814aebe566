//! The one road from a parsed submission to a stored comment. Every check
//! runs here, in this order: the fields, the honeypot, the form token, the
//! rate limits, the content rules, the notify box, then the rules that need
//! the database (the duplicate and known-author lookups, the parent) inside
//! the store's insert. The answer is a stored comment, a dropped one (the
//! honeypot), or a typed [`Rejection`] naming the check that refused it;
//! `http` turns that into a response in one place. Nothing here knows HTTP,
//! so the checks can be tested alone.

use std::future::Future;
use std::net::IpAddr;

use anyhow::Result;

use crate::abuse::{check_content, check_form_token, Counters, Limit, RateLimiter, Verdict};
use crate::address::anonymize;
use crate::config::Config;
use crate::signing::Signer;
use crate::store::{Moment, Posted, Posting, Refusal, Status, Store, StoredComment};
use crate::submission::{Checked, FieldError, Submission};

#[cfg(test)]
mod batched;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

/// How the pipeline reaches the store. The receiver runs each call off the
/// async threads, since SQLite blocks; tests call it in place.
pub trait WithStore: Sync {
    fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send;

    /// Stores a submission (`Store::post`). The receiver overrides this to
    /// batch submissions on SQLite (group commit); by default it is one
    /// `with_store` call.
    fn post(&self, posting: Posting) -> impl Future<Output = Posted> + Send {
        self.with_store(move |store| store.post(&posting))
    }
}

/// The receiver's shared store: every call as the pool or the writer runs
/// it, and submissions in the writer's batches (group commit on SQLite).
impl WithStore for crate::store::SharedStore {
    fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send {
        crate::store::SharedStore::with_store(self, f)
    }

    fn post(&self, posting: Posting) -> impl Future<Output = Posted> + Send {
        crate::store::SharedStore::post(self, posting)
    }
}

/// What the checks consult: the receiver's settings, keys, limits, counts
/// and store.
pub struct Admission<'a, S> {
    pub config: &'a Config,
    pub signer: &'a Signer,
    pub limiter: &'a RateLimiter,
    pub counters: &'a Counters,
    pub store: &'a S,
}

/// A parsed submission and what arrived with it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub submission: Submission,
    /// Whether the reader asked for an email when someone replies.
    pub notify: bool,
    /// Whether the honeypot field (`abuse::HONEYPOT_FIELD`) was filled.
    pub honeypot: bool,
    /// The form token; empty when none was sent.
    pub token: String,
    /// Signed in as someone `auth.trusted` names: published without
    /// moderation, unless a spam rule holds it.
    pub trusted: bool,
    /// The signed-in author's OpenID subject, stored with the comment.
    pub identity_subject: Option<String>,
    /// The client's address, as trusted proxies report it.
    pub client: IpAddr,
    /// When it arrived, in Unix seconds (tokens, the store) and as the
    /// moment the rate limits count.
    pub now: i64,
    pub moment: Moment,
}

/// A submission that passed.
#[derive(Debug)]
pub enum Admitted {
    /// Stored, pending or published; `page` is where the reader goes back to.
    Stored {
        comment: StoredComment,
        /// Its text as HTML, as stored.
        html: String,
        page: url::Url,
    },
    /// The honeypot was filled: nothing is stored, but the answer must look
    /// like a stored comment's, so a bot learns nothing.
    Dropped(Checked),
}

/// Why a submission was refused. The first two are found while the body is
/// read, before the pipeline runs; the rest by the pipeline's checks.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The body is longer than `server.max_body_bytes`.
    TooLarge { limit: usize },
    /// The body is not a form or JSON object of the comment's fields.
    Unreadable(FieldError),
    /// Fields that break the rules: every one, in form order.
    Fields(Vec<FieldError>),
    /// The form token is missing, forged, expired, for another thread, or
    /// was used sooner than a person writes.
    FormToken(FieldError),
    /// A rate limit, and the seconds until it allows another post.
    RateLimited { limit: Limit, wait: u64 },
    /// A content rule (links, a blocklist) refused the text.
    Content(FieldError),
    /// The same text on the same thread from the same author, recently.
    Duplicate,
    /// Mail about replies was asked for without an address.
    NotifyWithoutEmail,
    /// The store would not take it: the parent cannot be answered.
    Parent(Refusal),
}

impl Rejection {
    /// Every field error, the one an answer names first.
    pub fn errors(&self) -> Vec<FieldError> {
        match self {
            Rejection::TooLarge { limit } => vec![FieldError::new(
                "body",
                "too_large",
                format!("The submission is larger than {limit} bytes. Please shorten your comment."),
            )],
            Rejection::Unreadable(error) | Rejection::FormToken(error) | Rejection::Content(error) => {
                vec![error.clone()]
            }
            Rejection::Fields(errors) => errors.clone(),
            Rejection::RateLimited { limit, wait } => vec![rate_limited(*limit, *wait)],
            Rejection::Duplicate => vec![FieldError::new(
                "text",
                "duplicate",
                "You have posted this same comment on this page before. It is waiting for a moderator or already on the page, so there is no need to post it again.",
            )],
            Rejection::NotifyWithoutEmail => vec![FieldError::new(
                "email",
                "required",
                "To get an email when someone replies, give your email address (or untick the box).",
            )],
            Rejection::Parent(refusal) => vec![parent_error(refusal)],
        }
    }

    /// The error an answer names, logs and counts (its code is the rule).
    pub fn first(&self) -> FieldError {
        self.errors()
            .into_iter()
            .next()
            .unwrap_or_else(|| FieldError::new("body", "invalid", "The submission was refused."))
    }
}

/// A reply to a comment that cannot be answered, named for the reader.
pub fn parent_error(refusal: &Refusal) -> FieldError {
    let code = match refusal {
        Refusal::ParentMissing(_) => "parent_not_found",
        Refusal::ParentNotPublished(_) => "parent_not_published",
        _ => "parent_other_thread",
    };
    FieldError::new(
        "parent",
        code,
        format!("You are replying to a comment that cannot be answered: {refusal}."),
    )
}

/// Says which limit was reached and when to post again; the form page keeps
/// the text, so the reader need not type it twice.
fn rate_limited(limit: Limit, wait: u64) -> FieldError {
    let minutes = wait.div_ceil(60);
    let when = format!("in {minutes} minute{}", if minutes == 1 { "" } else { "s" });
    let message = match limit {
        Limit::Client => format!("You have posted several comments in a short time. Please post this one again {when}; your text is kept below."),
        Limit::Thread => format!("This page is receiving a lot of comments right now. Please post yours again {when}; your text is kept below."),
        Limit::Global => format!("The comment service is receiving a lot of comments right now. Please post yours again {when}; your text is kept below."),
    };
    FieldError::new("text", limit.rule(), message)
}

/// How the pipeline stops early: refused, or the store failed.
enum Stop {
    Rejected(Rejection),
    Failed(anyhow::Error),
}

impl From<Rejection> for Stop {
    fn from(rejection: Rejection) -> Self {
        Stop::Rejected(rejection)
    }
}

impl From<anyhow::Error> for Stop {
    fn from(error: anyhow::Error) -> Self {
        Stop::Failed(error)
    }
}

impl<S: WithStore> Admission<'_, S> {
    /// Takes `sent` through every check; `Err` only when the store fails.
    pub async fn admit(&self, sent: &Sent) -> Result<std::result::Result<Admitted, Rejection>> {
        match self.run(sent).await {
            Ok(admitted) => Ok(Ok(admitted)),
            Err(Stop::Rejected(rejection)) => Ok(Err(rejection)),
            Err(Stop::Failed(error)) => Err(error),
        }
    }

    async fn run(&self, sent: &Sent) -> std::result::Result<Admitted, Stop> {
        let config = self.config;
        let client = anonymize(sent.client);
        let checked = sent
            .submission
            .check(config, config.privacy.store_ip.then(|| client.clone()))
            .map_err(Rejection::Fields)?;
        // The site's content rules; limits and form tokens are the same in
        // every site's (`config::Sites`).
        let spam = &*config.spam_of(&checked.comment.site)?;

        if spam.honeypot && sent.honeypot {
            self.counters.count("honeypot");
            tracing::info!(rule = "honeypot", client = %client, "submission dropped");
            return Ok(Admitted::Dropped(checked));
        }
        let thread = &checked.comment.thread;
        if spam.form_token {
            let min_fill = spam.min_fill_seconds;
            if let Err(error) =
                check_form_token(self.signer, &sent.token, thread, sent.now, min_fill)
            {
                tracing::info!(rule = error.code, client = %client, "submission refused: form token");
                return Err(Rejection::FormToken(error).into());
            }
        }
        self.limiter
            .admit(sent.client, thread, sent.moment)
            .await?
            .map_err(|(limit, wait)| Rejection::RateLimited { limit, wait })?;
        let held = match check_content(spam, &checked.comment, sent.client) {
            Verdict::Reject(error) => {
                tracing::info!(rule = error.code, client = %client, "submission refused by a spam rule");
                return Err(Rejection::Content(error).into());
            }
            Verdict::Moderate(rule) => Some(rule),
            Verdict::Pass => None,
        };

        if sent.notify && checked.comment.email.is_none() {
            return Err(Rejection::NotifyWithoutEmail.into());
        }

        // The rules that need the database (a duplicate, a known author, the
        // parent) are the store's, in the transaction that stores the comment.
        let Checked { mut comment, page } = checked;
        comment.identity_subject = sent.identity_subject.clone();
        // Rendered here, beside the other requests, rather than on the
        // store's one writer thread; the answer shows the same HTML.
        let html = kiln_bake::markdown::to_html(&comment.text);
        let publish_now = held.is_none() && !config.moderation_of(&comment.site).enabled;
        let posting = Posting {
            html: Some(html.clone()),
            comment,
            notify: sent.notify,
            status: if publish_now || (held.is_none() && sent.trusted) {
                Status::Approved
            } else {
                Status::Pending
            },
            approve_known: held.is_none() && spam.auto_approve_known,
            duplicate_since: (spam.duplicate_days > 0)
                .then(|| sent.now - i64::from(spam.duplicate_days) * 86_400),
            now: sent.now,
        };
        let stored = self
            .store
            .post(posting)
            .await?
            .map_err(|refusal| match refusal {
                Refusal::Duplicate => Rejection::Duplicate,
                parent => Rejection::Parent(parent),
            })?;
        if let Some(rule) = held {
            self.counters.held(rule);
            tracing::info!(rule, client = %client, "submission held for moderation by a spam rule");
        }
        // Ids only: the author's name and address stay out of the logs.
        tracing::info!(comment = stored.id, thread = %stored.thread, status = stored.status.as_str(), "comment received");
        self.counters.count(crate::abuse::ACCEPTED);
        Ok(Admitted::Stored {
            comment: stored,
            html,
            page,
        })
    }
}
