//! A signed-in commenter's session: a cookie on the receiver's own domain
//! holding their verified identity, signed and given an expiry with the
//! receiver's key (`crate::signing`), so a forged or altered cookie signs
//! nobody in. HttpOnly, SameSite=Lax (it must ride along the top-level POST
//! of the no-JS form, and the GET back from the provider), Secure over https.

use serde::{Deserialize, Serialize};

use crate::signing::Signer;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kiln_signin";
/// The purpose session tokens are signed for; no other token verifies as one.
const PURPOSE: &str = "signin-session";

/// Who signed in, as the provider's verified ID token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The provider's subject (`sub`), stable for one person.
    pub subject: String,
    /// The name to show: `name`, else `preferred_username`, else the e-mail
    /// address, else the subject.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Only for the moderator check at the callback; not kept in the cookie.
    #[serde(skip)]
    pub groups: Vec<String>,
}

/// The cookie's `Set-Cookie` values.
#[derive(Debug, Clone)]
pub struct Cookie {
    path: String,
    secure: bool,
    max_age: i64,
}

impl Cookie {
    pub fn new(public_url: &str, hours: u64) -> Self {
        let url = url::Url::parse(public_url).ok();
        let prefix = url
            .as_ref()
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Cookie {
            path: if prefix.is_empty() {
                "/".into()
            } else {
                prefix
            },
            secure: url.is_some_and(|u| u.scheme() == "https"),
            max_age: hours as i64 * 3600,
        }
    }

    /// A session cookie for `who`, signed now.
    pub fn set(&self, signer: &Signer, who: &Identity, now: i64) -> String {
        let payload = serde_json::to_string(who).expect("an identity serializes");
        let token = signer.sign(PURPOSE, &payload, Some(now + self.max_age));
        format!(
            "{SESSION_COOKIE}={token}; Path={}; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.path,
            self.max_age,
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub fn clear(&self) -> String {
        format!(
            "{SESSION_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Lax{}",
            self.path,
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// The signed-in identity the request's cookie carries, if its signature
/// holds and it has not expired.
pub fn identity(signer: &Signer, headers: &axum::http::HeaderMap, now: i64) -> Option<Identity> {
    let token = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())?;
    let payload = signer.verify(PURPOSE, &token, now).ok()?;
    serde_json::from_str(&payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", cookie.parse().unwrap());
        h
    }

    #[test]
    fn a_session_round_trips_and_nothing_else_signs_in() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef");
        let cookie = Cookie::new("https://comments.example.org", 1);
        let who = Identity {
            subject: "s-1".into(),
            name: "Ann".into(),
            email: Some("ann@example.org".into()),
            groups: vec!["mods".into()],
        };
        let set = cookie.set(&signer, &who, 1000);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("; Secure")
        );
        let value = set.split(';').next().unwrap();
        let back = identity(&signer, &headers(&format!("a=b; {value}")), 1001).unwrap();
        assert_eq!((back.subject.as_str(), back.name.as_str()), ("s-1", "Ann"));
        assert!(back.groups.is_empty(), "groups stay out of the cookie");
        assert_eq!(
            identity(&signer, &headers(value), 1000 + 3600),
            None,
            "expired"
        );
        let other = Signer::new(b"another key, another key, another");
        assert_eq!(identity(&other, &headers(value), 1001), None, "forged");
        let moderate = signer.sign("moderate", r#"{"subject":"x","name":"y"}"#, None);
        let wrong = format!("{SESSION_COOKIE}={moderate}");
        assert_eq!(
            identity(&signer, &headers(&wrong), 1001),
            None,
            "another purpose"
        );
        assert!(Cookie::new("http://127.0.0.1:1/c", 1)
            .set(&signer, &who, 0)
            .contains("Path=/c;"));
    }
}
