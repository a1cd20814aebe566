//! Bad input, table-driven: each bad submission gets its status, an error
//! naming the field (the JSON error shape, or an HTML page showing the form
//! again with everything typed), and nothing is stored.

use serde_json::{json, Value};

use crate::support::*;

const SITE: &str = "https://blog.example";
const TYPED: &str = "My carefully typed text, kept on error ✓";

struct Case {
    what: &'static str,
    field_value: (&'static str, String),
    status: u16,
    field: &'static str,
    code: &'static str,
}

fn case(
    what: &'static str,
    field: &'static str,
    value: impl Into<String>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        field_value: (field, value.into()),
        status,
        field,
        code,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("missing text", "text", "", 422, "required"),
        case("blank text", "text", "  \n\t ", 422, "required"),
        case(
            "text over its limit",
            "text",
            "x".repeat(10_001),
            422,
            "too_long",
        ),
        case(
            "name over its limit",
            "name",
            "n".repeat(101),
            422,
            "too_long",
        ),
        case(
            "email that is not one",
            "email",
            "not-an-address",
            422,
            "invalid",
        ),
        case(
            "email over its limit",
            "email",
            format!("{}@example.org", "e".repeat(250)),
            422,
            "too_long",
        ),
        case(
            "javascript: website",
            "website",
            "javascript:alert(1)",
            422,
            "invalid",
        ),
        case(
            "ftp website",
            "website",
            "ftp://files.example/",
            422,
            "invalid",
        ),
        case(
            "website over its limit",
            "website",
            format!("https://{}.example/", "w".repeat(300)),
            422,
            "too_long",
        ),
        case(
            "page on another origin",
            "url",
            "https://evil.example/t/",
            422,
            "origin_not_allowed",
        ),
        case(
            "page on a lookalike origin",
            "url",
            "https://blog.example.evil.example/t/",
            422,
            "origin_not_allowed",
        ),
        case(
            "page URL that is not http",
            "url",
            "javascript:alert(1)",
            422,
            "invalid",
        ),
        case("missing page URL", "url", "", 422, "required"),
        case("missing thread", "thread", "", 422, "required"),
        case(
            "thread id over its limit",
            "thread",
            format!("/{}", "t".repeat(500)),
            422,
            "too_long",
        ),
        case(
            "parent that does not exist",
            "parent",
            "999",
            422,
            "parent_not_found",
        ),
        case(
            "parent still pending",
            "parent",
            "2",
            422,
            "parent_not_published",
        ),
        case(
            "parent in another thread",
            "parent",
            "3",
            422,
            "parent_other_thread",
        ),
        case("parent that is not an id", "parent", "abc", 422, "invalid"),
    ]
}

fn base_fields() -> Vec<(&'static str, String)> {
    vec![
        ("thread", "/t/".into()),
        ("url", format!("{SITE}/t/")),
        ("parent", String::new()),
        ("name", "Eve".into()),
        ("email", "eve@example.org".into()),
        ("website", "https://eve.example/".into()),
        ("text", TYPED.into()),
    ]
}

/// Tera's HTML escaping, to find a message inside the error page.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

struct Fixture {
    _tmp: tempfile::TempDir,
    receiver: Receiver,
}

/// A receiver with an approved comment (1) and a pending one (2) in /t/, and
/// an approved one (3) in /other/.
fn fixture() -> Fixture {
    let (tmp, receiver) = fresh_receiver(SITE, &[]);
    let db = receiver.db.clone();
    let t = format!("{SITE}/t/");
    let other = format!("{SITE}/other/");
    // Distinct texts: the same one twice on /t/ would be a duplicate.
    for (i, (thread, url)) in [("/t/", &t), ("/t/", &t), ("/other/", &other)]
        .into_iter()
        .enumerate()
    {
        let text = format!("seed {i}");
        assert_eq!(
            post_form(
                &receiver,
                &[("thread", thread), ("url", url), ("text", &text)]
            )
            .0,
            303
        );
    }
    kiln_ok(tmp.path(), &["--db", db.arg(), "approve", "1", "3"]);
    Fixture {
        _tmp: tmp,
        receiver,
    }
}

fn stored(receiver: &Receiver) -> (i64, i64) {
    (
        count_rows(&receiver.db, "comments"),
        count_rows(&receiver.db, "threads"),
    )
}

fn post_raw(receiver: &Receiver, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let resp = http()
        .post(format!("{}/comments", receiver.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST /comments");
    (resp.status().as_u16(), resp.text().unwrap())
}

fn assert_json_error(
    body: &str,
    status: u16,
    field: Option<&str>,
    code: &str,
    what: &str,
) -> String {
    let v: Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: not JSON: {body}"));
    let error = &v["error"];
    assert_eq!(error["code"], code, "{what}: {body}");
    assert_eq!(
        error["field"],
        field.map_or(Value::Null, |f| json!(f)),
        "{what}: {body}"
    );
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no message"));
    assert!(!message.is_empty(), "{what}: empty message");
    let _ = status;
    message.to_owned()
}

#[test]
fn every_bad_field_is_named_and_nothing_is_stored() {
    let f = fixture();
    let before = stored(&f.receiver);
    for case in cases() {
        let mut fields = base_fields();
        for (name, value) in fields.iter_mut() {
            if *name == case.field_value.0 {
                *value = case.field_value.1.clone();
            }
        }

        // As JSON: the error shape names the field.
        let object: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let (status, body) = post_raw(
            &f.receiver,
            "application/json",
            serde_json::to_vec(&object).unwrap(),
        );
        assert_eq!(status, case.status, "{} (JSON): {body}", case.what);
        let message = assert_json_error(&body, status, Some(case.field), case.code, case.what);

        // As a browser form: an HTML page with the message and the text kept.
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, html) = post_form(&f.receiver, &pairs);
        assert_eq!(status, case.status, "{} (form)", case.what);
        assert!(
            html.contains("<form"),
            "{}: the form is shown again",
            case.what
        );
        assert!(
            html.contains(&escape(&message)),
            "{}: the page says what is wrong ({message})",
            case.what
        );
        let kept = fields
            .iter()
            .find(|(k, _)| *k == "text")
            .unwrap()
            .1
            .trim()
            .to_owned();
        if !kept.is_empty() {
            assert!(
                html.contains(&escape(&kept)),
                "{}: the typed text is kept",
                case.what
            );
        }
        assert!(
            html.contains("Eve") || case.field == "name",
            "{}: the name is kept",
            case.what
        );

        assert_eq!(
            stored(&f.receiver),
            before,
            "{}: nothing may be stored",
            case.what
        );
    }
}

#[test]
fn malformed_bodies_are_refused_with_their_reason() {
    let f = fixture();
    let before = stored(&f.receiver);
    let url = format!("{SITE}/t/");

    let (status, html) = post_raw(
        &f.receiver,
        "application/x-www-form-urlencoded",
        format!("thread=%2Ft%2F&url={url}&text=%FF%FEbad").into_bytes(),
    );
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("<form") && html.contains("UTF-8"), "{html}");

    let mut bad_json = br#"{"thread":"/t/","text":""#.to_vec();
    bad_json.extend_from_slice(b"\xff\xfe\"}");
    let (status, body) = post_raw(&f.receiver, "application/json", bad_json);
    assert_eq!(status, 400);
    assert_json_error(
        &body,
        status,
        Some("body"),
        "invalid_utf8",
        "bad UTF-8 JSON",
    );

    let (status, body) = post_raw(&f.receiver, "application/json", b"{\"text\": ".to_vec());
    assert_eq!(status, 400);
    assert_json_error(
        &body,
        status,
        Some("body"),
        "invalid_json",
        "truncated JSON",
    );

    let (status, body) = post_raw(
        &f.receiver,
        "application/json",
        br#"{"thread":"/t/","text":5}"#.to_vec(),
    );
    assert_eq!(status, 400);
    assert_json_error(
        &body,
        status,
        Some("text"),
        "invalid_type",
        "number as text",
    );

    let (status, body) = post_raw(&f.receiver, "text/plain", b"hello".to_vec());
    assert_eq!(status, 415);
    assert_json_error(&body, status, None, "unsupported_media_type", "text/plain");

    let huge = format!("thread=%2Ft%2F&url={url}&text={}", "x".repeat(200 * 1024));
    let (status, html) = post_raw(
        &f.receiver,
        "application/x-www-form-urlencoded",
        huge.into_bytes(),
    );
    assert_eq!(status, 413);
    assert!(
        html.contains("<form"),
        "a no-JS reader still gets a page with the form: {html}"
    );
    let huge =
        serde_json::to_vec(&json!({"thread": "/t/", "url": url, "text": "x".repeat(200 * 1024)}))
            .unwrap();
    let (status, body) = post_raw(&f.receiver, "application/json", huge);
    assert_eq!(status, 413);
    assert_json_error(&body, status, Some("body"), "too_large", "huge JSON");

    assert_eq!(stored(&f.receiver), before, "nothing may be stored");
}

#[test]
fn json_clients_get_the_stored_comment() {
    let f = fixture();
    let body = json!({"thread": "/t/", "url": format!("{SITE}/t/"), "parent": 1, "name": "Jo", "email": "jo@example.org", "text": "Hello *there*"});
    let resp = http()
        .post(format!("{}/comments", f.receiver.url))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["comment"]["status"], "pending");
    assert_eq!(v["comment"]["parent"], 1);
    assert_eq!(v["comment"]["author"], "Jo");
    assert!(
        v["comment"].get("email").is_none(),
        "e-mail is never returned: {v}"
    );
    assert!(
        v["html"].as_str().unwrap().contains("<em>there</em>"),
        "{v}"
    );
}
