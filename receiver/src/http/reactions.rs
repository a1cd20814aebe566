//! `POST /react`: a like from the form under a comment (`[reactions]`). A
//! browser form gets a 303 back to the comment on its page, or the
//! receiver's error page; the optional script (JSON) gets the comment's
//! count, `{ "comment": ID, "likes": N, "counted": true }`, or the JSON error
//! shape. The checks are `crate::reactions`'; this module reads and answers.
//!
//! `GET /api/likes?thread=ID[&site=NAME]`: a thread's like counts now,
//! `{ "COMMENT ID": N, … }` (comments nobody liked are left out), so the
//! script tops up the counts a page was baked with.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::body::{client_of, sent_value, Client};
use super::{now, ApiError, AppState};
use crate::reactions::{LikeRefusal, Likes, SentLike};
use crate::submission::FieldError;

/// The largest like body read: three short fields.
const MAX_BODY: usize = 8 * 1024;

pub async fn react(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let client = client_of(&headers)?;
    if !state.config.reactions.enabled {
        let off = reactions_off();
        return Err(match client {
            Client::Json => off,
            Client::Form => off.page(&state.pages),
        });
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        refuse(
            &state,
            client,
            LikeRefusal::Malformed(FieldError::new(
                "body",
                "too_large",
                format!("A like is a few short fields; this one is over {MAX_BODY} bytes."),
            )),
        )
    })?;
    let field = |name| sent_value(client, &bytes, name).unwrap_or_default();
    let sent = SentLike {
        comment: field("comment"),
        url: field("url"),
        token: field("token"),
        client: state.proxies.client_ip(peer.ip(), &headers),
        now: now(),
        moment: crate::store::Moment::now(),
    };
    let likes = Likes {
        config: &state.config,
        signer: &state.signer,
        limiter: &state.like_limiter,
        store: &state,
    };
    let counted = match likes.like(&sent).await? {
        Ok(counted) => counted,
        Err(refusal) => return Err(refuse(&state, client, refusal)),
    };
    if counted.new {
        // The thread's count changed: bake it in place, as after an approval.
        crate::publish::changed();
    }
    tracing::info!(comment = counted.comment, new = counted.new, "like");
    match client {
        Client::Json => Ok(axum::Json(json!({
            "comment": counted.comment,
            "likes": counted.likes,
            "counted": counted.new,
        }))
        .into_response()),
        // `check_page_url` admitted the page by the same sites.
        Client::Form => match state.pages.back_link(counted.page.as_str()) {
            Some(back) => {
                let anchor = kiln_bake::render::comment_anchor(counted.comment);
                Ok(Redirect::to(back.with_fragment(&anchor).as_str()).into_response())
            }
            None => Err(ApiError::bad_request(
                "url",
                "The page to go back to is not one of this receiver's sites.",
            )
            .page(&state.pages)),
        },
    }
}

/// How long shared caches and browsers may keep a thread's like counts.
const LIKES_MAX_AGE: &str = "public, max-age=5";

/// `GET /api/likes?thread=ID[&site=NAME]`: the thread's like counts by
/// comment id. The site is `?site=`, else the asking page's `Origin`'s, as
/// for `/api/counts`.
pub async fn likes(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !state.config.reactions.enabled {
        return Err(reactions_off());
    }
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.as_str())
    };
    let site = super::asked_site(&state.config, value("site"), &headers)?;
    let thread = value("thread").unwrap_or_default().to_owned();
    if thread.is_empty() || thread.len() > 500 {
        return Err(ApiError::bad_request(
            "invalid",
            "Give the thread id as ?thread=ID (at most 500 bytes).",
        ));
    }
    let found = state
        .read_store(move |store| store.likes(&site, &thread))
        .await?;
    let counts: serde_json::Map<String, serde_json::Value> = found
        .into_iter()
        .map(|(id, n)| (id.to_string(), n.into()))
        .collect();
    let mut response = axum::Json(counts).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static(LIKES_MAX_AGE),
    );
    Ok(response)
}

fn reactions_off() -> ApiError {
    ApiError::off(
        "reactions_off",
        "This receiver takes no likes. Set reactions.enabled = true (KILN_REACTIONS_ENABLED) to turn them on.",
    )
}

/// A refused like, logged and counted under its rule, in the client's
/// terms: an error page for a browser, the JSON shape for the script.
fn refuse(state: &AppState, client: Client, refusal: LikeRefusal) -> ApiError {
    let error = refusal.error();
    let status = match refusal {
        LikeRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
        LikeRefusal::Missing(_) | LikeRefusal::NotPublished(_) => StatusCode::NOT_FOUND,
        LikeRefusal::FormToken(_) => StatusCode::FORBIDDEN,
        LikeRefusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
    };
    let mut answer = ApiError::field(status, &error);
    if let LikeRefusal::RateLimited { wait, .. } = refusal {
        answer.retry_after = Some(wait);
    }
    tracing::info!(status = status.as_u16(), rule = error.code, "like refused");
    state.counters.count(error.code);
    match client {
        Client::Json => answer,
        Client::Form => answer.page(&state.pages),
    }
}
