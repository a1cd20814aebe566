//! What each typed refusal becomes, decided once: a rejected submission
//! (`admission::Rejection`), a signed link that cannot be used
//! (`BadLink`), and a store refusal (`store::Refusal`). Handlers convert
//! with `?` or `ApiError::from` instead of picking a status themselves.

use axum::http::StatusCode;

use super::ApiError;
use crate::admission::Rejection;
use crate::signing::TokenError;
use crate::store::Refusal;

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        let first = rejection.first();
        match rejection {
            Rejection::TooLarge { .. } => ApiError::field(StatusCode::PAYLOAD_TOO_LARGE, &first),
            Rejection::Unreadable(_) => ApiError::malformed(&first),
            Rejection::RateLimited { wait, .. } => ApiError {
                retry_after: Some(wait),
                ..ApiError::field(StatusCode::TOO_MANY_REQUESTS, &first)
            },
            Rejection::Fields(_)
            | Rejection::FormToken(_)
            | Rejection::Content(_)
            | Rejection::Duplicate
            | Rejection::NotifyWithoutEmail
            | Rejection::Parent(_) => ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &first),
        }
    }
}

/// A refusal is the comment's state standing in the way (409), except a
/// parent that cannot be answered or a duplicate, which are faults in the
/// submission (422) like any other field's.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::ParentMissing(_)
            | Refusal::ParentNotPublished(_)
            | Refusal::ParentInOtherThread(_) => ApiError::from(Rejection::Parent(refusal)),
            Refusal::Duplicate => ApiError::from(Rejection::Duplicate),
            Refusal::Unknown(_)
            | Refusal::NotPending(..)
            | Refusal::NotPublished(..)
            | Refusal::NotSpam(..)
            | Refusal::HasPublishedReplies(_)
            | Refusal::DeletedMarker(_) => {
                ApiError::new(StatusCode::CONFLICT, "refused", format!("{refusal}."))
            }
        }
    }
}

/// A signed link whose token cannot be used, and which link it was: the
/// status follows from the token error, the words from the link.
#[derive(Debug, Clone, Copy)]
pub struct BadLink {
    pub link: Link,
    pub error: TokenError,
}

#[derive(Debug, Clone, Copy)]
pub enum Link {
    /// A commenter's edit link, good for `window_minutes` after posting.
    Edit { window_minutes: u32 },
    /// A link in one of kiln's emails, good for `expiry_days`.
    Mail { expiry_days: u32 },
}

impl BadLink {
    /// The heading of a mail link's page.
    pub fn title(&self) -> &'static str {
        match self.error {
            TokenError::Expired => "This link has expired",
            TokenError::Malformed | TokenError::BadSignature => "This link is not valid",
        }
    }
}

/// An expired link was good once (410); any other never was, or was
/// altered (400).
impl From<BadLink> for ApiError {
    fn from(bad: BadLink) -> Self {
        let expired = bad.error == TokenError::Expired;
        let status = if expired {
            StatusCode::GONE
        } else {
            StatusCode::BAD_REQUEST
        };
        let (code, message) = match (bad.link, expired) {
            (Link::Edit { window_minutes }, true) => (
                "edit_expired",
                format!("This edit link has expired: comments can be changed for {window_minutes} minutes after posting. To change it now, ask the site's owner."),
            ),
            (Link::Edit { .. }, false) => (
                "edit_link_invalid",
                "This edit link is not valid: it was damaged or altered. Open it again from the page you got after posting, copying the whole address.".to_owned(),
            ),
            (Link::Mail { expiry_days }, true) => (
                "link_expired",
                format!("Links in kiln's emails are valid for {expiry_days} days. Moderate from the admin page or with `kiln queue` instead, or comment again to get a new confirmation."),
            ),
            (Link::Mail { .. }, false) => (
                "link_invalid",
                "It was damaged or altered on its way here. Open it again from the email, copying the whole address if it was broken across lines.".to_owned(),
            ),
        };
        ApiError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests;
