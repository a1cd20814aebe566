//! Where a bake gets its comments from. The pipeline only sees the `Source`
//! trait; the SQLite implementation lives with the receiver's store (which owns
//! all SQL), the export-file and receiver-URL implementations live here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::export::{CommentStatus, Export, Thread};

/// What a source says about one thread without loading its comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Changes whenever anything the thread shows changes (a new approval, an
    /// edit, a deletion). Compared only for equality.
    pub version: u64,
    /// Number of published comments, for `data-kiln-count`.
    pub count: u64,
}

/// A provider of published comments.
pub trait Source {
    /// Names the source for messages (a path or a URL, never a token).
    fn describe(&self) -> String;

    /// Identifies the underlying data set, so a bake can tell that the
    /// versions it remembers belong to the same data (e.g. the same database).
    fn identity(&mut self) -> Result<String>;

    /// One stamp for every thread that has published comments.
    /// Must be cheap for sources that can make it so: a re-bake after one
    /// approval calls this and then loads only the threads whose stamp moved.
    fn stamps(&mut self) -> Result<HashMap<String, Stamp>>;

    /// The threads with these ids (all threads when `ids` is `None`).
    /// Unknown ids are simply absent from the answer: an empty thread.
    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>>;

    /// Said before any thread is read when nothing will show like counts
    /// (`reactions` off): a source that counts every comment's likes as it
    /// reads (a database) may then leave them at zero. Others ignore it.
    fn leave_out_likes(&mut self) {}

    /// Whether the receiver behind this source sends mail, when the source
    /// says ([`Export::mail`]); `None` leaves the bake's own setting.
    fn mail(&mut self) -> Result<Option<bool>> {
        Ok(None)
    }
}

/// A whole export held in memory. Both of our sources fetch everything in one
/// go, so their stamps come from hashing what they fetched.
#[derive(Debug, Default)]
struct Loaded {
    threads: BTreeMap<String, Thread>,
    mail: Option<bool>,
}

impl Loaded {
    fn new(export: Export) -> Self {
        Loaded {
            mail: export.mail,
            threads: export.into_map(),
        }
    }

    fn stamps(&self) -> HashMap<String, Stamp> {
        self.threads
            .iter()
            .map(|(id, thread)| (id.clone(), stamp_of(thread)))
            .collect()
    }

    fn threads(&self, ids: Option<&[String]>) -> Vec<Thread> {
        match ids {
            None => self.threads.values().cloned().collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.threads.get(id).cloned())
                .collect(),
        }
    }
}

/// The stamp of a thread known only by its contents: a hash of the thread as
/// exported (any change to a comment changes it) and its approved comments.
pub fn stamp_of(thread: &Thread) -> Stamp {
    // Serializing a derived struct is deterministic, so the hash is stable
    // across runs and machines.
    let json = serde_json::to_vec(thread).expect("a thread always serializes");
    let digest = Sha256::digest(&json);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Stamp {
        version: u64::from_be_bytes(first),
        count: approved_count(thread),
    }
}

/// The number of comments a reader sees (deleted ones are placeholders).
pub fn approved_count(thread: &Thread) -> u64 {
    thread
        .comments
        .iter()
        .filter(|c| c.status == CommentStatus::Approved)
        .count() as u64
}

/// A source with no comments yet: a site's first builds, before the
/// receiver has made its database. Every thread is baked empty, with its
/// form, so the site builds and can take its first comment.
#[derive(Debug)]
pub struct NoComments {
    /// What was looked for, for messages (the missing database's path).
    pub looked_for: String,
}

impl Source for NoComments {
    fn describe(&self) -> String {
        self.looked_for.clone()
    }

    fn identity(&mut self) -> Result<String> {
        // Differs from every real source's, so the first bake with comments
        // reads every page again.
        Ok("no-comments-yet".to_owned())
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(HashMap::new())
    }

    fn threads(&mut self, _ids: Option<&[String]>) -> Result<Vec<Thread>> {
        Ok(Vec::new())
    }
}

/// An export JSON file, as written by `kiln export`.
#[derive(Debug)]
pub struct ExportFile {
    path: PathBuf,
    loaded: Option<Loaded>,
}

impl ExportFile {
    /// The file is read on first use, so errors surface from the bake.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ExportFile {
            path: path.into(),
            loaded: None,
        }
    }

    fn load(&mut self) -> Result<&Loaded> {
        if self.loaded.is_none() {
            let text = std::fs::read_to_string(&self.path)
                .with_context(|| format!("reading export file {}", self.path.display()))?;
            let export = Export::parse(&text)
                .with_context(|| format!("reading export file {}", self.path.display()))?;
            self.loaded = Some(Loaded::new(export));
        }
        Ok(self.loaded.as_ref().expect("loaded above"))
    }
}

impl Source for ExportFile {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn identity(&mut self) -> Result<String> {
        // Versions are content hashes, so any file may share a bake's state.
        Ok("export-file".to_owned())
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self.load()?.stamps())
    }

    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        Ok(self.load()?.threads(ids))
    }

    fn mail(&mut self) -> Result<Option<bool>> {
        Ok(self.load()?.mail)
    }
}

/// A running receiver's export API (`GET {base_url}/api/export`).
pub struct Receiver {
    base_url: String,
    token: Option<String>,
    timeout: Duration,
    loaded: Option<Loaded>,
    /// The site whose comments it asks for (`?site=`); None: the receiver's
    /// default site.
    site: Option<String>,
}

impl fmt::Debug for Receiver {
    // Hand-written so the token can never reach a log or an error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// `base_url` is the receiver's public root (a trailing slash is fine).
    /// The export is fetched on first use.
    pub fn new(base_url: impl Into<String>, token: Option<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Receiver {
            base_url,
            token,
            timeout: Duration::from_secs(120),
            loaded: None,
            site: None,
        }
    }

    /// Asks for site `site`'s comments rather than the default site's.
    /// `site` is a site name (lowercase letters, digits and `-`), so it
    /// needs no escaping in the URL.
    pub fn for_site(mut self, site: &str) -> Self {
        self.site = Some(site.to_owned());
        self
    }

    fn export_url(&self) -> String {
        match &self.site {
            Some(site) => format!("{}/api/export?site={site}", self.base_url),
            None => format!("{}/api/export", self.base_url),
        }
    }

    fn load(&mut self) -> Result<&Loaded> {
        if self.loaded.is_none() {
            let export = self.fetch()?;
            self.loaded = Some(Loaded::new(export));
        }
        Ok(self.loaded.as_ref().expect("loaded above"))
    }

    fn fetch(&self) -> Result<Export> {
        let url = self.export_url();
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTP client")?;
        let mut request = client.get(&url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // reqwest's errors name the URL but never the headers.
        let response = request
            .send()
            .with_context(|| format!("fetching comments from {url}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            let what = if self.token.is_some() {
                "refused the token"
            } else {
                "requires a token"
            };
            bail!(
                "{url} {what} ({status}); pass the receiver's export token with --token or set KILN_TOKEN"
            );
        }
        if !status.is_success() {
            // A kiln receiver explains itself in its JSON error shape
            // (e.g. that the export API is switched off); pass that on.
            let explained = response
                .json::<serde_json::Value>()
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            bail!("fetching comments from {url} failed: the receiver answered {status}{explained}");
        }
        let body = response
            .text()
            .with_context(|| format!("reading the answer from {url}"))?;
        Export::parse(&body).with_context(|| format!("reading the export from {url}"))
    }
}

impl Source for Receiver {
    fn describe(&self) -> String {
        self.base_url.clone()
    }

    fn identity(&mut self) -> Result<String> {
        Ok(match &self.site {
            Some(site) => format!("receiver {} site {site}", self.base_url),
            None => format!("receiver {}", self.base_url),
        })
    }

    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self.load()?.stamps())
    }

    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        Ok(self.load()?.threads(ids))
    }

    fn mail(&mut self) -> Result<Option<bool>> {
        Ok(self.load()?.mail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{unix_to_rfc3339, Comment};

    fn export() -> Export {
        let comment = |id, status| Comment {
            id,
            parent: None,
            status,
            author: "Ann".into(),
            website: None,
            text: "hi".into(),
            created_at: unix_to_rfc3339(0),
            avatar: None,
            gravatar: None,
            likes: 0,
            verified: false,
            html: None,
        };
        Export::new(vec![Thread {
            id: "/a/".into(),
            url: "https://example.org/a/".into(),
            comments: vec![
                comment(1, CommentStatus::Approved),
                comment(2, CommentStatus::Deleted),
            ],
        }])
    }

    #[test]
    fn export_file_stamps_and_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.json");
        std::fs::write(&path, serde_json::to_string(&export()).unwrap()).unwrap();
        let mut source = ExportFile::new(&path);
        let stamps = source.stamps().unwrap();
        assert_eq!(stamps["/a/"].count, 1, "deleted comments are not counted");
        assert_eq!(
            stamps["/a/"],
            stamp_of(&export().threads[0]),
            "stable across loads"
        );
        assert_eq!(
            source
                .threads(Some(&["/a/".into(), "/b/".into()]))
                .unwrap()
                .len(),
            1
        );

        let mut changed = export();
        changed.threads[0].comments[0].text = "edited".into();
        assert_ne!(stamp_of(&changed.threads[0]).version, stamps["/a/"].version);
    }

    #[test]
    fn export_file_errors_name_the_file() {
        let err = ExportFile::new("/nonexistent/kiln.json")
            .stamps()
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/kiln.json"),
            "{err:#}"
        );
    }

    #[test]
    fn receiver_never_shows_its_token() {
        let receiver = Receiver::new("http://127.0.0.1:9/", Some("s3cret-token".into()));
        assert!(!format!("{receiver:?}").contains("s3cret"));
        assert_eq!(receiver.describe(), "http://127.0.0.1:9");
        let mut receiver = receiver;
        let err = format!("{:#}", receiver.stamps().unwrap_err());
        assert!(err.contains("http://127.0.0.1:9/api/export"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    /// Answers one request with `status`, returning what was asked.
    fn serve_once(status: &str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let status = status.to_owned();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = vec![0u8; 4096];
            let n = stream.read(&mut request).unwrap();
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            stream.write_all(reply.as_bytes()).unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (url, handle)
    }

    #[test]
    fn receiver_refused_token_says_what_to_do() {
        let (url, server) = serve_once("401 Unauthorized");
        let mut receiver = Receiver::new(url, Some("s3cret-token".into()));
        let err = format!("{:#}", receiver.stamps().unwrap_err());
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /api/export "), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer s3cret-token"),
            "{request}"
        );
        assert!(
            err.contains("refused the token")
                && err.contains("--token")
                && err.contains("KILN_TOKEN"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");

        let (url, server) = serve_once("500 Internal Server Error");
        let err = format!(
            "{:#}",
            Receiver::new(url.clone(), None).stamps().unwrap_err()
        );
        server.join().unwrap();
        assert!(
            err.contains("500") && err.contains(&format!("{url}/api/export")),
            "{err}"
        );
    }
}
