//! `[mail]`: the SMTP server, the sender and the moderators. The password
//! is the one secret here, so `Debug` is written by hand to keep it out of
//! every log line.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Email over SMTP: moderators hear of new comments, readers of replies.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mail {
    /// Send mail at all. Default: true, but mail is off while `host` is empty.
    pub enabled: bool,
    /// The SMTP server's host name. Default: empty (no mail).
    pub host: String,
    /// The SMTP port. Default: 0, meaning 587 for starttls, 465 for tls and
    /// 25 for plain.
    pub port: u16,
    /// `starttls` (upgrade a plain connection; required), `tls` (TLS from the
    /// first byte) or `plain` (no encryption: only for a relay on the same
    /// host). Default: `starttls`.
    pub security: String,
    /// SMTP login. Default: empty (no authentication).
    pub username: String,
    /// SMTP password. Default: empty. Set it from the environment
    /// (`KILN_MAIL_PASSWORD`) rather than in a file you commit; it is never
    /// logged.
    pub password: String,
    /// The sender, e.g. `"Comments <comments@example.org>"`. Required when
    /// mail is on.
    pub from: String,
    /// Who is told about each new comment, with links to moderate it.
    /// Default: nobody.
    pub moderators: Vec<String>,
    /// Days a moderation or confirmation link stays valid. Default: 7.
    pub link_expiry_days: u32,
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            enabled: true,
            host: String::new(),
            port: 0,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: String::new(),
            moderators: Vec::new(),
            link_expiry_days: 7,
        }
    }
}

/// Written by hand so that the password never reaches a log line.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("enabled", &self.enabled)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .field("from", &self.from)
            .field("moderators", &self.moderators)
            .field("link_expiry_days", &self.link_expiry_days)
            .finish()
    }
}

impl Mail {
    /// Whether mail is sent: enabled and a host is configured.
    pub fn is_on(&self) -> bool {
        self.enabled && !self.host.is_empty()
    }

    /// The port to connect to, with the security mode's usual default.
    pub fn port(&self) -> u16 {
        match (self.port, self.security.as_str()) {
            (0, "tls") => 465,
            (0, "plain") => 25,
            (0, _) => 587,
            (p, _) => p,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !matches!(self.security.as_str(), "starttls" | "tls" | "plain") {
            bail!(
                "`mail.security` = {:?} is not one of \"starttls\", \"tls\" or \"plain\"",
                self.security
            );
        }
        if !(1..=365).contains(&self.link_expiry_days) {
            bail!("`mail.link_expiry_days` must be between 1 and 365");
        }
        if !self.is_on() {
            return Ok(());
        }
        if self
            .host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            bail!("`mail.host` = {:?} is not a host name", self.host);
        }
        if self.from.is_empty() {
            bail!("`mail.from` is empty; mail needs a sender such as \"Comments <comments@example.org>\"");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!(
                "`mail.from` = {:?} is not an address like \"Comments <comments@example.org>\"",
                self.from
            );
        }
        for (i, m) in self.moderators.iter().enumerate() {
            if m.parse::<lettre::message::Mailbox>().is_err() {
                bail!("`mail.moderators[{i}]` = {m:?} is not an email address");
            }
        }
        if self.username.is_empty() != self.password.is_empty() {
            bail!("`mail.username` and `mail.password` go together; set both (the password from KILN_MAIL_PASSWORD) or neither");
        }
        Ok(())
    }
}
