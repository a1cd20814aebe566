//! `[mail]`: how mail leaves (an SMTP server, or files in a directory), the
//! sender and the moderators. The password is the one secret here, so
//! `Debug` is written by hand to keep it out of every log line.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The longest `claim_seconds`: a day, beyond which a receiver that died
/// mid-way would hold its message back longer than any retry does.
const MAX_CLAIM_SECONDS: u32 = 86_400;

/// Email: moderators hear of new comments, readers of replies.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mail {
    /// Send mail at all. Default: true, but with the SMTP transport mail is
    /// off while `host` is empty.
    pub enabled: bool,
    /// How messages leave: `smtp` (through `host`) or `file` (each message
    /// is written whole as an `.eml` file into `file_dir` and nothing is
    /// sent: for trying kiln out, and for tests). Default: `smtp`.
    pub transport: String,
    /// With `transport = "file"`, the existing directory messages are
    /// written to. Default: empty.
    pub file_dir: PathBuf,
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
    /// Seconds a receiver holds a message it is sending before another may
    /// take it over: the sender's lease, so that receivers sharing a
    /// database send each message once, and one that dies mid-way delays
    /// its message by at most this. It must outlast sending one message to
    /// every moderator (each SMTP attempt may take up to 20 seconds).
    /// Default: 120.
    pub claim_seconds: u32,
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            enabled: true,
            transport: "smtp".into(),
            file_dir: PathBuf::new(),
            host: String::new(),
            port: 0,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: String::new(),
            moderators: Vec::new(),
            link_expiry_days: 7,
            claim_seconds: 120,
        }
    }
}

/// Written by hand so that the password never reaches a log line.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("enabled", &self.enabled)
            .field("transport", &self.transport)
            .field("file_dir", &self.file_dir)
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
            .field("claim_seconds", &self.claim_seconds)
            .finish()
    }
}

impl Mail {
    /// Whether mail is sent: enabled, and a host configured for SMTP.
    pub fn is_on(&self) -> bool {
        self.enabled && (self.writes_files() || !self.host.is_empty())
    }

    /// Whether messages go to files in `file_dir` instead of SMTP.
    pub fn writes_files(&self) -> bool {
        self.transport == "file"
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
        if !matches!(self.transport.as_str(), "smtp" | "file") {
            bail!(
                "`mail.transport` = {:?} is not \"smtp\" or \"file\"",
                self.transport
            );
        }
        if !self.writes_files() && !self.file_dir.as_os_str().is_empty() {
            bail!("`mail.file_dir` is set but `mail.transport` is \"smtp\"; set `mail.transport = \"file\"` to write messages there, or remove `mail.file_dir`");
        }
        if !matches!(self.security.as_str(), "starttls" | "tls" | "plain") {
            bail!(
                "`mail.security` = {:?} is not one of \"starttls\", \"tls\" or \"plain\"",
                self.security
            );
        }
        if !(1..=365).contains(&self.link_expiry_days) {
            bail!("`mail.link_expiry_days` must be between 1 and 365");
        }
        if !(1..=MAX_CLAIM_SECONDS).contains(&self.claim_seconds) {
            bail!(
                "`mail.claim_seconds` = {} must be between 1 and {MAX_CLAIM_SECONDS} (a day); it should outlast sending one message to every moderator, e.g. the default 120",
                self.claim_seconds
            );
        }
        if !self.is_on() {
            return Ok(());
        }
        if self.writes_files() {
            if self.file_dir.as_os_str().is_empty() {
                bail!("`mail.transport` is \"file\" but `mail.file_dir` is empty; name the directory messages are written to");
            }
            if !self.file_dir.is_dir() {
                bail!(
                    "`mail.file_dir` = {} is not a directory; create it first",
                    self.file_dir.display()
                );
            }
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

#[cfg(test)]
mod tests {
    use super::super::{validation_error as error, Config};

    #[test]
    fn the_file_transport_needs_an_existing_directory_and_no_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = |extra: &str| {
            format!("[mail]\ntransport = \"file\"\nfrom = \"kiln@example.org\"\n{extra}",)
        };
        let ok = Config::parse(&file(&format!("file_dir = {:?}", dir.path()))).unwrap();
        ok.validate().unwrap();
        assert!(ok.mail.is_on(), "no host is needed");
        let err = error(&file(""));
        assert!(err.contains("`mail.file_dir` is empty"), "{err}");
        let missing = dir.path().join("missing");
        let err = error(&file(&format!("file_dir = {missing:?}")));
        assert!(
            err.contains("`mail.file_dir`") && err.contains("create it"),
            "{err}"
        );
        let err = error("[mail]\ntransport = \"sendmail\"");
        assert!(err.contains("`mail.transport`"), "{err}");
        let err = error(&format!("[mail]\nfile_dir = {:?}", dir.path()));
        assert!(err.contains("`mail.transport = \"file\"`"), "{err}");
        let off = Config::parse(&file("enabled = false")).unwrap();
        off.validate().unwrap();
        assert!(!off.mail.is_on());
        assert_eq!(Config::default().mail.transport, "smtp");
    }

    #[test]
    fn the_claim_lease_is_checked_and_named() {
        assert_eq!(Config::default().mail.claim_seconds, 120);
        let set = Config::parse("[mail]\nclaim_seconds = 3").unwrap();
        set.validate().unwrap();
        assert_eq!(set.mail.claim_seconds, 3);
        for bad in ["0", "86401"] {
            let err = error(&format!("[mail]\nclaim_seconds = {bad}"));
            assert!(
                err.contains("`mail.claim_seconds`") && err.contains("between 1 and 86400"),
                "{err}"
            );
        }
    }
}
