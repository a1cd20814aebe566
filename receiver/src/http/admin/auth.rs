//! Who may use the admin page, and how that is checked: the session cookie
//! (a random id whose SHA-256 is what the database keeps), the per-session
//! CSRF token every POST form carries (compared in constant time), a refusal
//! of cross-site requests by their `Origin` and `Sec-Fetch-Site` headers, and
//! the failed-login limiter (per client address and global, in memory).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;

/// The session cookie's name.
pub const COOKIE: &str = "kiln_admin";

/// A live session: the hash it is stored under and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub csrf: String,
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
/// all clients together. Kept in memory: a restart forgets, which costs an
/// attacker a restart they cannot cause, and needs no writes per attempt.
pub struct LoginLimiter {
    per_ip: usize,
    global: usize,
    window: Duration,
    failures: Mutex<Failures>,
}

/// A login attempt, counted as a failure until its password proves right.
#[must_use = "a right password must take its attempt back with `succeeded`"]
#[derive(Debug)]
pub struct Attempt {
    ip: IpAddr,
    at: Instant,
}

#[derive(Default)]
struct Failures {
    by_ip: HashMap<IpAddr, Vec<Instant>>,
    all: Vec<Instant>,
}

impl LoginLimiter {
    pub fn new(config: &Config) -> Self {
        LoginLimiter {
            per_ip: config.admin.login_failures_per_ip as usize,
            global: config.admin.login_failures_global as usize,
            window: Duration::from_secs(config.admin.login_window_minutes * 60),
            failures: Mutex::default(),
        }
    }

    /// Counts a login attempt from `ip` as a failure before its password
    /// is checked, or says how many seconds to wait (`Err`) if the limit
    /// is reached. Counting first is what makes the limit hold: the check
    /// takes argon2's time, and attempts sent together would otherwise all
    /// find the count below the limit before any of them had failed. A
    /// right password takes its attempt back ([`LoginLimiter::succeeded`]).
    pub fn attempt(&self, ip: IpAddr, now: Instant) -> Result<Attempt, u64> {
        let mut f = self.lock();
        f.forget_before(now.checked_sub(self.window));
        let wait = |times: &[Instant]| {
            let oldest = times.first().copied().unwrap_or(now);
            (oldest + self.window)
                .saturating_duration_since(now)
                .as_secs()
                + 1
        };
        if let Some(times) = f.by_ip.get(&ip).filter(|t| t.len() >= self.per_ip) {
            return Err(wait(times));
        }
        if f.all.len() >= self.global {
            return Err(wait(&f.all));
        }
        f.by_ip.entry(ip).or_default().push(now);
        f.all.push(now);
        Ok(Attempt { ip, at: now })
    }

    /// The password was right: its attempt was no failure, and the
    /// address's earlier failures are forgotten.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut f = self.lock();
        f.by_ip.remove(&attempt.ip);
        if let Some(at) = f.all.iter().position(|t| *t == attempt.at) {
            f.all.remove(at);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Failures {
    fn forget_before(&mut self, cutoff: Option<Instant>) {
        let Some(cutoff) = cutoff else { return };
        self.all.retain(|t| *t > cutoff);
        self.by_ip.retain(|_, times| {
            times.retain(|t| *t > cutoff);
            !times.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_ip: u32, global: u32) -> LoginLimiter {
        let mut config = Config::default();
        config.admin.login_failures_per_ip = per_ip;
        config.admin.login_failures_global = global;
        config.admin.login_window_minutes = 1;
        LoginLimiter::new(&config)
    }

    #[test]
    fn failures_block_per_address_then_globally_and_expire() {
        let l = limiter(2, 3);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
        );
        let t0 = Instant::now();
        let _ = l.attempt(a, t0).unwrap();
        let _ = l.attempt(a, t0).unwrap();
        assert!(l.attempt(a, t0).is_err_and(|s| (1..=61).contains(&s)));
        let _ = l.attempt(b, t0).expect("other addresses still may");
        assert!(l.attempt(c, t0).is_err(), "the global limit is reached");
        let later = t0 + Duration::from_secs(61);
        assert!(l.attempt(a, later).is_ok(), "the window passed");
        let right = l.attempt(b, later).unwrap();
        l.succeeded(right);
        let _ = l.attempt(b, later).unwrap();
        let _ = l
            .attempt(b, later)
            .expect("a right password forgot b's failures");
    }

    #[test]
    fn attempts_are_counted_before_their_password_is_checked() {
        // Attempts in flight together: each one is counted as it starts,
        // so the sixth is refused before any password check has finished.
        let l = limiter(5, 100);
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let t0 = Instant::now();
        let in_flight: Vec<Attempt> = (0..5).map(|_| l.attempt(ip, t0).unwrap()).collect();
        assert!(l.attempt(ip, t0).is_err());
        // One of them was right: the address starts afresh.
        let mut in_flight = in_flight.into_iter();
        l.succeeded(in_flight.next().unwrap());
        assert!(l.attempt(ip, t0).is_ok());
        assert_eq!(l.lock().all.len(), 5, "the right one no longer counts");
    }

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
