//! A browser form's body, as any bytes: reading it never panics, what it
//! reads comes back the same when written out again, and the receiver's
//! checks on it hold (see `kiln_fuzz::assert_checked`).

#![no_main]

use kiln_receiver::abuse::HONEYPOT_FIELD;
use kiln_receiver::submission::{
    form_has_filled, form_value, form_wants_notify, parse_form, Submission,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    // Read beside the submission on every post; none may panic.
    let _ = form_wants_notify(body);
    let _ = form_has_filled(body, HONEYPOT_FIELD);
    let _ = form_value(body, "token");
    let Ok(submission) = parse_form(body) else {
        return;
    };
    let again = parse_form(encode(&submission).as_bytes())
        .expect("a form kiln read can be read again once encoded");
    assert_eq!(again, submission, "encoding and reading again changed it");
    kiln_fuzz::assert_checked(&submission);
});

/// The submission as a browser would encode it.
fn encode(s: &Submission) -> String {
    [
        ("thread", &s.thread),
        ("url", &s.url),
        ("parent", &s.parent),
        ("name", &s.name),
        ("email", &s.email),
        ("website", &s.website),
        ("text", &s.text),
        ("title", &s.title),
    ]
    .iter()
    .map(|(key, value)| {
        let mut field = format!("{key}=");
        for b in value.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    field.push(b as char)
                }
                b' ' => field.push('+'),
                _ => field.push_str(&format!("%{b:02X}")),
            }
        }
        field
    })
    .collect::<Vec<_>>()
    .join("&")
}
