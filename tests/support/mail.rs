//! Reading the mail kiln sends, for the tests of mail (tests/suite/mail.rs)
//! and of several receivers sharing an outbox (tests/suite/replicas.rs):
//! messages the file transport wrote, and a real SMTP server on loopback
//! (aiosmtpd, run by `smtp_sink.py` beside this file) with what it received.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{eventually, python_with, repo_root, Db, Receiver, ReceiverOptions};

/// One message as the tests read it, from a file the receiver wrote or from
/// what the SMTP server received.
#[derive(Debug)]
pub struct Mail {
    /// The envelope's first recipient over SMTP; the `To` header in a file.
    pub to: String,
    /// The envelope's sender; only SMTP has one.
    pub envelope_from: Option<String>,
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The URL on the plain-text line `Label: URL`.
    pub fn link(&self, label: &str) -> String {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label}: ")))
            .unwrap_or_else(|| panic!("no {label:?} link in:\n{}", self.text))
            .trim()
            .to_owned()
    }

    /// A message as lettre writes it: headers, then a multipart/alternative
    /// body whose text and HTML parts are 7bit, quoted-printable or base64.
    fn from_eml(raw: &str) -> Mail {
        let (headers, body) = entity(raw);
        let mut mail = Mail {
            to: String::new(),
            envelope_from: None,
            content_type: String::new(),
            text: String::new(),
            html: String::new(),
            headers,
        };
        mail.to = mail.header("To").expect("a To header").to_owned();
        let content_type = mail
            .header("Content-Type")
            .expect("a Content-Type")
            .to_owned();
        mail.content_type = media_type(&content_type);
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .expect("a multipart boundary")
            .trim_matches('"')
            .to_owned();
        // Every delimiter, the first included, starts a line.
        let body = format!("\r\n{body}");
        let delimiter = format!("\r\n--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let (headers, content) = entity(part.strip_prefix("\r\n").unwrap_or(part));
            let get = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let bytes = match get("Content-Transfer-Encoding")
                .to_ascii_lowercase()
                .as_str()
            {
                "quoted-printable" => quoted_printable(content),
                "base64" => base64(content),
                _ => content.as_bytes().to_vec(),
            };
            let decoded = String::from_utf8(bytes).unwrap().replace("\r\n", "\n");
            match media_type(&get("Content-Type")).as_str() {
                "text/plain" => mail.text = decoded,
                "text/html" => mail.html = decoded,
                other => panic!("an unexpected part {other}"),
            }
        }
        mail
    }

    /// A message the SMTP server received, as its sink decoded it.
    fn from_sink(json: &Value) -> Mail {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Mail {
            to: text(&json["rcpt_tos"][0]),
            envelope_from: Some(text(&json["mail_from"])),
            headers: json["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (text(&h[0]), text(&h[1])))
                .collect(),
            content_type: text(&json["content_type"]),
            text: text(&json["text"]),
            html: text(&json["html"]),
        }
    }
}

/// An entity's unfolded headers and its body.
fn entity(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a folded line follows a header");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    (headers, body)
}

/// `text/plain` from `text/plain; charset=utf-8`.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn quoted_printable(encoded: &str) -> Vec<u8> {
    let joined = encoded.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("an =XX escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn base64(encoded: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in encoded
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The files in `dir` with extension `ext`, sorted by name.
fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    paths
}

/// Every message the file transport has written into `dir`, in sending
/// order (the names sort that way; temporary files are hidden).
pub fn written(dir: &Path) -> Vec<Mail> {
    files_with(dir, "eml")
        .iter()
        .map(|p| Mail::from_eml(&std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// Every message the SMTP server has received, in order.
pub fn received(dir: &Path) -> Vec<Mail> {
    files_with(dir, "json")
        .iter()
        .map(|p| Mail::from_sink(&serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()))
        .collect()
}

/// Waits until `read` finds at least `n` messages; returns them all.
pub fn wait_for(n: usize, within: Duration, read: impl Fn() -> Vec<Mail>) -> Vec<Mail> {
    eventually(&format!("{n} messages"), within, || {
        let all = read();
        (all.len() >= n).then_some(all)
    })
}

/// The venv's Python with aiosmtpd, or `None` after saying why the test does
/// nothing; a panic where tools are required.
pub fn python_with_aiosmtpd() -> Option<PathBuf> {
    python_with("aiosmtpd")
}

/// The SMTP server process; every accepted message lands in `dir`.
pub struct Smtp {
    child: Child,
    pub port: u16,
}

impl Smtp {
    /// Binds a port here and hands the listening socket to the server as
    /// its standard input, so the port is never free for another process
    /// to take between choosing it and serving on it.
    pub fn start(python: &Path, dir: &Path) -> Smtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP port");
        let port = listener.local_addr().unwrap().port();
        let mut child = Command::new(python)
            .arg(repo_root().join("tests/support/smtp_sink.py"))
            .arg(dir)
            .stdin(Stdio::from(OwnedFd::from(listener)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Smtp { child, port }
    }

    /// The receiver's settings for this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KILN_MAIL_HOST", "127.0.0.1".to_owned()),
            ("KILN_MAIL_PORT", self.port.to_string()),
            ("KILN_MAIL_SECURITY", "plain".to_owned()),
            ("KILN_MAIL_FROM", "Comments <kiln@example.org>".to_owned()),
            ("KILN_MAIL_MODERATORS", "mod@example.org".to_owned()),
        ]
    }

    /// Stops the server; as the only holder of the socket, it takes the
    /// port down with it, so connections are refused.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new, empty folder `inbox` in `dir`, where the mail a test reads lands.
pub fn inbox_in(dir: &Path) -> PathBuf {
    let inbox = dir.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    inbox
}

/// A receiver in `dir` for `origin` that sends its mail to `smtp`.
pub fn receiver_mailing_to(
    smtp: &Smtp,
    dir: &Path,
    db: &Db,
    origin: &str,
    token: Option<&str>,
) -> Receiver {
    let env = smtp.env();
    Receiver::start(ReceiverOptions {
        dir,
        db,
        origin,
        token,
        extra_env: &borrowed(&env),
    })
}

/// `KILN_*` settings as `ReceiverOptions::extra_env` takes them.
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
