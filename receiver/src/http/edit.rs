//! A commenter's own edit link. After posting, the commenter gets a private
//! link, signed and bound to their comment, that works for
//! `edits.window_minutes` (15 by default): through it they can edit or
//! delete the comment with no account, no cookie and no JavaScript.
//!
//! - `GET /posted/TOKEN` is where a no-JS post lands (a 303 from
//!   `POST /comments`): "thank you", the edit link, and the way back.
//! - `GET /edit/TOKEN` shows the comment and a form with its fields.
//! - `POST /edit/TOKEN` saves (`action=save`) or deletes (`action=delete`),
//!   from that form or as JSON (the optional script). An edit passes the
//!   same checks as a new comment (`moderation::edit_own`).
//!
//! The token is the only authority, so these pages are never cached and
//! never send it on as a Referer; the request log shows no token either
//! (see `loggable_path` in `super`).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::body::{self, client_of, sent_value, Client};
use super::error::{BadLink, Link};
use super::{now, private_page, ApiError, AppState};
use crate::address::anonymize;
use crate::admission::Rejection;
use crate::moderation::{self, Action, EditFields, EditRefused};
use crate::signing::{self, Signer, TokenError};
use crate::store::{Refusal, Status, StoredComment};
use crate::submission::{FieldError, Submission};

/// The purpose edit tokens are signed under; the payload is `ID:CREATED`,
/// so a token cannot edit a later comment that reuses a deleted one's id.
const PURPOSE: &str = "edit";

/// A comment's private edit link.
#[derive(Debug, Clone)]
pub struct EditLink {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl EditLink {
    /// The link for comment `id` created at `created_at`, or None when
    /// edit links are off (`edits.window_minutes = 0`).
    pub fn issue(state: &AppState, id: i64, created_at: i64) -> Option<EditLink> {
        let minutes = state.config.edits.window_minutes;
        (minutes > 0).then(|| {
            let expires_at = created_at + i64::from(minutes) * 60;
            EditLink {
                token: state
                    .signer
                    .sign(PURPOSE, &format!("{id}:{created_at}"), Some(expires_at)),
                expires_at,
            }
        })
    }

    pub fn url(&self, state: &AppState) -> String {
        format!("{}/edit/{}", state.pages.public_url(), self.token)
    }

    /// The JSON clients get beside a stored comment.
    pub fn to_json(&self, state: &AppState) -> serde_json::Value {
        json!({
            "url": self.url(state),
            "token": self.token,
            "expires_at": kiln_bake::export::unix_to_rfc3339(self.expires_at),
        })
    }

    /// When the link stops working, for people: "14:05 UTC", with the date
    /// if that is not today.
    pub fn until(&self) -> String {
        human_time(self.expires_at, now())
    }
}

/// The comment a token names, and when the token expires.
struct Named {
    id: i64,
    created_at: i64,
    expires_at: i64,
}

fn verify(signer: &Signer, token: &str) -> Result<Named, TokenError> {
    let payload = signer.verify(PURPOSE, token, now())?;
    let (id, created_at) = payload.split_once(':').ok_or(TokenError::Malformed)?;
    Ok(Named {
        id: id.parse().map_err(|_| TokenError::Malformed)?,
        created_at: created_at.parse().map_err(|_| TokenError::Malformed)?,
        expires_at: signing::expiry(token).ok_or(TokenError::Malformed)?,
    })
}

/// The comment a valid token names, if it still exists as that comment.
async fn load(state: &AppState, named: &Named) -> Result<Option<StoredComment>, ApiError> {
    let id = named.id;
    let found = state.with_store(move |store| store.get(id)).await?;
    Ok(found.filter(|c| c.created_at == named.created_at))
}

/// `GET /posted/TOKEN`: where a no-JS post lands.
pub async fn posted(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(language): Query<Language>,
) -> Result<Response, ApiError> {
    let (named, link) = match verify(&state.signer, &token) {
        Ok(named) => {
            let link = EditLink {
                expires_at: named.expires_at,
                token,
            };
            (Some(named), Some(link))
        }
        // The thank-you stays true after the window; only the link goes.
        Err(TokenError::Expired) => (None, None),
        Err(e) => return Ok(refused(&state, e, None)),
    };
    let comment = match &named {
        Some(named) => load(&state, named).await?,
        None => None,
    };
    let published = comment
        .as_ref()
        .is_some_and(|c| c.status == Status::Approved);
    let fragment = if published {
        "kiln-published"
    } else {
        "kiln-received"
    };
    let back = comment
        .as_ref()
        .and_then(|c| state.pages.back_link(&c.page_url))
        .map(|page| page.with_fragment(fragment));
    let url = link.as_ref().map(|l| l.url(&state));
    let until = link.as_ref().map(EditLink::until);
    let edit = url.as_deref().zip(until.as_deref());
    let lang = kiln_bake::i18n::locale(&language.lang);
    let html = state.pages.received(back.as_ref(), published, edit, lang)?;
    Ok(private_page(StatusCode::OK, html))
}

/// `?lang=` on `/posted/TOKEN`: the language of the form that posted, as
/// the receiver put it there; anything kiln has no catalogue for is English.
#[derive(serde::Deserialize)]
pub struct Language {
    #[serde(default)]
    lang: String,
}

#[derive(serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /edit/TOKEN`: the comment and its form.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ApiError> {
    let named = match verify(&state.signer, &token) {
        Ok(named) => named,
        Err(e) => return Ok(refused(&state, e, None)),
    };
    let link = EditLink {
        token,
        expires_at: named.expires_at,
    };
    match load(&state, &named).await? {
        Some(c) if matches!(c.status, Status::Pending | Status::Approved) => {
            let values = EditFields {
                name: c.author.clone(),
                email: String::new(),
                website: c.website.clone().unwrap_or_default(),
                text: c.text.clone(),
            };
            let notice = match done.done.as_str() {
                "saved" | "held" => done.done.clone(),
                _ => String::new(),
            };
            let html = edit_page(&state, &link, &c, &values, &[], notice)?;
            Ok(private_page(StatusCode::OK, html))
        }
        _ if done.done == "deleted" => Ok(message_page(
            &state,
            StatusCode::OK,
            "Your comment was deleted.",
        )),
        _ => Ok(gone(&state)),
    }
}

/// `POST /edit/TOKEN`: save or delete, from the page's forms or as JSON.
pub async fn act(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let client = client_of(&headers)?;
    let limit = state.config.server.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The edit is larger than {limit} bytes. Please shorten your comment."),
        )
    })?;
    let sent = body::submission(client, &bytes).map_err(|e| ApiError::malformed(&e))?;
    let action = sent_value(client, &bytes, "action").unwrap_or_else(|| "save".to_owned());
    let named = match verify(&state.signer, &token) {
        Ok(named) => named,
        Err(e) => {
            return Err(match client {
                Client::Json => bad_link(&state, e),
                Client::Form => {
                    bad_link(&state, e).with_html(refused_html(&state, e, Some(&sent.text)))
                }
            })
        }
    };
    let link = EditLink {
        token,
        expires_at: named.expires_at,
    };
    let Some(current) = load(&state, &named).await? else {
        return Err(gone_error(&state, client));
    };
    let id = current.id;
    match action.as_str() {
        "delete" => {
            let deleted = state
                .with_store(move |store| {
                    // Spam stays on record; only the author's live comment goes.
                    match store.get(id)?.map(|c| c.status) {
                        Some(Status::Pending | Status::Approved) => {
                            moderation::apply(store, Action::Delete, &[id], now())
                        }
                        _ => Ok(Err(Refusal::Unknown(id))),
                    }
                })
                .await?;
            if deleted.is_err() {
                return Err(gone_error(&state, client));
            }
            tracing::info!(comment = id, "comment deleted by its author");
            Ok(match client {
                Client::Json => axum::Json(json!({ "deleted": true, "id": id })).into_response(),
                Client::Form => {
                    Redirect::to(&format!("{}?done=deleted", link.url(&state))).into_response()
                }
            })
        }
        "save" => save(&state, client, peer, &headers, link, current, &sent).await,
        other => Err(ApiError::bad_request(
            "invalid",
            format!("`action` = {other:?} is not \"save\" or \"delete\"."),
        )),
    }
}

async fn save(
    state: &AppState,
    client: Client,
    peer: SocketAddr,
    headers: &HeaderMap,
    link: EditLink,
    current: StoredComment,
    sent: &Submission,
) -> Result<Response, ApiError> {
    // The e-mail address is not shown on the page (the link may be seen
    // over a shoulder), so it is kept as it is.
    let fields = EditFields {
        name: sent.name.clone(),
        email: current.email.clone().unwrap_or_default(),
        website: sent.website.clone(),
        text: sent.text.clone(),
    };
    let client_ip = state.proxies.client_ip(peer.ip(), headers);
    let (config, id, f) = (state.config.clone(), current.id, fields.clone());
    let outcome = state
        .with_store(move |store| moderation::edit_own(store, &config, id, &f, client_ip))
        .await?;
    let edited = match outcome {
        Ok(edited) => edited,
        Err(refused) => {
            let error = match refused {
                EditRefused::Fields(errors) => errors,
                EditRefused::Comment(Refusal::HasPublishedReplies(_)) => vec![FieldError::new(
                    "text",
                    "has_replies",
                    "Your comment has replies now, so changing it would need a moderator to approve it again and the replies would lose their place. You can still delete it: the replies stay.",
                )],
                EditRefused::Comment(_) => return Err(gone_error(state, client)),
            };
            let first = &error[0];
            tracing::info!(comment = id, rule = first.code, client = %anonymize(client_ip), "edit refused");
            state.counters.count(first.code);
            // The same checks as a new comment's fields, so the same answer.
            let api = ApiError::from(Rejection::Fields(error.clone()));
            return Err(match client {
                Client::Json => api,
                Client::Form => api.with_html(edit_page(
                    state,
                    &link,
                    &current,
                    &fields,
                    &error,
                    String::new(),
                )?),
            });
        }
    };
    if let Some(rule) = edited.held_by {
        state.counters.held(rule);
    }
    let held = current.status == Status::Approved && edited.comment.status == Status::Pending;
    tracing::info!(comment = id, held, "comment edited by its author");
    if let (true, Some(mail)) = (held, &state.mail) {
        // The edit queued a message to the moderators; send it now.
        mail.wake.notify_one();
    }
    match client {
        Client::Json => {
            let html = state.pages.comment(&edited.comment)?;
            Ok(
                axum::Json(json!({ "comment": edited.comment, "html": html, "held": held }))
                    .into_response(),
            )
        }
        Client::Form => {
            let done = if held { "held" } else { "saved" };
            Ok(Redirect::to(&format!("{}?done={done}", link.url(state))).into_response())
        }
    }
}

fn edit_page(
    state: &AppState,
    link: &EditLink,
    comment: &StoredComment,
    values: &EditFields,
    errors: &[FieldError],
    notice: String,
) -> Result<String, ApiError> {
    let page = kiln_bake::render::EditPage {
        action: link.url(state),
        comment_html: state.pages.comment(comment)?,
        pending: comment.status == Status::Pending,
        values: kiln_bake::render::EditValues {
            name: values.name.clone(),
            website: values.website.clone(),
            text: values.text.clone(),
        },
        errors: errors
            .iter()
            .map(|e| (e.field.to_owned(), e.message.clone()))
            .collect(),
        id_prefix: "kiln-edit".to_owned(),
        edit_until: link.until(),
        notice,
        back_url: state.pages.back_link(&comment.page_url),
    };
    Ok(state.pages.edit(&page)?)
}

/// The comment is gone: deleted, removed by a moderator, or never stored.
fn comment_gone() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "comment_gone",
        "This comment no longer exists: it was deleted, or a moderator removed it, so there is nothing left to edit.",
    )
}

fn gone(state: &AppState) -> Response {
    let gone = comment_gone();
    message_page(state, gone.status, &gone.message)
}

fn gone_error(state: &AppState, client: Client) -> ApiError {
    match client {
        Client::Json => comment_gone(),
        Client::Form => comment_gone().page(&state.pages),
    }
}

fn message_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    private_page(status, state.pages.error(status.as_u16(), message))
}

/// The answer to an edit link that cannot be used.
fn bad_link(state: &AppState, error: TokenError) -> ApiError {
    let window_minutes = state.config.edits.window_minutes;
    ApiError::from(BadLink {
        link: Link::Edit { window_minutes },
        error,
    })
}

/// The page for a link that cannot be used. After a refused save, what the
/// reader typed is shown for copying, so it is not lost.
fn refused_html(state: &AppState, error: TokenError, typed: Option<&str>) -> String {
    tracing::info!(reason = %error, "edit link refused");
    let refusal = bad_link(state, error);
    state.pages.refused_edit(
        refusal.status.as_u16(),
        &refusal.message,
        typed.filter(|t| !t.is_empty()),
    )
}

fn refused(state: &AppState, error: TokenError, typed: Option<&str>) -> Response {
    let status = bad_link(state, error).status;
    private_page(status, refused_html(state, error, typed))
}

/// "14:05 UTC", or "24 Nov 2026, 14:05 UTC" when not on `now`'s day.
fn human_time(at: i64, now: i64) -> String {
    use time::OffsetDateTime;
    let (Ok(at), Ok(today)) = (
        OffsetDateTime::from_unix_timestamp(at),
        OffsetDateTime::from_unix_timestamp(now),
    ) else {
        return String::new();
    };
    let clock = format!("{:02}:{:02} UTC", at.hour(), at.minute());
    if at.date() == today.date() {
        clock
    } else {
        format!(
            "{} {} {}, {clock}",
            at.day(),
            &format!("{:?}", at.month())[..3],
            at.year()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_short_today_and_dated_otherwise() {
        // 2026-11-23 14:05:00 UTC
        let at = 1_795_442_700;
        assert_eq!(human_time(at, at - 600), "14:05 UTC");
        assert_eq!(human_time(at, at - 86_400), "23 Nov 2026, 14:05 UTC");
    }

    #[test]
    fn tokens_name_one_comment_at_one_time() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef");
        let expires = now() + 60;
        let token = signer.sign(PURPOSE, "7:1000", Some(expires));
        let named = verify(&signer, &token).unwrap();
        assert_eq!(
            (named.id, named.created_at, named.expires_at),
            (7, 1000, expires)
        );
        // Another purpose's token with the same payload is not an edit token.
        let form = signer.sign("form", "7:1000", Some(expires));
        assert_eq!(verify(&signer, &form).err(), Some(TokenError::BadSignature));
        let old = signer.sign(PURPOSE, "7:1000", Some(now() - 1));
        assert_eq!(verify(&signer, &old).err(), Some(TokenError::Expired));
    }
}
