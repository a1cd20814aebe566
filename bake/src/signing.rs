//! Signed, expiring tokens: proof that kiln itself issued a value for one
//! purpose, so a link or a form field can carry authority without a
//! database row per token. The receiver's email links use it (moderation
//! actions, subscription confirmations, unsubscribes), and so do the form
//! tokens bake puts in each thread's form and the receiver checks; it lives
//! in bake so that both sides sign with one piece of code.
//!
//! A token is `PAYLOAD.EXPIRES.MAC`: the payload in hex, the expiry in Unix
//! seconds (0 for never), and an HMAC-SHA256 over the purpose, expiry and
//! payload. The purpose is not in the token, so a token made for one purpose
//! never verifies for another. Tokens are not encrypted: put nothing in a
//! payload that its recipient may not read.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused. Callers show `Expired` differently (the link was
/// good once) from the rest (it never was, or it was altered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not in the expected form")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Signs and checks tokens with one secret key. Equality compares keys;
/// it is for telling configurations apart, not for checking a token.
#[derive(Clone, PartialEq, Eq)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer keyed by `secret` (the configured `server.secret`, or the
    /// random one kept in the database).
    pub fn new(secret: &[u8]) -> Self {
        Signer {
            key: secret.to_vec(),
        }
    }

    /// A token for `payload` under `purpose`, valid until `expires_at` (Unix
    /// seconds), or forever with None. `purpose` names what the token
    /// authorizes, e.g. `"moderate"`; it must not contain a NUL byte.
    pub fn sign(&self, purpose: &str, payload: &str, expires_at: Option<i64>) -> String {
        let expires = expires_at.unwrap_or(0);
        let mac = self.mac(purpose, expires, payload.as_bytes());
        format!("{}.{expires}.{}", to_hex(payload.as_bytes()), to_hex(&mac))
    }

    /// The payload of a token made by `sign` with the same purpose, if its
    /// signature matches (checked in constant time) and it has not expired.
    pub fn verify(&self, purpose: &str, token: &str, now: i64) -> Result<String, TokenError> {
        let mut parts = token.split('.');
        let (Some(payload), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let payload = from_hex(payload).ok_or(TokenError::Malformed)?;
        let mac = from_hex(mac).ok_or(TokenError::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        let mut check = self.keyed();
        feed(&mut check, purpose, expires, &payload);
        check
            .verify_slice(&mac)
            .map_err(|_| TokenError::BadSignature)?;
        if expires != 0 && now >= expires {
            return Err(TokenError::Expired);
        }
        String::from_utf8(payload).map_err(|_| TokenError::Malformed)
    }

    /// A keyed hash of `payload` under `purpose`, in hex: a stable name for
    /// a value that must not be kept as it is (a reader's address, for one
    /// like per reader). Never a token: its input is marked apart from
    /// tokens', so no digest verifies as one.
    pub fn digest(&self, purpose: &str, payload: &str) -> String {
        debug_assert!(!purpose.contains('\0'));
        let mut mac = self.keyed();
        mac.update(b"kiln-digest-v1\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(payload.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    fn mac(&self, purpose: &str, expires: i64, payload: &[u8]) -> Vec<u8> {
        let mut mac = self.keyed();
        feed(&mut mac, purpose, expires, payload);
        mac.finalize().into_bytes().to_vec()
    }

    fn keyed(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }
}

/// What the MAC covers. NUL separators keep fields apart; the payload comes
/// last, so it may hold anything.
fn feed(mac: &mut HmacSha256, purpose: &str, expires: i64, payload: &[u8]) {
    debug_assert!(!purpose.contains('\0'));
    mac.update(b"kiln-token-v1\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(expires.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(payload);
}

/// The expiry written in a token (Unix seconds; None for "never" or a
/// token not in the expected form). Read only after `verify` accepted the
/// token: on its own it proves nothing.
pub fn expiry(token: &str) -> Option<i64> {
    let expires: i64 = token.split('.').nth(1)?.parse().ok()?;
    (expires != 0).then_some(expires)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_purpose_payload_key_and_time() {
        let signer = Signer::new(b"a secret key");
        let token = signer.sign("moderate", "42:approve", Some(1_000));
        assert_eq!(
            signer.verify("moderate", &token, 999).unwrap(),
            "42:approve"
        );
        assert_eq!(
            signer.verify("moderate", &token, 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(expiry(&token), Some(1_000));
        assert_eq!(expiry(&signer.sign("moderate", "1", None)), None);
        assert_eq!(
            signer.verify("unsubscribe", &token, 1),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            Signer::new(b"another key").verify("moderate", &token, 1),
            Err(TokenError::BadSignature)
        );
        // Another payload, or a later expiry, under the same MAC.
        let mac = token.rsplit('.').next().unwrap();
        let forged = format!("{}.1000.{mac}", to_hex(b"42:reject"));
        assert_eq!(
            signer.verify("moderate", &forged, 1),
            Err(TokenError::BadSignature)
        );
        let forged = format!("{}.0.{mac}", to_hex(b"42:approve"));
        assert_eq!(
            signer.verify("moderate", &forged, 1),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "zz.0.00", "00.x.00", "a.b.c.d"] {
            assert_eq!(
                signer.verify("moderate", junk, 1),
                Err(TokenError::Malformed)
            );
        }
        // Digests: stable, keyed, bound to their purpose, never a token.
        let digest = signer.digest("like-reader", "192.0.2.0\x001");
        assert_eq!(digest, signer.digest("like-reader", "192.0.2.0\x001"));
        assert_eq!(digest.len(), 64);
        assert_ne!(digest, signer.digest("like-reader", "192.0.2.0\x002"));
        assert_ne!(digest, signer.digest("other", "192.0.2.0\x001"));
        assert_ne!(
            digest,
            Signer::new(b"another key").digest("like-reader", "192.0.2.0\x001")
        );
        let as_token = format!("{}.0.{digest}", to_hex(b"192.0.2.0\x001"));
        assert_eq!(
            signer.verify("like-reader", &as_token, 1),
            Err(TokenError::BadSignature)
        );
        let forever = signer.sign("unsubscribe", "ann@example.org", None);
        assert_eq!(
            signer.verify("unsubscribe", &forever, i64::MAX).unwrap(),
            "ann@example.org"
        );
    }
}
