//! `POST /comments` and the no-JS reply page. A browser form gets a 303 back
//! to its page, or an HTML page naming the wrong field with everything the
//! reader typed; a JSON client gets 201 with the stored comment, or the JSON
//! error shape. Nothing is acknowledged before it is committed.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::store::{Refusal, Status};
use crate::submission::{
    check_page_url, form_wants_notify, json_wants_notify, parse_form, FieldError, Submission,
};

/// How the client wants its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    Form,
    Json,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let client = if content_type.starts_with("application/x-www-form-urlencoded") {
        Client::Form
    } else if content_type.starts_with("application/json") {
        Client::Json
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the comment as application/x-www-form-urlencoded (a form) or application/json.",
        ));
    };

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

    let (submission, notify) = match client {
        Client::Form => parse_form(&bytes).map(|s| (s, form_wants_notify(&bytes))),
        Client::Json => parse_json(&bytes).and_then(|s| Ok((s, parse_json_notify(&bytes)?))),
    }
    .map_err(|e| refuse(&state, client, StatusCode::BAD_REQUEST, &[e], None))?;

    let checked = submission
        .check(&state.config, Some(anonymize(peer.ip())))
        .map_err(|errors| {
            refuse(
                &state,
                client,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                Some((&submission, notify)),
            )
        })?;

    let status = if state.config.moderation.enabled {
        Status::Pending
    } else {
        Status::Approved
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
    if let Some(mail) = &state.mail {
        // The insert queued the moderators' message; send it now.
        mail.wake.notify_one();
    }

    match client {
        Client::Form => {
            // The baked thread holds a notice for each outcome, shown by :target.
            let mut back = checked.page;
            back.set_fragment(Some(match stored.status {
                Status::Approved => "kiln-published",
                _ => "kiln-received",
            }));
            Ok(Redirect::to(back.as_str()).into_response())
        }
        Client::Json => {
            let html = state.pages.comment(&stored)?;
            Ok((
                StatusCode::CREATED,
                axum::Json(json!({ "comment": stored, "html": html })),
            )
                .into_response())
        }
    }
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
        "submission refused"
    );
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

/// Reads a JSON submission: an object of strings (the parent may be a number).
fn parse_json(bytes: &[u8]) -> Result<Submission, FieldError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        FieldError::new(
            "body",
            "invalid_utf8",
            "The request body is not valid UTF-8.",
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        FieldError::new(
            "body",
            "invalid_json",
            format!("The request body is not valid JSON: {e}."),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(FieldError::new(
            "body",
            "invalid_json",
            "The request body must be a JSON object.",
        ));
    };
    let mut submission = Submission::default();
    for field in [
        "thread", "url", "parent", "name", "email", "website", "text",
    ] {
        let value = match map.get(field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if field == "parent" => n.to_string(),
            Some(_) => {
                return Err(FieldError::new(
                    field_name(field),
                    "invalid_type",
                    format!("`{field}` must be a string."),
                ))
            }
        };
        submission.set(field, value);
    }
    Ok(submission)
}

/// The `notify` choice of a JSON body that `parse_json` accepted.
fn parse_json_notify(bytes: &[u8]) -> Result<bool, FieldError> {
    let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    json_wants_notify(value.get("notify"))
}

/// The static name of a known field, for error values that outlive the map.
fn field_name(field: &str) -> &'static str {
    [
        "thread", "url", "parent", "name", "email", "website", "text",
    ]
    .into_iter()
    .find(|f| *f == field)
    .unwrap_or("body")
}

/// Keeps only the network part of an address: /24 for IPv4, /48 for IPv6.
pub fn anonymize(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_anonymized() {
        assert_eq!(anonymize("203.0.113.77".parse().unwrap()), "203.0.113.0");
        assert_eq!(
            anonymize("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1::"
        );
        assert_eq!(
            anonymize("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0"
        );
    }

    #[test]
    fn json_fields_must_be_strings() {
        let err = parse_json(br#"{"text": 5}"#).unwrap_err();
        assert_eq!((err.field, err.code), ("text", "invalid_type"));
        assert_eq!(
            parse_json(br#"{"parent": 7, "text": "x"}"#).unwrap().parent,
            "7"
        );
        let err = parse_json(b"{\"text\": \"\xff\"}").unwrap_err();
        assert_eq!((err.field, err.code), ("body", "invalid_utf8"));
    }
}
