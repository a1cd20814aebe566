//! One email as kiln writes it: a few paragraphs, maybe a quoted comment,
//! action links, and an unsubscribe link, sent as plain text and HTML
//! (multipart/alternative). Every header goes through lettre's typed
//! builders, which encode values instead of pasting them, so a name or
//! subject holding CR/LF cannot add a header.

use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::Serialize;

/// A comment shown in a message.
#[derive(Debug, Clone, Serialize)]
pub struct Quoted {
    /// e.g. "Ann wrote:".
    pub caption: String,
    /// The Markdown the reader typed, for the plain-text part.
    pub text: String,
    /// The comment rendered and sanitized exactly as it is baked.
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct Letter {
    pub to: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    pub lines: Vec<String>,
    pub quoted: Option<Quoted>,
    /// (label, absolute URL)
    pub actions: Vec<(String, String)>,
    /// The recipient's one-click unsubscribe URL (RFC 8058).
    pub unsubscribe: String,
}

#[derive(Serialize)]
struct Action<'a> {
    label: &'a str,
    url: &'a str,
}

impl Letter {
    /// The message, without a Message-ID (the first server adds one).
    pub fn build(&self, from: &Mailbox) -> Result<Message> {
        self.build_as(from, None)
    }

    /// The message with the Message-ID `message_id` (`<left@right>`), when
    /// given: the outbox names each message after its row, so that one sent
    /// twice is recognisable as one.
    pub fn build_as(&self, from: &Mailbox, message_id: Option<String>) -> Result<Message> {
        let mut builder = Message::builder()
            .from(from.clone())
            .to(plain_name(&self.to))
            .subject(self.subject.clone())
            .header(ListUnsubscribe(self.unsubscribe.clone()))
            .header(ListUnsubscribePost);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(plain_name(reply_to));
        }
        if message_id.is_some() {
            builder = builder.message_id(message_id);
        }
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(self.plain_text()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(self.html()?),
            );
        builder.multipart(body).context("cannot build the message")
    }

    fn plain_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push_str("\n\n");
        }
        if let Some(q) = &self.quoted {
            out.push_str(&q.caption);
            out.push('\n');
            for line in q.text.lines() {
                out.push_str("> ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        for (label, url) in &self.actions {
            out.push_str(&format!("{label}: {url}\n"));
        }
        if !self.actions.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "-- \nSent by kiln. Unsubscribe from all mail from this site: {}\n",
            self.unsubscribe
        ));
        out
    }

    fn html(&self) -> Result<String> {
        let mut ctx = tera::Context::new();
        ctx.insert("subject", &self.subject);
        ctx.insert("lines", &self.lines);
        ctx.insert("quoted", &self.quoted);
        let actions: Vec<Action> = self
            .actions
            .iter()
            .map(|(label, url)| Action { label, url })
            .collect();
        ctx.insert("actions", &actions);
        ctx.insert("unsubscribe", &self.unsubscribe);
        render("mail_message.html", &ctx)
    }
}

/// The mailbox with control characters in its display name made spaces.
/// lettre encodes names, but refuses (panics on) a name with a line break,
/// and a commenter's name must never stop a message. Direction controls
/// are dropped: a mail client shows the name beside others in a list.
fn plain_name(mailbox: &Mailbox) -> Mailbox {
    let name = mailbox.name.as_ref().map(|n| {
        n.chars()
            .filter(|c| !crate::submission::is_bidi_control(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    });
    Mailbox::new(name, mailbox.email.clone())
}

/// The page behind a link in an email (`mail_link.html`): a question with
/// one POST button, or an outcome with links onward.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkPage {
    pub title: String,
    pub lines: Vec<String>,
    /// A comment as it is baked (sanitized HTML).
    pub quoted_html: Option<String>,
    /// The button's label; None shows no form.
    pub button: Option<String>,
    pub links: Vec<PageLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageLink {
    pub label: String,
    pub url: String,
}

impl LinkPage {
    pub fn render(&self) -> Result<String> {
        render("mail_link.html", &tera::Context::from_serialize(self)?)
    }
}

/// The templates of mail and of the pages its links open. Built-in only:
/// they are kiln's words to moderators and subscribers, not the site's look.
fn templates() -> &'static tera::Tera {
    static TERA: OnceLock<tera::Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        kiln_bake::render::load_templates(
            &const {
                kiln_bake::render::templates::builtins([
                    "page.html",
                    "style.css",
                    "mail_message.html",
                    "mail_link.html",
                ])
            },
            None,
        )
        .expect("the built-in mail templates parse")
    })
}

/// Renders one of the mail templates (autoescaped).
fn render(name: &str, ctx: &tera::Context) -> Result<String> {
    templates()
        .render(name, ctx)
        .map_err(|e| anyhow!("{e:?}"))
        .with_context(|| format!("rendering template {name}"))
}

/// `List-Unsubscribe: <URL>` (RFC 2369). The URL is ours: an https(s) URL
/// with a hex token, so it needs no encoding.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let url = s.trim().trim_start_matches('<').trim_end_matches('>');
        Ok(ListUnsubscribe(url.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): mail
/// clients may unsubscribe with one POST to the `List-Unsubscribe` URL.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(name: &str, subject: &str) -> Letter {
        let reply_to = Mailbox::new(Some(name.to_owned()), "ann@example.org".parse().unwrap());
        Letter {
            to: "Moderator <mod@example.org>".parse().unwrap(),
            reply_to: Some(reply_to),
            subject: subject.to_owned(),
            lines: vec![format!("{name} wrote <b>this</b>")],
            quoted: Some(Quoted {
                caption: format!("{name} wrote:"),
                text: "hello\nworld".into(),
                html: "<p>hello<br>world</p>".into(),
            }),
            actions: vec![(
                "Approve".into(),
                "https://c.example/mail/moderate/ab".into(),
            )],
            unsubscribe: "https://c.example/mail/unsubscribe/cd".into(),
        }
    }

    /// The header block of a formatted message, one entry per header with
    /// continuation lines unfolded.
    fn headers(message: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(message);
        let head = text.split("\r\n\r\n").next().unwrap();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                out.last_mut().unwrap().push_str(line);
            } else {
                out.push(line.to_owned());
            }
        }
        out
    }

    #[test]
    fn names_and_subjects_with_line_breaks_cannot_add_headers() {
        let evil = "Eve\r\nBcc: victim@example.net\r\nX-Evil: 1";
        let from: Mailbox = "kiln <kiln@example.org>".parse().unwrap();
        let message = letter(evil, &format!("New comment by {evil}"))
            .build(&from)
            .unwrap()
            .formatted();
        let headers = headers(&message);
        for h in &headers {
            let name = h.split(':').next().unwrap().to_ascii_lowercase();
            assert!(name != "bcc" && name != "x-evil", "injected header: {h:?}");
        }
        assert_eq!(
            headers.iter().filter(|h| h.starts_with("Subject:")).count(),
            1
        );
        assert!(headers
            .iter()
            .any(|h| h == "List-Unsubscribe: <https://c.example/mail/unsubscribe/cd>"));
        assert!(headers
            .iter()
            .any(|h| h == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        // The line break is inside an RFC 2047 encoded word, not the header.
        assert!(headers
            .iter()
            .any(|h| h.starts_with("Subject: New comment by =?utf-8?")));
        let text = String::from_utf8_lossy(&message);
        assert!(text.contains("multipart/alternative"));
        // The HTML part escapes what the reader typed.
        let html = letter("Ann", "s").html().unwrap();
        assert!(html.contains("Ann wrote &lt;b&gt;this&lt;/b&gt;"), "{html}");
        assert!(html.contains("<p>hello<br>world</p>"));
    }
}
