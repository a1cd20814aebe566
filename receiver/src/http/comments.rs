//! `POST /comments` and the no-JS reply page. A browser form gets a 303 back
//! to its page, or an HTML page naming the wrong field with everything the
//! reader typed; a JSON client gets 201 with the stored comment, or the JSON
//! error shape. Nothing is acknowledged before it is committed. The checks
//! are `crate::admission`'s; this module reads the body and answers.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use super::body::{self, client_of, Client};
use super::edit::EditLink;
use super::{now, ApiError, AppState};
use crate::admission::{parent_error, Admission, Admitted, Rejection, Sent};
use crate::store::{Refusal, Status};
use crate::submission::{check_page_url, FieldError, Submission};

/// `POST /comments`: read the body, admit it, answer in the client's terms.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let client = client_of(&headers)?;
    let who = super::signin::identity(&state, &headers);
    let sent = match read(&state, client, peer, &headers, body, who.as_ref()).await {
        Ok(sent) => sent,
        Err(rejection) => return Err(refuse(&state, client, rejection, None)),
    };
    if who.is_none() {
        if let Some(rejection) = super::signin::required(&state, &sent.submission) {
            let typed = Some((&sent.submission, sent.notify));
            return Err(refuse(&state, client, rejection, typed));
        }
    }
    let admission = Admission {
        config: &state.config,
        signer: &state.signer,
        limiter: &state.limiter,
        counters: &state.counters,
        store: &state,
    };
    match admission.admit(&sent).await? {
        Ok(Admitted::Stored {
            comment,
            page,
            html,
        }) => {
            if let Some(mail) = &state.mail {
                // The insert queued the moderators' message; send it now.
                mail.wake.notify_one();
            }
            let link = EditLink::issue(&state, comment.id, comment.created_at);
            let published = comment.status == Status::Approved;
            // Stored with the signed-in commenter's subject: verified.
            let verified = who.is_some();
            let lang = sent.submission.lang();
            answer(
                &state,
                client,
                page,
                (&comment, html, verified),
                published,
                link,
                lang,
            )
        }
        Ok(Admitted::Dropped(checked)) => {
            received_but_dropped(&state, client, checked, sent.submission.lang())
        }
        Err(rejection) => {
            let typed = Some((&sent.submission, sent.notify));
            Err(refuse(&state, client, rejection, typed))
        }
    }
}

/// The submission and what came with it, from a body of at most
/// `server.max_body_bytes`.
async fn read(
    state: &AppState,
    client: Client,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
    who: Option<&crate::auth::Identity>,
) -> Result<Sent, Rejection> {
    let limit = state.config.server.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Rejection::TooLarge { limit })?;
    let mut submission = body::submission(client, &bytes).map_err(Rejection::Unreadable)?;
    let notify = body::wants_notify(client, &bytes).map_err(Rejection::Unreadable)?;
    let trusted = super::signin::apply(state, who, &mut submission);
    Ok(Sent {
        submission,
        notify,
        honeypot: body::honeypot_filled(client, &bytes),
        token: body::sent_value(client, &bytes, "token").unwrap_or_default(),
        trusted,
        identity_subject: who.map(|w| w.subject.clone()),
        client: state.proxies.client_ip(peer.ip(), headers),
        now: now(),
        moment: crate::store::Moment::now(),
    })
}

/// The answer to a refused submission, in the client's language: the one
/// place each refusal is logged and counted under its rule, and where a
/// browser gets the form again with the errors and everything the reader
/// typed (`typed`: the submission and the notify box; none when the body
/// could not be read).
fn refuse(
    state: &AppState,
    client: Client,
    rejection: Rejection,
    typed: Option<(&Submission, bool)>,
) -> ApiError {
    let (errors, first) = (rejection.errors(), rejection.first());
    let error = ApiError::from(rejection);
    tracing::info!(
        status = error.status.as_u16(),
        field = first.field,
        code = first.code,
        rule = first.code,
        "submission refused"
    );
    state.counters.count(first.code);
    match client {
        Client::Json => error,
        Client::Form => {
            let empty = Submission::default();
            let (submission, notify) = typed.unwrap_or((&empty, false));
            match state.pages.form_error(submission, notify, &errors) {
                Ok(html) => error.with_html(html),
                Err(e) => ApiError::from(e),
            }
        }
    }
}

/// A stored submission's answer (or a dropped one's, which must look the
/// same). With edit links on, a browser goes to the receiver's "thank you"
/// page, which holds the private link; otherwise straight back to the page,
/// where the baked thread holds a notice for each outcome, shown by
/// :target. A JSON client gets the comment, its HTML and the link.
fn answer(
    state: &AppState,
    client: Client,
    page: url::Url,
    (comment, html, verified): (&crate::store::StoredComment, String, bool),
    published: bool,
    link: Option<EditLink>,
    lang: &'static str,
) -> Result<Response, ApiError> {
    match (client, link) {
        // The thank-you page speaks the form's language (checked: a
        // locale kiln has).
        (Client::Form, Some(link)) => Ok(Redirect::to(&format!(
            "{}/posted/{}?lang={lang}",
            state.pages.public_url(),
            link.token
        ))
        .into_response()),
        (Client::Form, None) => {
            let fragment = if published {
                "kiln-published"
            } else {
                "kiln-received"
            };
            // Through the same check as every other link to a page, though
            // `check_page_url` admitted this one by the same sites.
            match state.pages.back_link(page.as_str()) {
                Some(back) => {
                    Ok(Redirect::to(back.with_fragment(fragment).as_str()).into_response())
                }
                None => {
                    Ok(Html(state.pages.received(None, published, None, lang)?).into_response())
                }
            }
        }
        (Client::Json, link) => {
            let html = state.pages.rendered_comment(comment, html, verified)?;
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
    lang: &'static str,
) -> Result<Response, ApiError> {
    let status = if state.config.moderation_of(&checked.comment.site).enabled {
        Status::Pending
    } else {
        Status::Approved
    };
    let c = checked.comment;
    let verified = c.identity_subject.is_some();
    let fake = crate::store::StoredComment {
        id: 0,
        site: c.site,
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
    let html = kiln_bake::markdown::to_html(&fake.text);
    answer(
        state,
        client,
        checked.page,
        (&fake, html, verified),
        status == Status::Approved,
        link,
        lang,
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
        return Err(ApiError::off(
            "form_tokens_off",
            "This receiver does not use form tokens.",
        ));
    }
    let thread = query.thread.trim();
    if thread.is_empty() || thread.len() > crate::submission::MAX_THREAD {
        return Err(ApiError::malformed(&FieldError::new(
            "thread",
            "invalid",
            "Name the thread the form is for.",
        )));
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
    // Every fault here is in the link that led here.
    let page_error = |e: FieldError| ApiError::malformed(&e).page(&state.pages);
    check_page_url(&query.url, &state.config).map_err(page_error)?;
    let parent_id = query.parent.trim().parse::<i64>().map_err(|_| {
        page_error(FieldError::new(
            "parent",
            "invalid",
            "This reply link is broken: it names no comment.",
        ))
    })?;
    let parent = state.read_store(move |store| store.get(parent_id)).await?;
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
