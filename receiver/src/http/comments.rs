//! `POST /comments` and the no-JS reply page. A browser form gets a 303 back
//! to its page, or an HTML page naming the wrong field with everything the
//! reader typed; a JSON client gets 201 with the stored comment, or the JSON
//! error shape. Nothing is acknowledged before it is committed.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use super::body::{self, client_of, Client};
use super::edit::EditLink;
use super::{now, ApiError, AppState};
use crate::abuse::{check_content, check_form_token, Limit, Verdict};
use crate::address::anonymize;
use crate::store::{Refusal, Status};
use crate::submission::{check_page_url, FieldError, Submission};

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let client = client_of(&headers)?;

    let limit = state.config.server.max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        let error = FieldError::new(
            "body",
            "too_large",
            format!("The submission is larger than {limit} bytes. Please shorten your comment."),
        );
        return Err(refuse(
            &state,
            client,
            StatusCode::PAYLOAD_TOO_LARGE,
            &[error],
            None,
        ));
    };

    let (submission, notify) = body::submission(client, &bytes)
        .and_then(|s| Ok((s, body::wants_notify(client, &bytes)?)))
        .map_err(|e| refuse(&state, client, StatusCode::BAD_REQUEST, &[e], None))?;

    let client_ip = state.proxies.client_ip(peer.ip(), &headers);
    let checked = submission
        .check(
            &state.config,
            state.config.privacy.store_ip.then(|| anonymize(client_ip)),
        )
        .map_err(|errors| {
            refuse(
                &state,
                client,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                Some((&submission, notify)),
            )
        })?;

    // A honeypot hit is answered like a received comment, so a bot learns
    // nothing, and dropped: nothing is stored.
    if state.config.spam.honeypot && body::honeypot_filled(client, &bytes) {
        state.counters.count("honeypot");
        tracing::info!(rule = "honeypot", client = %anonymize(client_ip), "submission dropped");
        return received_but_dropped(&state, client, checked);
    }
    if state.config.spam.form_token {
        let token = body::sent_value(client, &bytes, "token").unwrap_or_default();
        let thread = &checked.comment.thread;
        let min_fill = state.config.spam.min_fill_seconds;
        if let Err(error) = check_form_token(&state.signer, &token, thread, now(), min_fill) {
            tracing::info!(rule = error.code, client = %anonymize(client_ip), "submission refused: form token");
            return Err(refuse(
                &state,
                client,
                StatusCode::UNPROCESSABLE_ENTITY,
                &[error],
                Some((&submission, notify)),
            ));
        }
    }
    if let Err((limit, wait)) = state.limiter.admit(
        client_ip,
        &checked.comment.thread,
        std::time::Instant::now(),
    ) {
        let minutes = wait.div_ceil(60);
        let when = format!("in {minutes} minute{}", if minutes == 1 { "" } else { "s" });
        let message = match limit {
            Limit::Client => format!("You have posted several comments in a short time. Please post this one again {when}; your text is kept below."),
            Limit::Thread => format!("This page is receiving a lot of comments right now. Please post yours again {when}; your text is kept below."),
            Limit::Global => format!("The comment service is receiving a lot of comments right now. Please post yours again {when}; your text is kept below."),
        };
        let error = FieldError::new("text", limit.rule(), message);
        let mut response = refuse(
            &state,
            client,
            StatusCode::TOO_MANY_REQUESTS,
            &[error],
            Some((&submission, notify)),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }

    let spam = &state.config.spam;
    let mut held = match check_content(spam, &checked.comment, client_ip) {
        Verdict::Reject(error) => {
            tracing::info!(rule = error.code, client = %anonymize(client_ip), "submission refused by a spam rule");
            return Err(refuse(
                &state,
                client,
                StatusCode::UNPROCESSABLE_ENTITY,
                &[error],
                Some((&submission, notify)),
            ));
        }
        Verdict::Moderate(rule) => Some(rule),
        Verdict::Pass => None,
    };
    let (duplicate, known) = {
        let (thread, text, addr, email) = (
            checked.comment.thread.clone(),
            checked.comment.text.clone(),
            checked.comment.remote_addr.clone(),
            checked.comment.email.clone(),
        );
        let since = now() - i64::from(spam.duplicate_days) * 86_400;
        let (check_dup, check_known) = (spam.duplicate_days > 0, spam.auto_approve_known);
        state
            .with_store(move |store| {
                let dup = check_dup
                    && store.is_duplicate(
                        &thread,
                        &text,
                        addr.as_deref(),
                        email.as_deref(),
                        since,
                    )?;
                let known = check_known
                    && match &email {
                        Some(e) => store.has_approved_comment(e)?,
                        None => false,
                    };
                Ok((dup, known))
            })
            .await?
    };
    if duplicate {
        let error = FieldError::new(
            "text",
            "duplicate",
            "You have posted this same comment on this page before. It is waiting for a moderator or already on the page, so there is no need to post it again.",
        );
        return Err(refuse(
            &state,
            client,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[error],
            Some((&submission, notify)),
        ));
    }
    if let Some(rule) = held {
        state.counters.held(rule);
        tracing::info!(rule, client = %anonymize(client_ip), "submission held for moderation by a spam rule");
    }
    let status = if held.take().is_some() {
        Status::Pending
    } else if !state.config.moderation.enabled || known {
        Status::Approved
    } else {
        Status::Pending
    };
    if notify && checked.comment.email.is_none() {
        let error = FieldError::new(
            "email",
            "required",
            "To get an email when someone replies, give your email address (or untick the box).",
        );
        return Err(refuse(
            &state,
            client,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[error],
            Some((&submission, notify)),
        ));
    }
    let comment = checked.comment.clone();
    let stored = state
        .with_store(move |store| store.insert_opted(&comment, notify, status, now()))
        .await?;
    let stored = match stored {
        Ok(stored) => stored,
        Err(refusal) => {
            let error = parent_error(&refusal);
            return Err(refuse(
                &state,
                client,
                StatusCode::UNPROCESSABLE_ENTITY,
                &[error],
                Some((&submission, notify)),
            ));
        }
    };
    // Ids only: the author's name and address stay out of the logs.
    tracing::info!(comment = stored.id, thread = %stored.thread, status = stored.status.as_str(), "comment received");
    state.counters.count(crate::abuse::ACCEPTED);
    if let Some(mail) = &state.mail {
        // The insert queued the moderators' message; send it now.
        mail.wake.notify_one();
    }

    let link = EditLink::issue(&state, stored.id, stored.created_at);
    let published = stored.status == Status::Approved;
    answer(&state, client, checked.page, &stored, published, link)
}

/// A stored submission's answer (or a dropped one's, which must look the
/// same). With edit links on, a browser goes to the receiver's "thank you"
/// page, which holds the private link; otherwise straight back to the page,
/// where the baked thread holds a notice for each outcome, shown by
/// :target. A JSON client gets the comment, its HTML and the link.
fn answer(
    state: &AppState,
    client: Client,
    mut page: url::Url,
    comment: &crate::store::StoredComment,
    published: bool,
    link: Option<EditLink>,
) -> Result<Response, ApiError> {
    match (client, link) {
        (Client::Form, Some(link)) => Ok(Redirect::to(&format!(
            "{}/posted/{}",
            state.pages.public_url(),
            link.token
        ))
        .into_response()),
        (Client::Form, None) => {
            page.set_fragment(Some(if published {
                "kiln-published"
            } else {
                "kiln-received"
            }));
            Ok(Redirect::to(page.as_str()).into_response())
        }
        (Client::Json, link) => {
            let html = state.pages.comment(comment)?;
            let edit = link.map(|l| l.to_json(state));
            Ok((
                StatusCode::CREATED,
                axum::Json(json!({ "comment": comment, "html": html, "edit": edit })),
            )
                .into_response())
        }
    }
}

/// The answer a stored, pending comment would get, for a submission that is
/// dropped: the same redirect, or the same JSON shape with no real id.
fn received_but_dropped(
    state: &AppState,
    client: Client,
    checked: crate::submission::Checked,
) -> Result<Response, ApiError> {
    let status = if state.config.moderation.enabled {
        Status::Pending
    } else {
        Status::Approved
    };
    let c = checked.comment;
    let fake = crate::store::StoredComment {
        id: 0,
        thread: c.thread,
        parent: c.parent,
        status,
        author: c.author,
        // Never serialized; it keys the avatar, which must look exactly
        // like a stored comment's.
        email: c.email,
        website: c.website,
        text: c.text,
        page_url: c.page_url,
        page_title: c.page_title,
        remote_addr: None,
        created_at: now(),
    };
    // A real-looking edit link for a comment that does not exist: it leads
    // to "this comment no longer exists".
    let link = EditLink::issue(state, 0, fake.created_at);
    answer(
        state,
        client,
        checked.page,
        &fake,
        status == Status::Approved,
        link,
    )
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    thread: String,
}

/// `GET /api/token?thread=ID`: a fresh form token for the optional script,
/// fetched when a reader starts writing, so the receiver can tell a form
/// filled in by a person from one posted at once (`spam.min_fill_seconds`).
/// 404 when form tokens are off: the baked form is all there is then.
pub async fn fresh_token(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    if !state.config.spam.form_token {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "form_tokens_off",
            "This receiver does not use form tokens.",
        ));
    }
    let thread = query.thread.trim();
    if thread.is_empty() || thread.len() > crate::submission::MAX_THREAD {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            &FieldError::new("thread", "invalid", "Name the thread the form is for."),
        ));
    }
    let token = crate::abuse::fresh_form_token(&state.signer, thread, now());
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "token": token })),
    )
        .into_response())
}

/// Query of the no-JS reply page; the values come from a baked link.
#[derive(serde::Deserialize)]
pub struct ReplyQuery {
    #[serde(default)]
    thread: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    parent: String,
}

/// A page with the comment being answered and the form, with the parent set.
pub async fn reply_page(
    State(state): State<AppState>,
    Query(query): Query<ReplyQuery>,
) -> Result<Response, ApiError> {
    let page_error = |e: FieldError| {
        let html = state
            .pages
            .error(StatusCode::BAD_REQUEST.as_u16(), &e.message);
        ApiError::field(StatusCode::BAD_REQUEST, &e).with_html(html)
    };
    check_page_url(&query.url, &state.config).map_err(page_error)?;
    let parent_id = query.parent.trim().parse::<i64>().map_err(|_| {
        page_error(FieldError::new(
            "parent",
            "invalid",
            "This reply link is broken: it names no comment.",
        ))
    })?;
    let parent = state.with_store(move |store| store.get(parent_id)).await?;
    let parent = match parent {
        Some(p) if p.status == Status::Approved && p.thread == query.thread => p,
        Some(p) if p.status == Status::Approved => {
            return Err(page_error(parent_error(&Refusal::ParentInOtherThread(
                p.id,
            ))))
        }
        Some(p) => return Err(page_error(parent_error(&Refusal::ParentNotPublished(p.id)))),
        None => return Err(page_error(parent_error(&Refusal::ParentMissing(parent_id)))),
    };
    let submission = Submission {
        thread: query.thread.clone(),
        url: query.url.clone(),
        parent: parent_id.to_string(),
        ..Submission::default()
    };
    Ok(Html(state.pages.reply(&submission, &parent)?).into_response())
}

/// The answer to a refused submission, in the client's language.
fn refuse(
    state: &AppState,
    client: Client,
    status: StatusCode,
    errors: &[FieldError],
    // What the reader sent, and whether they ticked the notify box.
    submission: Option<(&Submission, bool)>,
) -> ApiError {
    let first = errors
        .first()
        .cloned()
        .unwrap_or_else(|| FieldError::new("body", "invalid", "The submission was refused."));
    tracing::info!(
        status = status.as_u16(),
        field = first.field,
        code = first.code,
        rule = first.code,
        "submission refused"
    );
    state.counters.count(first.code);
    let error = ApiError::field(status, &first);
    match client {
        Client::Json => error,
        Client::Form => {
            let empty = Submission::default();
            let (submission, notify) = submission.unwrap_or((&empty, false));
            match state.pages.form_error(submission, notify, errors) {
                Ok(html) => error.with_html(html),
                Err(e) => ApiError::from(e),
            }
        }
    }
}

fn parent_error(refusal: &Refusal) -> FieldError {
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
