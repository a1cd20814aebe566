//! Each typed refusal's status, code and field, as clients see them; the
//! e2e suite covers the same answers over HTTP.

use axum::response::IntoResponse;

use super::*;
use crate::abuse::Limit;
use crate::submission::FieldError;

fn seen(error: ApiError) -> (u16, &'static str, Option<&'static str>) {
    (error.status.as_u16(), error.code, error.field)
}

fn field(field: &'static str, code: &'static str) -> FieldError {
    FieldError::new(field, code, "Why.")
}

#[test]
fn rejections_map_to_their_status_code_and_field() {
    let cases = [
        (
            Rejection::TooLarge { limit: 10 },
            (413, "too_large", Some("body")),
        ),
        (
            Rejection::Unreadable(field("body", "invalid_json")),
            (400, "invalid_json", Some("body")),
        ),
        (
            Rejection::Fields(vec![field("url", "invalid"), field("text", "required")]),
            (422, "invalid", Some("url")),
        ),
        (
            Rejection::FormToken(field("token", "form_token_expired")),
            (422, "form_token_expired", Some("token")),
        ),
        (
            Rejection::RateLimited {
                limit: Limit::Thread,
                wait: 90,
            },
            (429, "rate_limit_thread", Some("text")),
        ),
        (
            Rejection::Content(field("email", "block_emails")),
            (422, "block_emails", Some("email")),
        ),
        (Rejection::Duplicate, (422, "duplicate", Some("text"))),
        (
            Rejection::NotifyWithoutEmail,
            (422, "required", Some("email")),
        ),
        (
            Rejection::Parent(Refusal::ParentNotPublished(3)),
            (422, "parent_not_published", Some("parent")),
        ),
    ];
    for (rejection, expected) in cases {
        let name = format!("{rejection:?}");
        assert_eq!(seen(ApiError::from(rejection)), expected, "{name}");
    }
}

#[tokio::test]
async fn a_rate_limit_says_when_to_retry() {
    let limited = ApiError::from(Rejection::RateLimited {
        limit: Limit::Client,
        wait: 61,
    });
    let response = limited.into_response();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "61");
    let body = axum::body::to_bytes(response.into_body(), 10_000)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], "rate_limit_ip");
    assert_eq!(json["error"]["field"], "text");
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in 2 minutes"));

    let other = ApiError::from(Rejection::Duplicate).into_response();
    assert!(other.headers().get("retry-after").is_none());
}

#[test]
fn refusals_are_conflicts_but_a_parent_is_a_field() {
    assert_eq!(
        seen(ApiError::from(Refusal::NotPending(4, "approved"))),
        (409, "refused", None)
    );
    let gone = ApiError::from(Refusal::Unknown(9)).context("Nothing was saved");
    assert_eq!(
        gone.message,
        "Nothing was saved: there is no comment with id 9."
    );
    assert_eq!(
        seen(ApiError::from(Refusal::ParentMissing(1))),
        (422, "parent_not_found", Some("parent"))
    );
    assert_eq!(
        seen(ApiError::from(Refusal::ParentInOtherThread(1))),
        (422, "parent_other_thread", Some("parent"))
    );
}

#[test]
fn bad_links_are_gone_when_expired_and_bad_requests_otherwise() {
    let edit = Link::Edit { window_minutes: 15 };
    let mail = Link::Mail { expiry_days: 7 };
    let answer = |link, error| seen(ApiError::from(BadLink { link, error }));
    assert_eq!(
        answer(edit, TokenError::Expired),
        (410, "edit_expired", None)
    );
    assert_eq!(
        answer(edit, TokenError::BadSignature),
        (400, "edit_link_invalid", None)
    );
    assert_eq!(
        answer(mail, TokenError::Expired),
        (410, "link_expired", None)
    );
    assert_eq!(
        answer(mail, TokenError::Malformed),
        (400, "link_invalid", None)
    );
    let expired = ApiError::from(BadLink {
        link: edit,
        error: TokenError::Expired,
    });
    assert!(expired.message.contains("15 minutes"));
    let bad = BadLink {
        link: mail,
        error: TokenError::Malformed,
    };
    assert_eq!(bad.title(), "This link is not valid");
}
