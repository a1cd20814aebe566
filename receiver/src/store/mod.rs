//! The store owns every SQL statement kiln runs. The receiver, the moderation
//! commands and bake's database source all go through it, so the schema has
//! one home and one set of invariants: a comment is stored whole or not at
//! all, a reply's parent is approved and in the same thread, and every change
//! to what a thread shows bumps that thread's change sequence.
//!
//! Callers see the `Store` trait and the types here; each backend lives in its
//! own folder with its own migrations (`sqlite/`), and `open.rs` is the one
//! place that chooses between them.

pub mod backup;
mod coordination;
pub mod copy;
pub mod memory;
mod open;
mod postgres;
mod restore;
mod shared;
mod spill;
mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
mod writer;

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{Export, Thread};

pub use coordination::{
    Coordination, Event, Holder, Leadership, Leading, Limit, LoginAttempt, LoginLimits, Moment,
    PostLimits, PublishRun,
};
pub use open::{
    coordination, is_database, is_url, open, open_at, open_source, shared, wake_on_queued_mail,
    Location, Mode, OutboxWake,
};
#[cfg(test)]
pub(crate) use postgres::scratch;
pub use shared::SharedStore;
pub use spill::{Fields, ImportFields, Spill, SpillWriter};
/// Reading an Isso database, for `kiln import isso`.
pub use sqlite::isso;

/// One connection to kiln's database. Every method is one transaction, so
/// callers never see a connection or a transaction. Methods take `&mut self`
/// even to read, because not every driver can read through a shared
/// reference; the trait is object safe, and callers hold a `&mut dyn Store`.
pub trait Store: Send {
    /// Makes this connection's inserts and approvals queue the mail they
    /// cause. Off by default: without a mail server the outbox would only
    /// grow. `kiln serve` and the moderation commands turn it on when mail is.
    fn set_mail_events(&mut self, on: bool);

    /// Stores a submission with the author's choice about reply
    /// notifications: the thread is created by its first comment, a parent
    /// must be published and in the same thread, and with `notify` and an
    /// address the comment is subscribed and the mail it causes queued, all
    /// in one transaction. When this returns `Ok`, the comment is durable.
    fn insert_opted(
        &mut self,
        new: &NewComment,
        notify: bool,
        status: Status,
        now: i64,
    ) -> Result<std::result::Result<StoredComment, Refusal>>;

    /// `insert_opted` without reply notifications.
    fn insert(
        &mut self,
        new: &NewComment,
        status: Status,
        now: i64,
    ) -> Result<std::result::Result<StoredComment, Refusal>> {
        self.insert_opted(new, false, status, now)
    }

    /// Stores a submission after the rules that need the database, in that
    /// order: the duplicate check, the known author's approval (see
    /// `Posting`), then `insert_opted`. A duplicate is `Refusal::Duplicate`.
    /// PostgreSQL runs the lookups and the insert one after another;
    /// SQLite runs them in one transaction, through `post_batch`.
    fn post(&mut self, posting: &Posting) -> Posted {
        let status = posting.settle(
            self,
            |store, c, since| {
                store.is_duplicate(
                    &c.site,
                    &c.thread,
                    &c.text,
                    c.remote_addr.as_deref(),
                    c.email.as_deref(),
                    since,
                )
            },
            |store, email| store.has_approved_comment(email),
        )?;
        match status {
            Ok(status) => self.insert_opted(&posting.comment, posting.notify, status, posting.now),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// Stores several submissions, answering each as `post` would, in
    /// order: a later one sees the earlier ones (a reply to one, a
    /// duplicate of one). A refused or failed submission leaves nothing
    /// behind and does not stop the others. On SQLite (the receiver's group
    /// commit, `writer.rs`) this is one transaction with one savepoint per
    /// submission, so one fsync makes the whole batch durable; the outer
    /// `Err` means nothing of the batch was stored. By default, each is a
    /// `post` of its own.
    fn post_batch(&mut self, batch: &[Posting]) -> Result<Vec<Posted>> {
        Ok(batch.iter().map(|posting| self.post(posting)).collect())
    }

    fn get(&mut self, id: i64) -> Result<Option<StoredComment>>;

    /// Comments in one state, newest first.
    fn by_status(&mut self, status: Status) -> Result<Vec<StoredComment>>;

    // Moderation. Each is all or nothing: an unknown id, or one in the wrong
    // state, refuses the whole batch.

    /// Publishes pending comments.
    fn approve(&mut self, ids: &[i64], now: i64) -> Result<std::result::Result<(), Refusal>>;
    /// Throws away pending comments.
    fn reject(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
    /// Deletes comments in any state; one with replies stays as a "deleted"
    /// marker so the replies keep their place.
    fn delete(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
    /// Marks pending comments as spam: off the page and out of the queue.
    fn spam(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
    /// Returns spam to the queue.
    fn not_spam(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
    /// Takes published comments back into the queue.
    fn unpublish(&mut self, ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
    /// Replaces a comment's fields; with `hold`, a published comment goes
    /// back to the queue.
    fn edit(
        &mut self,
        id: i64,
        edit: &CommentEdit,
        hold: bool,
    ) -> Result<std::result::Result<StoredComment, Refusal>>;

    /// What the admin page lists, newest first.
    fn search(&mut self, search: &Search) -> Result<Vec<StoredComment>>;
    /// How many comments are in one state.
    fn count(&mut self, status: Status) -> Result<u64>;
    /// How many comments of one site's threads are in one state.
    fn count_on(&mut self, site: &str, status: Status) -> Result<u64>;

    /// Counts per state, for `kiln queue` and the admin page.
    fn counts(&mut self) -> Result<Vec<(Status, u64)>> {
        [
            Status::Pending,
            Status::Approved,
            Status::Spam,
            Status::Deleted,
        ]
        .into_iter()
        .map(|s| Ok((s, self.count(s)?)))
        .collect()
    }

    /// Counts per state of these sites' comments together, for a moderator
    /// limited to them.
    fn counts_on(&mut self, sites: &[String]) -> Result<Vec<(Status, u64)>> {
        [
            Status::Pending,
            Status::Approved,
            Status::Spam,
            Status::Deleted,
        ]
        .into_iter()
        .map(|s| {
            let mut n = 0;
            for site in sites {
                n += self.count_on(site, s)?;
            }
            Ok((s, n))
        })
        .collect()
    }

    /// What avatar keys are made with: this database's salt, and whether
    /// comments carry Gravatar hashes too (`privacy.gravatar`).
    fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys>;

    /// One site's threads with their published comments in the order they
    /// were posted, threads ordered by key; optionally only the threads with
    /// these keys.
    fn published_threads(
        &mut self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>>;

    /// Every published comment of one site, in the export format.
    fn export(&mut self, site: &str, avatars: &AvatarKeys) -> Result<Export> {
        Ok(Export::new(self.published_threads(site, None, avatars)?))
    }

    /// Loads an export's published comments, keeping their ids and avatar
    /// keys, in one transaction (through `import_batch`); the same export
    /// again adds nothing, and an id another comment holds fails the whole
    /// load without changing anything. One set of rules for every backend:
    /// the export is an import batch (`restore.rs`).
    fn import(&mut self, export: &Export) -> Result<()> {
        export.check()?;
        let batch = restore::batch_of_export(export)?;
        let outcome = self.import_batch(&batch, true)?;
        if let Some((id, why)) = outcome.unplaced.first() {
            anyhow::bail!("comment {id} of the export cannot be placed: {why}");
        }
        Ok(())
    }

    /// Stores comments brought from another system (or a kiln export) in
    /// one transaction, with their statuses, times and parent links, and
    /// remembers each by its source id so that the same batch stored again
    /// adds nothing. Queues no mail. With `commit` false everything is
    /// rolled back, and the outcome tells what storing would have done.
    fn import_batch(&mut self, batch: &ImportBatch, commit: bool) -> Result<ImportOutcome>;

    /// For every thread of one site that ever showed a comment: its change
    /// sequence and how many comments it shows.
    fn thread_stamps(&mut self, site: &str) -> Result<Vec<(String, u64, u64)>>;
    /// The database's change sequence: it moves whenever what some thread
    /// shows changes. The publisher watches it.
    fn change_seq(&mut self) -> Result<u64>;
    /// For each key, the approved comments its thread on `site` shows (a
    /// "deleted" marker does not count; 0 for a thread nobody commented on).
    fn approved_counts(&mut self, site: &str, keys: &[String]) -> Result<Vec<u64>>;

    // Reactions.

    /// Records that `reader` (an opaque key: see `crate::reactions`) likes
    /// comment `comment`, which must be published; once per reader, so a
    /// second like changes nothing. A counted like marks the comment's
    /// thread changed, so the next bake shows the new count.
    fn like(&mut self, comment: i64, reader: &str, now: i64) -> Result<Liked>;
    /// The like counts of the published comments of thread `thread` on
    /// `site` that have any, by comment id.
    fn likes(&mut self, site: &str, thread: &str) -> Result<Vec<(i64, u64)>>;

    // Mail.

    /// Takes up to `limit` messages that are due at `now` and that nobody
    /// holds (or whose holder's lease ran out), oldest first, for `claimer`
    /// until `lease_until`, in one short transaction. Senders claiming at
    /// the same moment, on any number of connections and receivers, never
    /// get the same message; one that dies mid-way leaves its messages to
    /// be claimed again once the lease is over.
    fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>>;
    /// A message went out (or has nobody left to go to): forget it, and
    /// with it the claim.
    fn mail_done(&mut self, id: i64) -> Result<()>;
    /// An attempt failed: try again at `retry_at`, or give up when it is
    /// None. The claim is released, so any sender may make the retry.
    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()>;
    fn mail_trouble(&mut self) -> Result<MailTrouble>;
    /// Whether `email` may be mailed: not unsubscribed, and confirmed when
    /// `confirmed` asks for it.
    fn may_mail(&mut self, email: &str, confirmed: bool) -> Result<bool>;
    fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()>;
    fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()>;
    /// The receiver's signing secret, made on first use.
    fn secret(&mut self) -> Result<String>;
    /// The random id this database was made with: it names the database in
    /// what outlives a connection, such as the Message-ID of kiln's mail.
    fn instance_id(&mut self) -> Result<String>;

    // The admin page.

    fn admin_password_hash(&mut self) -> Result<Option<String>>;
    fn set_admin_password_hash(&mut self, phc: &str) -> Result<()>;
    /// Records a session; `moderator` names who logged in (a named
    /// moderator account or an OpenID subject), `None` for the admin password.
    fn create_admin_session(
        &mut self,
        id_hash: &str,
        csrf: &str,
        moderator: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    /// The session, if it is live at `now`.
    fn admin_session(&mut self, id_hash: &str, now: i64) -> Result<Option<AdminSession>>;
    fn end_admin_session(&mut self, id_hash: &str) -> Result<()>;
    /// A named moderator's password hash (`kiln admin set-password --moderator`).
    fn moderator_password_hash(&mut self, name: &str) -> Result<Option<String>>;
    /// Sets a named moderator's password hash, ending that moderator's sessions.
    fn set_moderator_password_hash(&mut self, name: &str, phc: &str) -> Result<()>;
    /// The named moderator accounts, sorted.
    fn moderator_accounts(&mut self) -> Result<Vec<String>>;

    // Abuse checks.

    /// Whether exactly `text` came into the same thread (of `site`) from the
    /// same anonymized address or the same email (ignoring case) since `since`.
    fn is_duplicate(
        &mut self,
        site: &str,
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool>;
    fn has_approved_comment(&mut self, email: &str) -> Result<bool>;

    // One person's data.

    /// Everything kept about `email`, as one JSON document.
    fn personal_data(&mut self, email: &str) -> Result<serde_json::Value>;
    /// Removes what kiln keeps about `email`.
    fn forget(&mut self, email: &str) -> Result<Forgotten>;

    /// Whether this connection is gone for good (the server closed it, the
    /// network dropped it), so a pool must not hand it out again. SQLite's
    /// file never breaks that way.
    fn is_broken(&self) -> bool {
        false
    }

    // Moving the whole database (`kiln store copy`, see copy.rs).

    /// Every row a copy moves, table by table in `copy::Table` order and
    /// each table in primary-key order, all from one snapshot.
    fn copy_out(&mut self, each: &mut dyn FnMut(copy::Row) -> Result<()>) -> Result<()>;
    /// Stores rows as `copy_out` gives them, in one transaction, and reads
    /// them back before committing; an error leaves the database as it was.
    /// A database holding a site is refused (`copy::NotEmpty`) unless
    /// `replace`. Returns the tally of what it now holds.
    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<copy::Row>>,
        replace: bool,
    ) -> Result<copy::Tally>;
}

/// A backend's answer when the first statement of a method failed because
/// the connection to the database is gone: nothing of the method happened,
/// so `SharedStore` may run it again on a fresh connection. Only that case:
/// a connection lost later in a method may have committed.
#[derive(Debug, thiserror::Error)]
#[error("the connection to the database was lost before anything was done: {0}")]
pub struct ConnectionLost(pub String);

/// Every `Store` method that takes plain arguments and returns a `Result`, as
/// `fn name(arg: Type, …) -> Return;`, handed to the macro named `$then`:
/// for stores that wrap another store (the pool's retrying view in
/// `shared.rs`), so the list of methods is written once, next to the trait.
macro_rules! store_methods {
    ($then:ident) => {
        $then! {
            fn insert_opted(new: &NewComment, notify: bool, status: Status, now: i64) -> Result<std::result::Result<StoredComment, Refusal>>;
            fn insert(new: &NewComment, status: Status, now: i64) -> Result<std::result::Result<StoredComment, Refusal>>;
            fn post(posting: &Posting) -> Posted;
            fn post_batch(batch: &[Posting]) -> Result<Vec<Posted>>;
            fn get(id: i64) -> Result<Option<StoredComment>>;
            fn by_status(status: Status) -> Result<Vec<StoredComment>>;
            fn approve(ids: &[i64], now: i64) -> Result<std::result::Result<(), Refusal>>;
            fn reject(ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
            fn delete(ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
            fn spam(ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
            fn not_spam(ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
            fn unpublish(ids: &[i64]) -> Result<std::result::Result<(), Refusal>>;
            fn edit(id: i64, edit: &CommentEdit, hold: bool) -> Result<std::result::Result<StoredComment, Refusal>>;
            fn search(search: &Search) -> Result<Vec<StoredComment>>;
            fn count(status: Status) -> Result<u64>;
            fn count_on(site: &str, status: Status) -> Result<u64>;
            fn counts() -> Result<Vec<(Status, u64)>>;
            fn avatar_keys(gravatar: bool) -> Result<AvatarKeys>;
            fn published_threads(site: &str, keys: Option<&[String]>, avatars: &AvatarKeys) -> Result<Vec<Thread>>;
            fn export(site: &str, avatars: &AvatarKeys) -> Result<Export>;
            fn import(export: &Export) -> Result<()>;
            fn import_batch(batch: &ImportBatch, commit: bool) -> Result<ImportOutcome>;
            fn thread_stamps(site: &str) -> Result<Vec<(String, u64, u64)>>;
            fn change_seq() -> Result<u64>;
            fn approved_counts(site: &str, keys: &[String]) -> Result<Vec<u64>>;
            fn like(comment: i64, reader: &str, now: i64) -> Result<crate::store::Liked>;
            fn likes(site: &str, thread: &str) -> Result<Vec<(i64, u64)>>;
            fn claim_mail(now: i64, lease_until: i64, claimer: &str, limit: usize) -> Result<Vec<OutboxItem>>;
            fn mail_done(id: i64) -> Result<()>;
            fn mail_failed(id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()>;
            fn mail_trouble() -> Result<MailTrouble>;
            fn may_mail(email: &str, confirmed: bool) -> Result<bool>;
            fn confirm_subscriber(email: &str, now: i64) -> Result<()>;
            fn unsubscribe(email: &str, now: i64) -> Result<()>;
            fn secret() -> Result<String>;
            fn instance_id() -> Result<String>;
            fn admin_password_hash() -> Result<Option<String>>;
            fn set_admin_password_hash(phc: &str) -> Result<()>;
            fn create_admin_session(id_hash: &str, csrf: &str, moderator: Option<&str>, now: i64, expires_at: i64) -> Result<()>;
            fn admin_session(id_hash: &str, now: i64) -> Result<Option<$crate::store::AdminSession>>;
            fn end_admin_session(id_hash: &str) -> Result<()>;
            fn moderator_password_hash(name: &str) -> Result<Option<String>>;
            fn set_moderator_password_hash(name: &str, phc: &str) -> Result<()>;
            fn moderator_accounts() -> Result<Vec<String>>;
            fn is_duplicate(site: &str, thread: &str, text: &str, remote_addr: Option<&str>, email: Option<&str>, since: i64) -> Result<bool>;
            fn has_approved_comment(email: &str) -> Result<bool>;
            fn personal_data(email: &str) -> Result<serde_json::Value>;
            fn forget(email: &str) -> Result<Forgotten>;
        }
    };
}
pub(crate) use store_methods;

/// What became of a like (`Store::like`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liked {
    /// Counted; the comment's likes now.
    Counted(u64),
    /// This reader liked it before: nothing changed.
    Already(u64),
    /// The comment is not on the page (pending, spam or a deleted marker).
    NotPublished(Status),
    /// No comment has this id.
    Missing,
}

/// Where a comment is in moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Spam,
    /// Removed, but kept as a "deleted" marker because it has replies.
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Spam => "spam",
            Status::Deleted => "deleted",
        }
    }

    /// The status by its stored name (`pending`, `approved`, `spam`, `deleted`).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "spam" => Status::Spam,
            "deleted" => Status::Deleted,
            _ => return None,
        })
    }

    /// Whether a comment in this state appears on the page.
    pub(crate) fn is_published(self) -> bool {
        matches!(self, Status::Approved | Status::Deleted)
    }
}

/// The site of `[sites]`'s own origins, and of every thread stored before
/// sites existed.
pub const DEFAULT_SITE: &str = "default";

/// A checked submission, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    /// The `name` of the site whose origin posted it (`DEFAULT_SITE`).
    pub site: String,
    pub thread: String,
    pub page_url: String,
    /// The page's title as the form sent it; empty when unknown.
    pub page_title: String,
    pub parent: Option<i64>,
    pub author: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub text: String,
    pub remote_addr: Option<String>,
    /// The OpenID subject of a signed-in author (`crate::auth`), whose
    /// `author` is then the provider's verified name; None otherwise.
    pub identity_subject: Option<String>,
}

#[cfg(any(test, feature = "testing"))]
impl NewComment {
    /// A comment for tests: `text` by `author` on `thread` of the default
    /// site (page `https://example.org{thread}`), with no title, parent,
    /// email, website, address or identity. Tests change what they need
    /// with `NewComment { parent: Some(1), ..NewComment::sample(…) }`.
    pub fn sample(thread: &str, author: &str, text: &str) -> NewComment {
        NewComment {
            site: DEFAULT_SITE.into(),
            thread: thread.into(),
            page_url: format!("https://example.org{thread}"),
            page_title: String::new(),
            parent: None,
            author: author.into(),
            email: None,
            website: None,
            text: text.into(),
            remote_addr: None,
            identity_subject: None,
        }
    }
}

/// A submission on its way into the store (`Store::post`), with what the
/// rules that need the database must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub comment: NewComment,
    /// Whether the author asked for mail about replies.
    pub notify: bool,
    /// The status the checks before the store chose: `Pending` when a spam
    /// rule holds it or moderation is on, else `Approved`.
    pub status: Status,
    /// Publish a `Pending` comment after all when its address already has
    /// an approved comment (`spam.auto_approve_known`, and no rule holds it).
    pub approve_known: bool,
    /// Refuse the same text on the same thread from the same address or
    /// email stored since this time (`spam.duplicate_days`); `None`: no check.
    pub duplicate_since: Option<i64>,
    pub now: i64,
    /// `comment.text` already rendered by `kiln_bake::markdown::to_html`,
    /// so that SQLite's one writer thread need not do it while others wait
    /// (the receiver renders it on the request's own thread, and answers
    /// with it too); `None`: the store renders it.
    pub html: Option<String>,
}

/// What storing one submission comes to: the stored comment, or why not.
pub type Posted = Result<std::result::Result<StoredComment, Refusal>>;

impl Posting {
    /// The status to store this with, or `Refusal::Duplicate`: the rules of
    /// `Store::post`, over the store `on` and its two lookups (`duplicate`
    /// is given the comment and the start of the window, `known` the
    /// address), each asked only when a rule needs it. One copy of the rules
    /// for the trait's `post` and SQLite's batches.
    pub(crate) fn settle<S: ?Sized>(
        &self,
        on: &mut S,
        duplicate: impl FnOnce(&mut S, &NewComment, i64) -> Result<bool>,
        known: impl FnOnce(&mut S, &str) -> Result<bool>,
    ) -> Result<std::result::Result<Status, Refusal>> {
        if let Some(since) = self.duplicate_since {
            if duplicate(on, &self.comment, since)? {
                return Ok(Err(Refusal::Duplicate));
            }
        }
        if self.approve_known && self.status == Status::Pending {
            if let Some(email) = &self.comment.email {
                if known(on, email)? {
                    return Ok(Ok(Status::Approved));
                }
            }
        }
        Ok(Ok(self.status))
    }
}

/// A comment as stored, with its thread's key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredComment {
    pub id: i64,
    /// The site its thread is on.
    pub site: String,
    pub thread: String,
    pub parent: Option<i64>,
    pub status: Status,
    pub author: String,
    #[serde(skip)]
    pub email: Option<String>,
    pub website: Option<String>,
    pub text: String,
    pub page_url: String,
    /// The title the page's form last sent for the thread; may be empty.
    pub page_title: String,
    #[serde(skip)]
    pub remote_addr: Option<String>,
    /// Seconds since the epoch; serialized as RFC 3339.
    #[serde(serialize_with = "as_rfc3339")]
    pub created_at: i64,
}

fn as_rfc3339<S: serde::Serializer>(secs: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&kiln_bake::export::unix_to_rfc3339(*secs))
}

/// Why a store operation was refused. Each names what the caller got wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("comment {0} does not exist")]
    ParentMissing(i64),
    #[error("comment {0} is not published, so it cannot be answered yet")]
    ParentNotPublished(i64),
    #[error("comment {0} belongs to another thread")]
    ParentInOtherThread(i64),
    #[error("there is no comment with id {0}")]
    Unknown(i64),
    #[error("comment {0} is not pending (it is {1})")]
    NotPending(i64, &'static str),
    #[error("comment {0} is not published (it is {1})")]
    NotPublished(i64, &'static str),
    #[error("comment {0} is not marked as spam (it is {1})")]
    NotSpam(i64, &'static str),
    #[error("comment {0} has published replies; delete it instead, which keeps a \"deleted\" marker for them")]
    HasPublishedReplies(i64),
    #[error("comment {0} was deleted and cannot be edited")]
    DeletedMarker(i64),
    #[error("the same comment was posted on this page recently")]
    Duplicate,
}

/// What a queued message is about; it is built only when it is sent, from
/// the comment as it is then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A new comment, to every moderator.
    NewComment,
    /// "Did you ask for reply notifications?", to a new subscriber.
    Confirm,
    /// A reply to the recipient's comment was published.
    Reply,
}

impl OutboxKind {
    /// The kind by its stored name (`new_comment`, `confirm`, `reply`).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "new_comment" => OutboxKind::NewComment,
            "confirm" => OutboxKind::Confirm,
            "reply" => OutboxKind::Reply,
            _ => return None,
        })
    }
}

/// One message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: OutboxKind,
    pub comment_id: i64,
    /// None for `NewComment`, which goes to the configured moderators.
    pub recipient: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Messages that failed at least once (see `Store::mail_trouble`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MailTrouble {
    /// Waiting for another attempt.
    pub retrying: u64,
    /// Given up after the last attempt.
    pub given_up: u64,
    pub last_error: Option<String>,
}

/// New values for a comment's fields, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentEdit {
    pub author: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub text: String,
}

/// What the admin page lists. Every part is optional; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub status: Option<Status>,
    /// Only this site's threads.
    pub site: Option<String>,
    /// Exactly this thread (the per-thread view).
    pub thread: Option<String>,
    /// Found in the text, author, e-mail or thread id (case-insensitive for ASCII).
    pub words: Option<String>,
    pub limit: usize,
}

/// A live admin session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// The token every form of the session carries.
    pub csrf: String,
    /// Who logged in: a named moderator or an OpenID subject; `None` for
    /// the admin password.
    pub moderator: Option<String>,
}

/// The `meta` key prefix of named moderators' password hashes.
pub(crate) const MODERATOR_PASSWORD_PREFIX: &str = "moderator_password:";

/// What `forget` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Forgotten {
    /// Comments removed entirely.
    pub removed: u64,
    /// Comments kept as a "deleted" marker because others replied to them.
    pub kept_as_deleted: u64,
    /// Whether a mail subscription was removed.
    pub subscription: bool,
    /// Messages to the address that were waiting in the outbox.
    pub queued_mail: u64,
}

/// Comments from one source system, ready to store (see `Store::import_batch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBatch {
    /// The system the source ids belong to (`disqus`, `isso`, `kiln`, …):
    /// ids are remembered per source, so an import into a site other than
    /// the default one names it as well (`isso@blog`, see `import::Options`).
    pub source: String,
    /// The site (`[[sites.site]]`'s `name`) whose threads the comments join.
    pub site: String,
    pub threads: Vec<ImportThread>,
    /// Where the comments' `Fields::Spilled` are; `None` when all are held.
    pub spill: Option<Spill>,
}

impl Default for ImportBatch {
    fn default() -> Self {
        ImportBatch {
            source: String::new(),
            site: DEFAULT_SITE.to_owned(),
            threads: Vec::new(),
            spill: None,
        }
    }
}

impl ImportBatch {
    /// A comment's person and text, read back from the spill file if that
    /// is where they wait.
    pub fn fields<'a>(&self, c: &'a ImportComment) -> Result<std::borrow::Cow<'a, ImportFields>> {
        Spill::fields(self.spill.as_ref(), &c.fields)
    }
}

/// One thread of an import, by the key kiln knows it under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportThread {
    pub key: String,
    /// The page URL, for links from moderation views.
    pub url: String,
    /// The page's title; empty when unknown.
    pub title: String,
    /// Parents before their replies.
    pub comments: Vec<ImportComment>,
}

/// One comment of an import, already checked and converted: its fields'
/// `text` is Markdown, `created_at` seconds since the epoch in UTC, and a
/// `Deleted` comment is an empty marker that has replies. Only what places
/// the comment is here; its person and text are in `fields`, which may wait
/// in the batch's spill file, so a million of these fit in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportComment {
    /// The source's id, unique within `ImportBatch::source`.
    pub source_id: String,
    /// The source id of the comment this one answers: earlier in the same
    /// thread, or stored by an earlier import of the same source.
    pub parent: Option<String>,
    /// Keep this kiln id (restoring a kiln export); otherwise a new one.
    pub id: Option<i64>,
    pub status: Status,
    pub created_at: i64,
    pub fields: Fields,
}

/// What `Store::import_batch` did (or, without `commit`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Source id and new kiln id of every comment stored, in the batch's
    /// order.
    pub added: Vec<(String, i64)>,
    /// Source ids an earlier import already stored: left alone.
    pub already: Vec<String>,
    /// Comments not stored because their parent is neither in the batch
    /// nor stored before (it was deleted since, say): source id and reason.
    pub unplaced: Vec<(String, String)>,
    /// Threads the batch created.
    pub new_threads: u64,
}

/// An export's RFC 3339 time as seconds since the epoch (`import`).
fn parse_time(rfc3339: &str) -> Result<i64> {
    use anyhow::Context as _;
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{rfc3339:?} is not an RFC 3339 time"))?;
    Ok(t.unix_timestamp())
}

/// A source's identity (what bake's remembered state is keyed by) for one
/// site: the default site's is the identity as it was before sites, so a
/// re-bake after the upgrade still reads only what changed.
pub(crate) fn sited(identity: String, site: &str) -> String {
    if site == DEFAULT_SITE {
        identity
    } else {
        format!("{identity} site {site}")
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
