//! How a built message leaves kiln: over SMTP (the default, through
//! lettre), as an `.eml` file in a directory (`mail.transport = "file"`, for
//! trying kiln out and for end-to-end tests that read what was sent without
//! an SMTP server), or into memory (for the receiver's own unit tests).
//! Everything above this module builds the same messages whatever the
//! transport.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport as _};

use crate::config;

/// One of the ways a message can leave.
pub enum Transport {
    Smtp(SmtpTransport),
    /// Writes each message into this directory.
    File(PathBuf),
    /// Keeps each message where the test that made it can read it.
    Memory(Sent),
}

/// The messages a memory transport was given, in order; clones share them.
#[derive(Clone, Default)]
pub struct Sent(Arc<Mutex<Vec<Message>>>);

impl Sent {
    pub fn messages(&self) -> Vec<Message> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Transport {
    /// The transport `[mail]` describes, and how to name it in messages
    /// and logs (`host:port (security)`, never a credential). The
    /// configuration must be valid.
    pub fn from_config(mail: &config::Mail) -> Result<(Transport, String)> {
        if mail.writes_files() {
            let dir = mail.file_dir.clone();
            let name = format!("the directory {}", dir.display());
            return Ok((Transport::File(dir), name));
        }
        let port = mail.port();
        let builder = match mail.security.as_str() {
            "tls" => SmtpTransport::relay(&mail.host),
            "plain" => Ok(SmtpTransport::builder_dangerous(&mail.host)),
            _ => SmtpTransport::starttls_relay(&mail.host),
        }
        .with_context(|| format!("cannot set up TLS for `mail.host` = {:?}", mail.host))?;
        let mut builder = builder.port(port).timeout(Some(Duration::from_secs(20)));
        if !mail.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                mail.username.clone(),
                mail.password.clone(),
            ));
        }
        let name = format!("{}:{port} ({})", mail.host, mail.security);
        Ok((Transport::Smtp(builder.build()), name))
    }

    /// Hands one message on and says what became of it: the SMTP server's
    /// reply (e.g. "250 OK"), or the file written. Blocks.
    pub fn send(&self, message: &Message) -> Result<String> {
        match self {
            Transport::Smtp(smtp) => {
                let response = smtp.send(message)?;
                let text: Vec<&str> = response.message().collect();
                Ok(format!("{} {}", response.code(), text.join(" ")))
            }
            Transport::File(dir) => {
                let path = write_eml(dir, &message.formatted())?;
                Ok(format!("written to {}", path.display()))
            }
            Transport::Memory(sent) => {
                sent.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(message.clone());
                Ok("kept in memory".to_owned())
            }
        }
    }
}

/// Messages written by this process so far, so two written within the
/// same clock tick still get distinct names, in the order they were sent.
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` as a new `.eml` file in `dir`: first under a hidden
/// temporary name, then renamed, so whoever watches the directory for
/// `*.eml` only ever sees whole messages. Names sort in sending order (the
/// time, then the process and a counter), so a reader can list them sorted.
fn write_eml(dir: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seq = WRITTEN.fetch_add(1, Ordering::Relaxed);
    let stem = format!("{nanos:020}-{}-{seq:06}", std::process::id());
    let temporary = dir.join(format!(".{stem}.eml.tmp"));
    let path = dir.join(format!("{stem}.eml"));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("cannot write a message into {}", dir.display()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(subject: &str) -> Message {
        Message::builder()
            .from("kiln@example.org".parse().unwrap())
            .to("ann@example.org".parse().unwrap())
            .subject(subject)
            .body(String::from("Hello"))
            .unwrap()
    }

    #[test]
    fn the_file_transport_writes_whole_messages_in_sending_order() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Transport::File(dir.path().to_owned());
        for subject in ["first", "second", "third"] {
            let said = transport.send(&message(subject)).unwrap();
            assert!(said.starts_with("written to "), "{said}");
        }
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "no temporary file is left: {names:?}");
        let subjects: Vec<String> = names
            .iter()
            .map(|n| {
                assert!(n.ends_with(".eml"), "{n}");
                let text = std::fs::read_to_string(dir.path().join(n)).unwrap();
                assert!(text.contains("\r\n\r\nHello"), "{text}");
                text.lines()
                    .find_map(|l| l.strip_prefix("Subject: "))
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(subjects, ["first", "second", "third"]);
    }

    #[test]
    fn a_missing_directory_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let err = Transport::File(gone.clone())
            .send(&message("x"))
            .unwrap_err();
        assert!(
            format!("{err:#}").contains(&gone.display().to_string()),
            "{err:#}"
        );
    }

    #[test]
    fn the_memory_transport_keeps_what_it_was_given() {
        let sent = Sent::default();
        let transport = Transport::Memory(sent.clone());
        transport.send(&message("kept")).unwrap();
        let messages = sent.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].headers().get_raw("Subject"), Some("kept"));
    }
}
