//! Email: the transport (SMTP through lettre, or files, from `[mail]`), the
//! signed links that messages carry, and the messages themselves. Nothing here runs inside a
//! request: submissions and approvals queue mail in the store's outbox, and
//! `outbox::run` delivers it in the background with retries.

mod message;
pub mod outbox;
mod transport;

use anyhow::{Context, Result};
use lettre::message::Mailbox;
use lettre::Message;

use crate::config::{self, Config};
use crate::signing::Signer;

pub use message::{Letter, LinkPage, PageLink, Quoted};
pub use transport::{Sent, Transport};

/// Purposes of the signed tokens in mail links (see `crate::signing`).
pub const MODERATE: &str = "moderate";
pub const CONFIRM: &str = "subscribe";
pub const UNSUBSCRIBE: &str = "unsubscribe";

/// A transport and the sender.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// `host:port (security)` or `the directory DIR`, for messages; holds
    /// no credential.
    server: String,
}

impl Mailer {
    /// The transport `[mail]` describes; the configuration must be valid.
    pub fn new(mail: &config::Mail) -> Result<Self> {
        let (transport, server) = Transport::from_config(mail)?;
        let from = mail
            .from
            .parse()
            .with_context(|| format!("`mail.from` = {:?} is not an address", mail.from))?;
        Ok(Mailer {
            transport,
            from,
            server,
        })
    }

    /// A mailer that keeps every message in memory, for tests; `Sent`
    /// reads them.
    pub fn in_memory(from: Mailbox) -> (Self, Sent) {
        let sent = Sent::default();
        let mailer = Mailer {
            transport: Transport::Memory(sent.clone()),
            from,
            server: "memory".to_owned(),
        };
        (mailer, sent)
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// `host:port (security)`, or `the directory DIR`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one message and says what became of it: the SMTP server's
    /// reply, e.g. "250 OK", or the file it was written to. Blocks: call it
    /// off the async threads.
    pub fn send(&self, message: &Message) -> Result<String> {
        self.transport
            .send(message)
            .with_context(|| match self.transport {
                Transport::Smtp(_) => format!("SMTP delivery through {} failed", self.server),
                _ => format!("delivery to {} failed", self.server),
            })
    }
}

/// Makes the absolute, signed URLs that messages link to.
#[derive(Clone, Debug)]
pub struct Links {
    public_url: String,
    signer: Signer,
    expiry_secs: i64,
    /// The sites whose pages messages may link to (`sites.origins`).
    sites: crate::config::Sites,
}

impl Links {
    pub fn new(config: &Config, public_url: &str, signer: Signer) -> Self {
        Links {
            public_url: public_url.trim_end_matches('/').to_owned(),
            signer,
            expiry_secs: i64::from(config.mail.link_expiry_days) * 86_400,
            sites: config.sites.clone(),
        }
    }

    /// A comment's page, if it is on one of the configured sites; the same
    /// check as the receiver's own pages (`crate::pages::site_link`).
    pub fn page(&self, page_url: &str) -> Option<kiln_bake::render::BackLink> {
        crate::pages::site_link(&self.sites, page_url)
    }

    /// The page that confirms `action` (approve, reject, spam) on a comment.
    pub fn moderate(&self, comment: i64, action: &str, now: i64) -> String {
        let token = self.signer.sign(
            MODERATE,
            &format!("{comment}:{action}"),
            Some(now + self.expiry_secs),
        );
        format!("{}/mail/moderate/{token}", self.public_url)
    }

    /// The page that confirms an address's opt-in to reply notifications.
    pub fn confirm(&self, email: &str, now: i64) -> String {
        let token = self
            .signer
            .sign(CONFIRM, &email.to_lowercase(), Some(now + self.expiry_secs));
        format!("{}/mail/confirm/{token}", self.public_url)
    }

    /// Unsubscribe links never expire: an old message must still stop mail.
    pub fn unsubscribe(&self, email: &str) -> String {
        let token = self.signer.sign(UNSUBSCRIBE, &email.to_lowercase(), None);
        format!("{}/mail/unsubscribe/{token}", self.public_url)
    }

    /// The receiver's admin page.
    pub fn admin(&self) -> String {
        format!("{}/admin", self.public_url)
    }
}

/// The signer for links: keyed by `server.secret` if set, else by the
/// random secret kept in the database.
pub fn signer(config: &Config, store: &mut dyn crate::store::Store) -> Result<Signer> {
    Ok(if config.server.secret.is_empty() {
        Signer::new(store.secret()?.as_bytes())
    } else {
        Signer::new(config.server.secret.as_bytes())
    })
}

/// `kiln mail test`: sends one message now, bypassing the outbox, and says
/// what the server answered.
pub fn send_test(config: &Config, signer: Signer, to: Option<&str>) -> Result<String> {
    send_test_through(&Mailer::new(&config.mail)?, config, signer, to)
}

/// `send_test` with a given mailer, so tests can read what it sent.
fn send_test_through(
    mailer: &Mailer,
    config: &Config,
    signer: Signer,
    to: Option<&str>,
) -> Result<String> {
    let recipients: Vec<String> = match to {
        Some(to) => vec![to.to_owned()],
        None => config.mail.moderators.clone(),
    };
    if recipients.is_empty() {
        anyhow::bail!("no recipient: pass --to ADDRESS or set `mail.moderators`");
    }
    let links = Links::new(config, &config.public_url(None), signer);
    let mut report = Vec::new();
    for to in recipients {
        let mailbox: Mailbox = to
            .parse()
            .with_context(|| format!("{to:?} is not an email address"))?;
        let letter = Letter {
            to: mailbox,
            reply_to: None,
            subject: "kiln: test message".to_owned(),
            lines: vec![
                "This is a test message from kiln's receiver.".to_owned(),
                format!(
                    "It went out through {}; mail about comments will take the same way.",
                    mailer.server()
                ),
            ],
            quoted: None,
            actions: Vec::new(),
            unsubscribe: links.unsubscribe(&to),
        };
        let reply = mailer.send(&letter.build(mailer.from())?)?;
        report.push(format!("sent to {to} through {}: {reply}", mailer.server()));
    }
    Ok(report.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_message_goes_to_the_moderators_through_the_mailer() {
        let config = Config::parse(
            "[mail]\nfrom = \"kiln@example.org\"\nmoderators = [\"a@example.org\", \"b@example.org\"]",
        )
        .unwrap();
        let (mailer, sent) = Mailer::in_memory(config.mail.from.parse().unwrap());
        let signer = Signer::new(b"a key for the mail tests, long enough");
        let report = send_test_through(&mailer, &config, signer.clone(), None).unwrap();
        assert_eq!(
            report,
            "sent to a@example.org through memory: kept in memory\n\
             sent to b@example.org through memory: kept in memory"
        );
        let messages = sent.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[1].headers().get_raw("Subject"),
            Some("kiln: test message")
        );
        let config = Config::parse("[mail]\nfrom = \"kiln@example.org\"").unwrap();
        let err = send_test_through(&mailer, &config, signer, None).unwrap_err();
        assert!(err.to_string().contains("--to"), "{err}");
    }
}
