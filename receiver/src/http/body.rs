//! What a commenter's browser form or script sent, read the same way for a
//! new comment (`comments`) and an edit (`edit`): which kind of client it
//! is, the submission in either encoding, and the fields sent beside it.
//! Both handlers read bodies through here, so neither imports the other.

use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;

use super::ApiError;
use crate::abuse::HONEYPOT_FIELD;
use crate::submission::{
    form_has_filled, form_value, form_wants_notify, json_wants_notify, parse_form, parse_json,
    FieldError, Submission,
};

/// How the client wants its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Client {
    Form,
    Json,
}

/// The client's kind from its Content-Type: a browser form or JSON.
pub(super) fn client_of(headers: &HeaderMap) -> Result<Client, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        Ok(Client::Form)
    } else if content_type.starts_with("application/json") {
        Ok(Client::Json)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the comment as application/x-www-form-urlencoded (a form) or application/json.",
        ))
    }
}

/// The submission in the client's encoding.
pub(super) fn submission(client: Client, bytes: &[u8]) -> Result<Submission, FieldError> {
    match client {
        Client::Form => parse_form(bytes),
        Client::Json => parse_json(bytes),
    }
}

/// Whether the reader asked for mail about replies; a JSON client may send
/// a value that is neither yes nor no, which is an error.
pub(super) fn wants_notify(client: Client, bytes: &[u8]) -> Result<bool, FieldError> {
    match client {
        Client::Form => Ok(form_wants_notify(bytes)),
        Client::Json => {
            let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            json_wants_notify(value.get("notify"))
        }
    }
}

/// A string field beside the comment's own (the form token, the edit
/// action), in either encoding.
pub(super) fn sent_value(client: Client, bytes: &[u8], field: &str) -> Option<String> {
    match client {
        Client::Form => form_value(bytes, field),
        Client::Json => serde_json::from_slice::<Value>(bytes)
            .ok()?
            .get(field)?
            .as_str()
            .map(str::to_owned),
    }
}

/// Whether the submission filled the honeypot field.
pub(super) fn honeypot_filled(client: Client, bytes: &[u8]) -> bool {
    match client {
        Client::Form => form_has_filled(bytes, HONEYPOT_FIELD),
        Client::Json => serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get(HONEYPOT_FIELD).cloned())
            .is_some_and(|v| {
                !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.trim().is_empty())
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_is_read_in_either_encoding() {
        assert!(wants_notify(Client::Form, b"text=x&notify=on").unwrap());
        assert!(!wants_notify(Client::Json, br#"{"text": "x"}"#).unwrap());
        let err = wants_notify(Client::Json, br#"{"notify": 3}"#).unwrap_err();
        assert_eq!((err.field, err.code), ("notify", "invalid_type"));
    }
}
