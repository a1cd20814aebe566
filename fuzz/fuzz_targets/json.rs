//! A JSON client's body, as any bytes: reading it never panics, a
//! submission it reads comes back the same from its own JSON, and the
//! receiver's checks on it hold (see `kiln_fuzz::assert_checked`).

#![no_main]

use kiln_receiver::submission::{json_wants_notify, parse_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = json_wants_notify(value.get("notify"));
    }
    let Ok(submission) = parse_json(body) else {
        return;
    };
    let json = serde_json::to_vec(&submission).expect("a submission serializes");
    let again = parse_json(&json).expect("kiln reads the JSON of a submission it read");
    assert_eq!(again, submission, "writing and reading again changed it");
    kiln_fuzz::assert_checked(&submission);
});
