//! `[spam]`: the defences against spam and floods (honeypot, rate limits,
//! blocklists, form tokens) and how each is tuned. The checks themselves
//! live in `crate::abuse`; this is only what they read.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::Cidr;

/// Defences against spam and floods (see `crate::abuse`). None of them asks
/// a third party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spam {
    /// Add a hidden field that people never fill; a post that fills it is
    /// answered as if it were received, and dropped. Default: true.
    pub honeypot: bool,
    /// Posts accepted from one client address within `window_minutes`;
    /// more get 429. Default: 10.
    pub posts_per_ip: u32,
    /// Posts accepted into one thread within the window. Default: 60.
    pub posts_per_thread: u32,
    /// Posts accepted from everyone together within the window. Default: 300.
    pub posts_global: u32,
    /// The window the rate limits count in, in minutes. Default: 10.
    pub window_minutes: u64,
    /// Addresses or CIDR ranges of reverse proxies in front of the receiver
    /// (e.g. `["127.0.0.1", "10.0.0.0/8"]`). Only for a peer in this list is
    /// the client address read from `Forwarded` or `X-Forwarded-For`.
    /// Default: none, so the peer's own address is the client's.
    pub trusted_proxies: Vec<String>,
    /// Most http(s) links a comment may hold; more are refused. Default: 3.
    pub max_links: usize,
    /// Refuse a comment whose text the same client address or email posted
    /// on the same page within this many days. 0 turns the check off.
    /// Default: 30.
    pub duplicate_days: u32,
    /// Words (matched whole, ignoring case) in the name or comment.
    /// Default: none.
    pub block_words: Vec<String>,
    /// `"reject"` or `"moderate"` (hold for a moderator, even with
    /// moderation off). Default: `"moderate"`.
    pub block_words_action: String,
    /// Email addresses (`a@example.org`) or whole domains (`example.org`,
    /// which includes its subdomains). Default: none.
    pub block_emails: Vec<String>,
    /// Default: `"reject"`.
    pub block_emails_action: String,
    /// Client addresses or CIDR ranges. Default: none.
    pub block_ips: Vec<String>,
    /// Default: `"reject"`.
    pub block_ips_action: String,
    /// Website domains (with their subdomains), matched against the website
    /// field and every link in the comment. Default: none.
    pub block_websites: Vec<String>,
    /// Default: `"reject"`.
    pub block_websites_action: String,
    /// Publish at once a comment whose email address already has an approved
    /// comment, even with moderation on. Opt-in. Default: false.
    pub auto_approve_known: bool,
    /// Require the signed token bake puts in each thread's form, so a post
    /// must come from a form kiln made for that thread. Bake signs with
    /// `server.secret`, or, baking from the database file, the key kept in
    /// it. Default: false.
    pub form_token: bool,
    /// Days a baked form's token stays valid; re-bake at least this often.
    /// A post with an expired token gets the form back with a fresh one.
    /// Default: 30.
    pub form_token_days: u32,
    /// With `form_token`, the optional script fetches a fresh token when a
    /// reader starts writing; a post made with it sooner than this many
    /// seconds later is refused as too fast for a person. 0 turns the
    /// check off. Default: 3.
    pub min_fill_seconds: u32,
}

impl Default for Spam {
    fn default() -> Self {
        Spam {
            honeypot: true,
            posts_per_ip: 10,
            posts_per_thread: 60,
            posts_global: 300,
            window_minutes: 10,
            trusted_proxies: Vec::new(),
            max_links: 3,
            duplicate_days: 30,
            block_words: Vec::new(),
            block_words_action: "moderate".into(),
            block_emails: Vec::new(),
            block_emails_action: "reject".into(),
            block_ips: Vec::new(),
            block_ips_action: "reject".into(),
            block_websites: Vec::new(),
            block_websites_action: "reject".into(),
            auto_approve_known: false,
            form_token: false,
            form_token_days: 30,
            min_fill_seconds: 3,
        }
    }
}

impl Spam {
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("spam.posts_per_ip", self.posts_per_ip),
            ("spam.posts_per_thread", self.posts_per_thread),
            ("spam.posts_global", self.posts_global),
        ] {
            if value == 0 {
                bail!("`{key}` must be at least 1");
            }
        }
        if !(1..=24 * 60).contains(&self.window_minutes) {
            bail!("`spam.window_minutes` must be between 1 and 1440 (a day)");
        }
        if !(1..=365).contains(&self.form_token_days) {
            bail!("`spam.form_token_days` must be between 1 and 365");
        }
        if self.min_fill_seconds > 600 {
            bail!("`spam.min_fill_seconds` must be between 0 (off) and 600");
        }
        for (key, action) in [
            ("spam.block_words_action", &self.block_words_action),
            ("spam.block_emails_action", &self.block_emails_action),
            ("spam.block_ips_action", &self.block_ips_action),
            ("spam.block_websites_action", &self.block_websites_action),
        ] {
            if !matches!(action.as_str(), "reject" | "moderate") {
                bail!("`{key}` = {action:?} is not \"reject\" or \"moderate\"");
            }
        }
        for (key, list) in [
            ("spam.block_words", &self.block_words),
            ("spam.block_emails", &self.block_emails),
            ("spam.block_websites", &self.block_websites),
        ] {
            if let Some(i) = list.iter().position(|w| w.trim().is_empty()) {
                bail!("`{key}[{i}]` is empty; remove it");
            }
        }
        for (i, cidr) in self.block_ips.iter().enumerate() {
            if Cidr::parse(cidr).is_none() {
                bail!("`spam.block_ips[{i}]` = {cidr:?} is not an address or a CIDR range such as \"203.0.113.0/24\"");
            }
        }
        for (i, cidr) in self.trusted_proxies.iter().enumerate() {
            if Cidr::parse(cidr).is_none() {
                bail!("`spam.trusted_proxies[{i}]` = {cidr:?} is not an address or a CIDR range such as \"10.0.0.0/8\"");
            }
        }
        Ok(())
    }
}
