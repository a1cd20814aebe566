//! The pages behind the links in emails. A GET only asks: it shows what the
//! link would do and a single POST button, because mail scanners and link
//! prefetchers open every link they see. The POST acts, through the same
//! moderation function as the admin page and the command line. Expired and
//! altered links get a page saying so, with a 4xx status.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::error::{BadLink, Link};
use super::{now, ApiError, AppState};
use crate::mail::{LinkPage, PageLink, CONFIRM, MODERATE, UNSUBSCRIBE};
use crate::moderation::{self, Action};
use crate::signing::TokenError;
use crate::store::{Status, StoredComment};

/// A moderation link's payload: `ID:ACTION`, for the actions mail offers.
fn moderation_target(payload: &str) -> Option<(i64, Action)> {
    let (id, action) = payload.split_once(':')?;
    let action = Action::parse(action)?;
    matches!(action, Action::Approve | Action::Reject | Action::Spam)
        .then_some(())
        .and(id.parse().ok().map(|id| (id, action)))
}

/// Link pages carry their token in the URL: never cache them, and never
/// send it on as a Referer to the pages they link to.
fn page(status: StatusCode, page: &LinkPage) -> Result<Response, ApiError> {
    Ok(super::private_page(status, page.render()?))
}

/// The page for a link that cannot be used.
fn refused(state: &AppState, error: TokenError) -> Result<Response, ApiError> {
    let bad = BadLink {
        link: Link::Mail {
            expiry_days: state.config.mail.link_expiry_days,
        },
        error,
    };
    let refusal = ApiError::from(bad);
    tracing::info!(reason = %error, "mail link refused");
    page(
        refusal.status,
        &LinkPage {
            title: bad.title().to_owned(),
            lines: vec![refusal.message],
            links: admin_link(state),
            ..LinkPage::default()
        },
    )
}

fn admin_link(state: &AppState) -> Vec<PageLink> {
    let url = match &state.mail {
        Some(mail) => mail.links.admin(),
        None => format!("{}/admin", state.config.public_url(None)),
    };
    vec![PageLink {
        label: "Moderation queue".to_owned(),
        url,
    }]
}

fn comment_links(state: &AppState, c: &StoredComment) -> Vec<PageLink> {
    let mut links = Vec::new();
    match state.pages.back_link(&c.page_url) {
        Some(page) if c.status == Status::Approved => links.push(PageLink {
            label: "See it on its page".to_owned(),
            url: page
                .with_fragment(&format!("kiln-comment-{}", c.id))
                .as_str()
                .to_owned(),
        }),
        Some(page) => links.push(PageLink {
            label: "Its page".to_owned(),
            url: page.as_str().to_owned(),
        }),
        // A page no longer on a configured site is not linked.
        None => {}
    }
    links.extend(admin_link(state));
    links
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Approve => "Approve",
        Action::Reject => "Reject",
        _ => "Mark as spam",
    }
}

pub async fn moderate_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (id, action) = match state.signer.verify(MODERATE, &token, now()) {
        Ok(payload) => match moderation_target(&payload) {
            Some(target) => target,
            None => return refused(&state, TokenError::Malformed),
        },
        Err(e) => return refused(&state, e),
    };
    let Some(comment) = state.with_store(move |s| s.get(id)).await? else {
        return gone(&state, id);
    };
    let author = if comment.author.is_empty() {
        "(no name)".to_owned()
    } else {
        crate::submission::isolated_name(&comment.author)
    };
    let mut lines = vec![format!(
        "Comment #{id} by {author} on {}.",
        comment.page_url
    )];
    let button = if comment.status == Status::Pending {
        lines.push("Nothing has changed yet: confirm with the button.".to_owned());
        Some(verb(action).to_owned())
    } else {
        lines.push(format!(
            "It is {} already, so there is nothing to do here.",
            comment.status.as_str()
        ));
        None
    };
    page(
        StatusCode::OK,
        &LinkPage {
            title: format!("{} comment #{id}?", verb(action)),
            lines,
            quoted_html: Some(state.pages.comment(&comment)?),
            button,
            links: comment_links(&state, &comment),
        },
    )
}

pub async fn moderate(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (id, action) = match state.signer.verify(MODERATE, &token, now()) {
        Ok(payload) => match moderation_target(&payload) {
            Some(target) => target,
            None => return refused(&state, TokenError::Malformed),
        },
        Err(e) => return refused(&state, e),
    };
    let (outcome, comment) = state
        .with_store(move |s| {
            let outcome = moderation::apply(s, action, &[id], now())?;
            Ok((outcome, s.get(id)?))
        })
        .await?;
    match outcome {
        Ok(()) => {
            tracing::info!(
                comment = id,
                action = action.as_str(),
                "moderated from a mail link"
            );
            if let Some(mail) = &state.mail {
                mail.wake.notify_one();
            }
            let mut links = match &comment {
                Some(c) => comment_links(&state, c),
                None => admin_link(&state),
            };
            if action != Action::Approve {
                links.retain(|l| !l.url.contains("#kiln-comment-"));
            }
            page(
                StatusCode::OK,
                &LinkPage {
                    title: format!("Comment #{id} {}", action.done()),
                    lines: vec![match action {
                        Action::Approve => {
                            "It is published: it appears on its page with the next bake.".to_owned()
                        }
                        _ => "It will not be published.".to_owned(),
                    }],
                    links,
                    ..LinkPage::default()
                },
            )
        }
        Err(refusal) => {
            let refusal = ApiError::from(refusal);
            page(
                refusal.status,
                &LinkPage {
                    title: format!("Comment #{id} was not changed"),
                    lines: vec![refusal.message],
                    links: match &comment {
                        Some(c) => comment_links(&state, c),
                        None => admin_link(&state),
                    },
                    ..LinkPage::default()
                },
            )
        }
    }
}

fn gone(state: &AppState, id: i64) -> Result<Response, ApiError> {
    page(
        StatusCode::NOT_FOUND,
        &LinkPage {
            title: format!("Comment #{id} is gone"),
            lines: vec!["It was rejected or deleted since this email was sent.".to_owned()],
            links: admin_link(state),
            ..LinkPage::default()
        },
    )
}

pub async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let email = match state.signer.verify(CONFIRM, &token, now()) {
        Ok(email) => email,
        Err(e) => return refused(&state, e),
    };
    page(
        StatusCode::OK,
        &LinkPage {
            title: "Get an email when someone replies?".to_owned(),
            lines: vec![format!(
                "{email} will be told when a reply to your comments is published. Every message has a link to stop them."
            )],
            button: Some("Yes, tell me about replies".to_owned()),
            ..LinkPage::default()
        },
    )
}

pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let email = match state.signer.verify(CONFIRM, &token, now()) {
        Ok(email) => email,
        Err(e) => return refused(&state, e),
    };
    let address = email.clone();
    state
        .with_store(move |s| s.confirm_subscriber(&address, now()))
        .await?;
    tracing::info!("reply notifications confirmed");
    page(
        StatusCode::OK,
        &LinkPage {
            title: "Reply notifications are on".to_owned(),
            lines: vec![format!(
                "{email} will get an email when a reply to your comments is published."
            )],
            ..LinkPage::default()
        },
    )
}

pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let email = match state.signer.verify(UNSUBSCRIBE, &token, now()) {
        Ok(email) => email,
        Err(e) => return refused(&state, e),
    };
    page(
        StatusCode::OK,
        &LinkPage {
            title: "Unsubscribe?".to_owned(),
            lines: vec![format!(
                "{email} will get no more email from this site's comments."
            )],
            button: Some("Unsubscribe".to_owned()),
            ..LinkPage::default()
        },
    )
}

/// Also the RFC 8058 one-click endpoint: mail clients POST
/// `List-Unsubscribe=One-Click` here; the token alone decides.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let email = match state.signer.verify(UNSUBSCRIBE, &token, now()) {
        Ok(email) => email,
        Err(e) => return refused(&state, e),
    };
    let address = email.clone();
    state
        .with_store(move |s| s.unsubscribe(&address, now()))
        .await?;
    tracing::info!("unsubscribed from mail");
    page(
        StatusCode::OK,
        &LinkPage {
            title: "Unsubscribed".to_owned(),
            lines: vec![format!(
                "{email} will get no more email from this site's comments."
            )],
            ..LinkPage::default()
        },
    )
}
