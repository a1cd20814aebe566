//! Defences against spam and floods that need no third party: who the client
//! is (the peer, or the forwarded address when the peer is a trusted proxy),
//! rate limits per client, per thread and for everyone, and the count of
//! refusals per rule that `/metrics` reports. The checks themselves run in
//! `admission`; this module holds the state they share.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;

use crate::config::{Cidr, Config, Spam};
use crate::signing::{Signer, TokenError};
use crate::store::{Coordination, Event, Moment, NewComment, PostLimits};
use crate::submission::FieldError;
use kiln_bake::render::FORM_TOKEN_PURPOSE;

pub use crate::store::Limit;

/// The name of the honeypot field in the baked form. It must sound like a
/// field worth filling to a bot and is hidden from people.
pub const HONEYPOT_FIELD: &str = "homepage";

/// The trusted proxies, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Proxies(Vec<Cidr>);

impl Proxies {
    pub fn new(config: &Config) -> Self {
        // `Config::validate` has refused anything that does not parse.
        Proxies(
            config
                .spam
                .trusted_proxies
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .collect(),
        )
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address. A peer that is not a trusted proxy is the
    /// client, whatever headers it sends. Behind trusted proxies, the chain
    /// in `Forwarded` (or else `X-Forwarded-For`) is read from the right,
    /// skipping trusted hops: the first untrusted address is the client.
    /// Entries left of it were written by the client and are ignored.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("forwarded")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let chain: Vec<String> = if !forwarded.is_empty() {
            forwarded
                .iter()
                .flat_map(|v| v.split(','))
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| v.trim().trim_matches('"').to_owned())
                    })
                })
                .collect()
        } else {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut client = peer;
        for entry in chain.iter().rev() {
            let Some(ip) = parse_node(entry) else {
                // An unknown or obfuscated hop: the last trusted one is all
                // we can vouch for.
                return client;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// An address from a forwarding header: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let (host, _port) = text.rsplit_once(':')?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// What the per-client limit keys on: the address, or for IPv6 its /64,
/// which one subscriber usually holds whole.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// The limits on accepted posts per client, per thread and for everyone, in
/// a sliding window. The counting is the coordination's (`store::memory`
/// for one process, the database for several receivers), so a flood spread
/// over every receiver is limited once.
pub struct RateLimiter {
    limits: PostLimits,
    shared: Arc<dyn Coordination>,
    /// Posts, or likes (`[reactions]`), each counted apart.
    event: Event,
}

impl RateLimiter {
    pub fn new(config: &Config, shared: Arc<dyn Coordination>) -> Self {
        RateLimiter {
            limits: PostLimits {
                per_client: config.spam.posts_per_ip,
                per_thread: config.spam.posts_per_thread,
                global: config.spam.posts_global,
                window: Duration::from_secs(config.spam.window_minutes * 60),
            },
            shared,
            event: Event::Post,
        }
    }

    /// The limits on likes (`reactions.*`), counted apart from posts.
    pub fn for_likes(config: &Config, shared: Arc<dyn Coordination>) -> Self {
        let r = &config.reactions;
        RateLimiter {
            limits: PostLimits {
                per_client: r.likes_per_ip,
                per_thread: r.likes_per_thread,
                global: r.likes_global,
                window: Duration::from_secs(r.window_minutes * 60),
            },
            shared,
            event: Event::Like,
        }
    }

    /// Counts a post (or a like) from `ip` into `thread` if every limit allows it;
    /// otherwise names the limit and the seconds until it allows one.
    /// Runs off the async threads: with several receivers it is a
    /// database call.
    pub async fn admit(
        &self,
        ip: IpAddr,
        thread: &str,
        now: Moment,
    ) -> anyhow::Result<Result<(), (Limit, u64)>> {
        let (shared, limits, thread) = (self.shared.clone(), self.limits, thread.to_owned());
        let event = self.event;
        tokio::task::spawn_blocking(move || {
            shared.admit(event, client_key(ip), &thread, now, &limits)
        })
        .await
        .map_err(|e| anyhow::anyhow!("rate limit task failed: {e}"))?
    }
}

/// What the content checks decided about a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Hold it for a moderator, whatever `moderation.enabled` says; the
    /// rule's name.
    Moderate(&'static str),
    /// Refuse it, telling the reader why; the error's code is the rule.
    Reject(FieldError),
}

/// The checks that need no database: links, and the four blocklists. The
/// first rule that rejects wins; otherwise the first that holds for
/// moderation. Reasons name the field without quoting the list.
pub fn check_content(spam: &Spam, comment: &NewComment, client: IpAddr) -> Verdict {
    let mut held = None;
    let mut decide = |action: &str, error: FieldError| -> Option<Verdict> {
        if action == "reject" {
            return Some(Verdict::Reject(error));
        }
        held.get_or_insert(error.code);
        None
    };

    let links = links_in(&comment.text);
    if links.len() > spam.max_links {
        return Verdict::Reject(FieldError::new(
            "text",
            "too_many_links",
            format!(
                "Your comment has {} links; this site accepts at most {}. Please remove some and post again.",
                links.len(),
                spam.max_links
            ),
        ));
    }
    let word = |s: &str| spam.block_words.iter().any(|w| contains_word(s, w));
    if word(&comment.author) || word(&comment.text) {
        let field = if word(&comment.text) { "text" } else { "name" };
        let error = FieldError::new(
            field,
            "block_words",
            "Your comment uses words this site does not accept. Please rephrase it and post again.",
        );
        if let Some(v) = decide(&spam.block_words_action, error) {
            return v;
        }
    }
    if let Some(email) = &comment.email {
        if spam.block_emails.iter().any(|b| email_matches(email, b)) {
            let error = FieldError::new(
                "email",
                "block_emails",
                "Comments from this email address are not accepted here. Please contact the site's owner if you think this is a mistake.",
            );
            if let Some(v) = decide(&spam.block_emails_action, error) {
                return v;
            }
        }
    }
    if spam
        .block_ips
        .iter()
        .filter_map(|c| Cidr::parse(c))
        .any(|c| c.contains(client))
    {
        let error = FieldError::new(
            "text",
            "block_ips",
            "Comments from your network are not accepted here. Please contact the site's owner if you think this is a mistake.",
        );
        if let Some(v) = decide(&spam.block_ips_action, error) {
            return v;
        }
    }
    let blocked_host = |url: &str| {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .is_some_and(|h| spam.block_websites.iter().any(|d| in_domain(&h, d)))
    };
    let website = comment.website.as_deref().is_some_and(blocked_host);
    if website || links.iter().any(|l| blocked_host(l)) {
        let (field, message) = if website {
            ("website", "This website cannot be linked from comments here. Please leave the field empty or give another address.")
        } else {
            ("text", "Your comment links to a website that cannot be linked from comments here. Please remove the link and post again.")
        };
        let error = FieldError::new(field, "block_websites", message);
        if let Some(v) = decide(&spam.block_websites_action, error) {
            return v;
        }
    }
    match held {
        Some(rule) => Verdict::Moderate(rule),
        None => Verdict::Pass,
    }
}

/// Every http(s) URL in a text, as written (up to whitespace or a closing
/// bracket, quote or angle bracket).
pub fn links_in(text: &str) -> Vec<&str> {
    let lower = text.to_ascii_lowercase();
    let mut links = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("http") {
        let start = at + found;
        let rest = &lower[start..];
        let scheme = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            at = start + 4;
            continue;
        };
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '<' | '"' | '\''))
            .map_or(text.len(), |e| start + e);
        if end > start + scheme {
            links.push(&text[start..end]);
        }
        at = end.max(start + scheme);
    }
    links
}

/// Whether `word` occurs in `text` as a whole word, ignoring case.
fn contains_word(text: &str, word: &str) -> bool {
    let text = text.to_lowercase();
    let word = word.trim().to_lowercase();
    if word.is_empty() {
        return false;
    }
    text.match_indices(&word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `host` is `domain` or one of its subdomains.
fn in_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// An entry with `@` is one address; without, a domain and its subdomains.
fn email_matches(email: &str, entry: &str) -> bool {
    let email = email.trim().to_ascii_lowercase();
    let entry = entry.trim().to_ascii_lowercase();
    if entry.contains('@') {
        return email == entry;
    }
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| in_domain(domain, entry.trim_start_matches('@')))
}

/// The purpose of the fresh tokens the optional script fetches when a
/// reader starts writing (`GET /api/token`). The payload is
/// `ISSUED_AT:THREAD`, so the receiver knows how long the form was open.
pub const FRESH_TOKEN_PURPOSE: &str = "form-fresh";

/// How long a fresh token lasts: a tab left open over a day gets a new one.
const FRESH_TOKEN_SECONDS: i64 = 24 * 3600;

/// A fresh form token for `thread`, issued `now`.
pub fn fresh_form_token(signer: &Signer, thread: &str, now: i64) -> String {
    signer.sign(
        FRESH_TOKEN_PURPOSE,
        &format!("{now}:{thread}"),
        Some(now + FRESH_TOKEN_SECONDS),
    )
}

/// Checks a form's signed token: made by kiln, for this thread, not expired:
/// the one bake put in the form, or a fresh one the optional script
/// fetched, which must also be at least `min_fill_seconds` old (a person
/// takes longer than that to write a comment; a bot does not).
/// Each failure gets the same plain advice, because the no-JS page that
/// shows it carries a fresh form with a valid token and the reader's text.
pub fn check_form_token(
    signer: &Signer,
    token: &str,
    thread: &str,
    now: i64,
    min_fill_seconds: u32,
) -> Result<(), FieldError> {
    let again = "Everything you typed is below in a fresh form: please post it again.";
    let verified = match signer.verify(FORM_TOKEN_PURPOSE, token.trim(), now) {
        Err(TokenError::BadSignature) => signer
            .verify(FRESH_TOKEN_PURPOSE, token.trim(), now)
            .and_then(|payload| {
                let (issued, for_thread) = payload.split_once(':').ok_or(TokenError::Malformed)?;
                let issued: i64 = issued.parse().map_err(|_| TokenError::Malformed)?;
                if now - issued < i64::from(min_fill_seconds) {
                    return Ok(None);
                }
                Ok(Some(for_thread.to_owned()))
            }),
        other => other.map(Some),
    };
    let (code, why) = match verified {
        Ok(None) => {
            return Err(FieldError::new(
                "text",
                "too_fast",
                "That was quicker than people usually write, so your comment was not posted yet. Please check it and post it again.",
            ))
        }
        Ok(Some(payload)) if payload == thread => return Ok(()),
        Ok(Some(_)) => ("form_token_thread", "This comment form was made for another page, so your comment was not posted."),
        Err(TokenError::Expired) => ("form_token_expired", "This page's comment form has expired, so your comment was not posted."),
        Err(_) if token.trim().is_empty() => ("form_token_missing", "This comment form is incomplete (it has no form token), so your comment was not posted."),
        Err(_) => ("form_token_invalid", "This comment form was not made by this site, so your comment was not posted."),
    };
    Err(FieldError::new("token", code, format!("{why} {again}")))
}

/// How many submissions each rule refused (or dropped) since the start,
/// and how many were accepted.
#[derive(Default)]
pub struct Counters(Mutex<BTreeMap<&'static str, u64>>);

/// Held submissions are counted under `held.<rule>`.
fn held_key(rule: &'static str) -> &'static str {
    match rule {
        "block_words" => "held.block_words",
        "block_emails" => "held.block_emails",
        "block_ips" => "held.block_ips",
        "block_websites" => "held.block_websites",
        _ => "held.other",
    }
}

impl Counters {
    /// Counts a submission a rule held for moderation.
    pub fn held(&self, rule: &'static str) {
        self.count(held_key(rule));
    }

    pub fn count(&self, rule: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(rule)
            .or_default() += 1;
    }

    /// The counts in the Prometheus text format.
    pub fn render(&self) -> String {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = String::from(
            "# HELP kiln_submissions_refused_total Comment submissions refused or dropped, by rule.\n\
             # TYPE kiln_submissions_refused_total counter\n",
        );
        for (rule, n) in counts
            .iter()
            .filter(|(r, _)| **r != ACCEPTED && !r.starts_with("held."))
        {
            out.push_str(&format!(
                "kiln_submissions_refused_total{{rule=\"{rule}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP kiln_submissions_held_total Comment submissions a rule held for a moderator.\n\
             # TYPE kiln_submissions_held_total counter\n",
        );
        for (rule, n) in counts
            .iter()
            .filter_map(|(r, n)| Some((r.strip_prefix("held.")?, n)))
        {
            out.push_str(&format!(
                "kiln_submissions_held_total{{rule=\"{rule}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP kiln_submissions_accepted_total Comment submissions stored.\n\
             # TYPE kiln_submissions_accepted_total counter\n",
        );
        out.push_str(&format!(
            "kiln_submissions_accepted_total {}\n",
            counts.get(ACCEPTED).copied().unwrap_or(0)
        ));
        out
    }
}

/// The counter of stored submissions.
pub const ACCEPTED: &str = "accepted";

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn comment(text: &str) -> NewComment {
        NewComment {
            email: Some("ann@mail.test".into()),
            ..NewComment::sample("/t/", "Ann", text)
        }
    }

    fn rule(v: Verdict) -> String {
        match v {
            Verdict::Pass => "pass".into(),
            Verdict::Moderate(r) => format!("moderate {r}"),
            Verdict::Reject(e) => format!("reject {} {}", e.field, e.code),
        }
    }

    #[test]
    fn content_rules_reject_or_hold_by_configuration() {
        let mut spam = Spam {
            block_words: vec!["casino".into()],
            block_emails: vec!["example.com".into(), "bob@example.net".into()],
            block_ips: vec!["203.0.113.0/24".into()],
            block_websites: vec!["spam.example".into()],
            ..Spam::default()
        };
        let here = ip("192.0.2.1");
        assert_eq!(rule(check_content(&spam, &comment("fine"), here)), "pass");
        let links =
            "a https://a.example b http://b.example c https://c.example d https://d.example";
        assert_eq!(
            rule(check_content(&spam, &comment(links), here)),
            "reject text too_many_links"
        );
        assert_eq!(
            rule(check_content(&spam, &comment("Best CASINO!"), here)),
            "moderate block_words"
        );
        assert_eq!(
            rule(check_content(&spam, &comment("occasionally"), here)),
            "pass",
            "whole words only"
        );
        let mut c = comment("hi");
        c.email = Some("x@sub.example.com".into());
        assert_eq!(
            rule(check_content(&spam, &c, here)),
            "reject email block_emails"
        );
        c.email = Some("bob@example.net".into());
        assert_eq!(
            rule(check_content(&spam, &c, here)),
            "reject email block_emails"
        );
        c.email = Some("alice@example.net".into());
        assert_eq!(rule(check_content(&spam, &c, here)), "pass");
        assert_eq!(
            rule(check_content(&spam, &comment("hi"), ip("203.0.113.80"))),
            "reject text block_ips"
        );
        let mut c = comment("see [this](https://www.spam.example/x)");
        assert_eq!(
            rule(check_content(&spam, &c, here)),
            "reject text block_websites"
        );
        c.text = "hi".into();
        c.website = Some("https://spam.example".into());
        assert_eq!(
            rule(check_content(&spam, &c, here)),
            "reject website block_websites"
        );
        c.website = Some("https://notspam.example".into());
        assert_eq!(rule(check_content(&spam, &c, here)), "pass");
        spam.block_websites_action = "moderate".into();
        spam.block_words_action = "reject".into();
        assert_eq!(
            rule(check_content(&spam, &comment("casino"), here)),
            "reject text block_words"
        );
        let c = comment("https://spam.example");
        assert_eq!(
            rule(check_content(&spam, &c, here)),
            "moderate block_websites"
        );
        assert_eq!(
            links_in("x (https://a.example/b) HTTP://B.example."),
            ["https://a.example/b", "HTTP://B.example."]
        );
    }

    #[test]
    fn form_tokens_bind_a_thread_and_expire() {
        let signer = Signer::new(b"another key, long enough for tests");
        let token = signer.sign(FORM_TOKEN_PURPOSE, "/a/", Some(1_000));
        assert!(check_form_token(&signer, &token, "/a/", 999, 3).is_ok());
        let code = |t: &str, thread: &str, now: i64| {
            check_form_token(&signer, t, thread, now, 3)
                .unwrap_err()
                .code
        };
        assert_eq!(code(&token, "/a/", 1_000), "form_token_expired");
        assert_eq!(code(&token, "/b/", 999), "form_token_thread");
        assert_eq!(code("", "/a/", 999), "form_token_missing");
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        assert_eq!(code(&forged, "/a/", 999), "form_token_invalid");
        let other = Signer::new(b"some other key that is long enough!");
        let foreign = other.sign(FORM_TOKEN_PURPOSE, "/a/", Some(1_000));
        assert_eq!(code(&foreign, "/a/", 999), "form_token_invalid");
        let wrong_purpose = signer.sign("moderate", "/a/", Some(1_000));
        assert_eq!(code(&wrong_purpose, "/a/", 999), "form_token_invalid");
    }

    #[test]
    fn fresh_tokens_hold_posts_made_too_fast() {
        let signer = Signer::new(b"another key, long enough for tests");
        let fresh = fresh_form_token(&signer, "/a/:b", 1_000);
        let check = |thread: &str, now: i64, min: u32| {
            check_form_token(&signer, &fresh, thread, now, min).map_err(|e| e.code)
        };
        assert_eq!(check("/a/:b", 1_002, 3), Err("too_fast"));
        assert_eq!(check("/a/:b", 1_003, 3), Ok(()));
        assert_eq!(check("/a/:b", 1_000, 0), Ok(()), "0 turns the check off");
        assert_eq!(check("/c/", 1_010, 3), Err("form_token_thread"));
        assert_eq!(
            check("/a/:b", 1_000 + 24 * 3600, 3),
            Err("form_token_expired")
        );
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let mut config = Config::default();
        config.spam.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
        let proxies = Proxies::new(&config);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 198.51.100.4, 10.0.0.2".parse().unwrap(),
        );
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &h), ip("198.51.100.4"));
        assert_eq!(proxies.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        let mut f = HeaderMap::new();
        f.insert(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https"
                .parse()
                .unwrap(),
        );
        f.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        assert_eq!(proxies.client_ip(ip("10.9.9.9"), &f), ip("2001:db8::7"));
        let mut unknown = HeaderMap::new();
        unknown.insert("forwarded", "for=unknown".parse().unwrap());
        assert_eq!(proxies.client_ip(ip("10.9.9.9"), &unknown), ip("10.9.9.9"));
        assert_eq!(parse_node("192.0.2.1:80"), Some(ip("192.0.2.1")));
    }

    #[test]
    fn one_ipv6_64_is_one_client() {
        assert_eq!(client_key(ip("2001:db8::1")), client_key(ip("2001:db8::2")));
        assert_ne!(
            client_key(ip("2001:db8::1")),
            client_key(ip("2001:db8:0:1::1"))
        );
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_ne!(client_key(ip("192.0.2.1")), client_key(ip("192.0.2.2")));
    }
}
