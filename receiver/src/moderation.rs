//! Every moderation action, in one place, for every way a moderator acts:
//! the command line (`kiln approve`, `kiln spam`, ...), the admin page, and
//! the signed links in notification e-mails. Ids go in, a result comes out;
//! each call is one transaction, all or nothing.
//!
//! - [`apply`]`(store, action, ids, now)` approves, rejects, marks as spam,
//!   unpublishes or deletes. `Ok(Err(refusal))` means nothing changed and
//!   says why (an unknown id, a comment in the wrong state).
//! - [`edit`]`(store, config, id, fields)` re-checks the fields with the same
//!   rules as `POST /comments` and stores them.
//! - [`edit_own`] is a commenter's edit through their edit link: the same
//!   checks plus the spam rules, and back to the queue when configured.
//!
//! Every change that went through wakes the publisher (`crate::publish`),
//! so the configured strategies run whichever way the moderator acted. The
//! CLI changes the database from another process; the receiver's publisher
//! notices those by polling the store's change sequence.

use anyhow::Result;

use crate::abuse::{check_content, Verdict};
use crate::config::Config;
use crate::store::{CommentEdit, NewComment, Refusal, Status, Store, StoredComment};
use crate::submission::{FieldError, Submission};

/// A moderation action on one or more comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pending → approved (published).
    Approve,
    /// Pending → gone.
    Reject,
    /// Pending → spam (kept on record, never shown).
    Spam,
    /// Spam → pending: a false positive, back in the queue.
    NotSpam,
    /// Approved → pending (off the page, back in the queue).
    Unpublish,
    /// Any state → gone, or a "deleted" marker if it has replies.
    Delete,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Approve,
        Action::Reject,
        Action::Spam,
        Action::NotSpam,
        Action::Unpublish,
        Action::Delete,
    ];

    /// The verb, as used in forms, links and the command line: `approve`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Spam => "spam",
            Action::NotSpam => "not-spam",
            Action::Unpublish => "unpublish",
            Action::Delete => "delete",
        }
    }

    /// The action named by [`Action::as_str`].
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// What happened, for messages: "approved", "marked as spam", ...
    pub fn done(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Spam => "marked as spam",
            Action::NotSpam => "returned to the queue",
            Action::Unpublish => "unpublished",
            Action::Delete => "deleted",
        }
    }
}

/// Applies `action` to every id in one transaction. `now` is seconds since
/// the epoch (the approval time).
pub fn apply(
    store: &mut dyn Store,
    action: Action,
    ids: &[i64],
    now: i64,
) -> Result<std::result::Result<(), Refusal>> {
    let result = match action {
        Action::Approve => store.approve(ids, now),
        Action::Reject => store.reject(ids),
        Action::Spam => store.spam(ids),
        Action::NotSpam => store.not_spam(ids),
        Action::Unpublish => store.unpublish(ids),
        Action::Delete => store.delete(ids),
    };
    if matches!(result, Ok(Ok(()))) {
        crate::publish::changed();
    }
    result
}

/// New field values for a comment, as a moderator typed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct EditFields {
    pub name: String,
    pub email: String,
    pub website: String,
    pub text: String,
}

/// Why an edit was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum EditRefused {
    /// The fields break the same rules a submission must follow.
    Fields(Vec<FieldError>),
    /// The comment cannot be edited (unknown, or a deleted marker).
    Comment(Refusal),
}

/// Re-validates `fields` exactly as `POST /comments` would (limits, control
/// characters, e-mail and website shape) and stores them: a moderator's
/// edit.
pub fn edit(
    store: &mut dyn Store,
    config: &Config,
    id: i64,
    fields: &EditFields,
) -> Result<std::result::Result<StoredComment, EditRefused>> {
    let Some(current) = store.get(id)? else {
        return Ok(Err(EditRefused::Comment(Refusal::Unknown(id))));
    };
    let edit = match check_fields(config, &current, fields) {
        Ok(checked) => CommentEdit::from(checked),
        Err(errors) => return Ok(Err(EditRefused::Fields(errors))),
    };
    stored(store.edit(id, &edit, false)?)
}

/// A commenter's edit of their own comment, through their edit link: the
/// same field checks, then the same content rules as a new submission
/// (`crate::abuse::check_content`; spammers edit links into approved
/// comments). A published comment goes back to the queue when
/// `edits.remoderate_approved` says so, or when a rule holds the edit.
/// Only pending and published comments can be edited this way.
pub fn edit_own(
    store: &mut dyn Store,
    config: &Config,
    id: i64,
    fields: &EditFields,
    client: std::net::IpAddr,
) -> Result<std::result::Result<OwnEdit, EditRefused>> {
    let current = match store.get(id)? {
        Some(c) if matches!(c.status, Status::Pending | Status::Approved) => c,
        Some(c) if c.status == Status::Deleted => {
            return Ok(Err(EditRefused::Comment(Refusal::DeletedMarker(id))))
        }
        Some(c) => {
            return Ok(Err(EditRefused::Comment(Refusal::NotPending(
                id,
                c.status.as_str(),
            ))))
        }
        None => return Ok(Err(EditRefused::Comment(Refusal::Unknown(id)))),
    };
    let checked = match check_fields(config, &current, fields) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(EditRefused::Fields(errors))),
    };
    let held_by = match check_content(&*config.spam_of(&current.site)?, &checked, client) {
        Verdict::Reject(error) => return Ok(Err(EditRefused::Fields(vec![error]))),
        Verdict::Moderate(rule) => Some(rule),
        Verdict::Pass => None,
    };
    let hold = held_by.is_some() || config.edits.remoderate_approved;
    let comment = match stored(store.edit(id, &CommentEdit::from(checked), hold)?)? {
        Ok(comment) => comment,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(Ok(OwnEdit { comment, held_by }))
}

/// A commenter's edit that was stored.
#[derive(Debug)]
pub struct OwnEdit {
    /// The comment as it is now (pending again if the edit was held).
    pub comment: StoredComment,
    /// The spam rule that sent the edit back to moderation, if one did.
    pub held_by: Option<&'static str>,
}

/// Checks new field values for `current`. The thread, page and parent are
/// not editable; checking them again as they are stored only runs the
/// field checks on the new values. The page URL is taken as stored, so a
/// change of `sites.origins` since the comment arrived does not block
/// editing it.
fn check_fields(
    config: &Config,
    current: &StoredComment,
    fields: &EditFields,
) -> std::result::Result<NewComment, Vec<FieldError>> {
    let mut config = config.clone();
    if let Ok(page) = url::Url::parse(&current.page_url) {
        config.sites.origins = vec![page.origin().ascii_serialization()];
    }
    let submission = Submission {
        lang: String::new(),
        thread: current.thread.clone(),
        url: current.page_url.clone(),
        parent: String::new(),
        name: fields.name.clone(),
        email: fields.email.clone(),
        website: fields.website.clone(),
        text: fields.text.clone(),
        title: current.page_title.clone(),
        site: String::new(),
    };
    submission.check(&config, None).map(|c| c.comment)
}

impl From<NewComment> for CommentEdit {
    fn from(c: NewComment) -> Self {
        CommentEdit {
            author: c.author,
            email: c.email,
            website: c.website,
            text: c.text,
        }
    }
}

/// A store edit's outcome; a stored one wakes the publisher.
fn stored(
    edited: std::result::Result<StoredComment, Refusal>,
) -> Result<std::result::Result<StoredComment, EditRefused>> {
    if edited.is_ok() {
        crate::publish::changed();
    }
    Ok(edited.map_err(EditRefused::Comment))
}
