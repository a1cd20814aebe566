//! Who may use the admin page, and how that is checked: the session cookie
//! (a random id whose SHA-256 is what the database keeps), the per-session
//! CSRF token every POST form carries (compared in constant time), a refusal
//! of cross-site requests by their `Origin` and `Sec-Fetch-Site` headers, and
//! the failed-login limiter (per client address and global).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::store::{Coordination, LoginAttempt, LoginLimits, Moment};

/// The session cookie's name.
pub const COOKIE: &str = "kiln_admin";

/// A live session: the hash it is stored under, its CSRF token and who
/// logged in (`None`: the admin password).
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub csrf: String,
    pub moderator: Option<String>,
}

impl Session {
    /// The sites this session may see and act on; `None` for every site.
    /// Read from the configuration on each request, so a changed
    /// `moderators` list holds from the receiver's next start.
    pub fn sites(&self, config: &Config) -> Option<Vec<String>> {
        self.moderator
            .as_deref()
            .and_then(|m| config.sites.moderated_by(m))
    }

    /// Whether this session may see `site`'s comments.
    pub fn sees(&self, config: &Config, site: &str) -> bool {
        self.sites(config)
            .is_none_or(|sites| sites.iter().any(|s| s == site))
    }
}

/// A new random session id (the cookie value) and the hash to store.
pub fn new_session_id() -> (String, String) {
    let id = crate::store::random_hex(32);
    let hash = hash_id(&id);
    (id, hash)
}

pub fn hash_id(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie's value, if the request carries one.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        // A session id is 64 hex digits; anything else is not worth a query.
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the submitted token is the session's, in constant time.
pub fn csrf_matches(session: &Session, submitted: &str) -> bool {
    let (a, b) = (session.csrf.as_bytes(), submitted.as_bytes());
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// How the admin cookie is set: its path and whether it is `Secure`.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    pub path: String,
    pub secure: bool,
    pub max_age: u64,
}

impl CookiePolicy {
    pub fn new(config: &Config, public_url: &str) -> Self {
        let url = url::Url::parse(public_url).ok();
        let prefix = url
            .as_ref()
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        CookiePolicy {
            path: format!("{prefix}/admin"),
            secure: url.is_some_and(|u| u.scheme() == "https"),
            max_age: config.admin.session_hours * 3600,
        }
    }

    pub fn set(&self, id: &str) -> String {
        format!(
            "{COOKIE}={id}; Path={}; Max-Age={}; HttpOnly; SameSite=Strict{}",
            self.path,
            self.max_age,
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub fn clear(&self) -> String {
        format!(
            "{COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict{}",
            self.path,
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// Whether a state-changing request comes from a page of this receiver.
/// Browsers send `Origin` on every POST and `Sec-Fetch-Site` on every
/// request; a client sending neither (curl, a test) still needs the CSRF
/// token and the session cookie.
pub fn same_origin(headers: &HeaderMap, own_origin: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = header("origin") {
        if !origin.eq_ignore_ascii_case(own_origin) {
            return false;
        }
    }
    !matches!(header("sec-fetch-site"), Some("cross-site" | "same-site"))
}

/// Counts failed logins in a sliding window, per client address and for
/// all clients together. The counting is the coordination's: in memory for
/// one process (a restart forgets, which costs an attacker a restart they
/// cannot cause, and needs no writes per attempt), in the database for
/// several receivers, so that spreading guesses over them gains nothing.
pub struct LoginLimiter {
    limits: LoginLimits,
    shared: Arc<dyn Coordination>,
}

impl LoginLimiter {
    pub fn new(config: &Config, shared: Arc<dyn Coordination>) -> Self {
        LoginLimiter {
            limits: LoginLimits {
                per_ip: config.admin.login_failures_per_ip,
                global: config.admin.login_failures_global,
                window: Duration::from_secs(config.admin.login_window_minutes * 60),
            },
            shared,
        }
    }

    /// Counts a login attempt from `ip` as a failure before its password
    /// is checked, or says how many seconds to wait (`Err`) if the limit
    /// is reached (see `Coordination::login_attempt`). A right password
    /// takes its attempt back ([`LoginLimiter::succeeded`]).
    pub async fn attempt(&self, ip: IpAddr) -> anyhow::Result<Result<LoginAttempt, u64>> {
        let (shared, limits) = (self.shared.clone(), self.limits);
        tokio::task::spawn_blocking(move || shared.login_attempt(ip, Moment::now(), &limits))
            .await
            .map_err(|e| anyhow::anyhow!("login limit task failed: {e}"))?
    }

    /// The password was right: its attempt was no failure, and the
    /// address's earlier failures are forgotten.
    pub async fn succeeded(&self, attempt: LoginAttempt) -> anyhow::Result<()> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.login_succeeded(attempt))
            .await
            .map_err(|e| anyhow::anyhow!("login limit task failed: {e}"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let own = "http://127.0.0.1:8080";
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, own), "no headers: token and cookie decide");
        h.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&h, own));
        h.insert("origin", "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h, own));
        h.remove("origin");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h, own));
    }

    #[test]
    fn cookies_are_strict_and_secure_over_https() {
        let config = Config::default();
        let http = CookiePolicy::new(&config, "http://127.0.0.1:8080");
        let set = http.set("abc");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.contains("Path=/admin") && !set.contains("Secure"));
        let https = CookiePolicy::new(&config, "https://example.org/comments");
        let set = https.set("abc");
        assert!(set.contains("; Secure") && set.contains("Path=/comments/admin"));
        assert!(https.clear().contains("Max-Age=0"));
    }
}
