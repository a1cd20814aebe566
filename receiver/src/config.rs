//! kiln's configuration: one TOML file (`kiln.toml`), overridable key by key
//! from the environment (`KILN_<SECTION>_<KEY>`), then by command-line flags.
//! With no file at all, the embedded defaults run a receiver on 127.0.0.1
//! with an SQLite file in the current directory and moderation on.
//! Every validation error names the key and says what to do.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The whole configuration; one struct per TOML section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub database: Database,
    pub sites: Sites,
    pub moderation: Moderation,
    pub limits: Limits,
    pub bake: Bake,
    pub templates: Templates,
    pub mail: Mail,
    pub admin: Admin,
    pub publish: crate::publish::Publish,
    pub spam: Spam,
    pub privacy: Privacy,
    pub edits: Edits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address and port to listen on. Default: `127.0.0.1:8080`.
    pub listen: String,
    /// The URL readers' browsers reach the receiver at; forms post to
    /// `{public_url}/comments`. Default: empty, meaning `http://{listen}`.
    pub public_url: String,
    /// Bearer token for `GET /api/export`. Default: empty, which disables the
    /// export API. Set it from the environment (`KILN_SERVER_EXPORT_TOKEN`)
    /// rather than in a file you commit.
    pub export_token: String,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    /// Default: 131072 (128 KiB).
    pub max_body_bytes: usize,
    /// The key that signs links in emails (and other tokens). Default: empty,
    /// meaning a random key created once and kept in the database. Set it
    /// (32+ characters, from `KILN_SERVER_SECRET`) to share it between hosts.
    pub secret: String,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            export_token: String::new(),
            max_body_bytes: 128 * 1024,
            secret: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// The SQLite file. Relative paths are relative to the current directory.
    /// Default: `kiln.sqlite3`.
    pub path: PathBuf,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            path: PathBuf::from("kiln.sqlite3"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sites {
    /// Origins (`scheme://host[:port]`) whose pages may post comments and be
    /// redirected back to. Default: the local dev servers of Hugo (1313),
    /// Jekyll (4000), Astro (4321) and Pelican (8000) on 127.0.0.1 and localhost.
    pub origins: Vec<String>,
}

impl Default for Sites {
    fn default() -> Self {
        let mut origins = Vec::new();
        for host in ["127.0.0.1", "localhost"] {
            for port in [1313, 4000, 4321, 8000] {
                origins.push(format!("http://{host}:{port}"));
            }
        }
        Sites { origins }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Moderation {
    /// Hold new comments for approval. Default: true. When false, comments
    /// are published as soon as they are received.
    pub enabled: bool,
}

impl Default for Moderation {
    fn default() -> Self {
        Moderation { enabled: true }
    }
}

/// Field limits, in characters (Unicode scalar values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Default: 100.
    pub name: usize,
    /// Default: 254 (the longest address SMTP allows).
    pub email: usize,
    /// Default: 300.
    pub website: usize,
    /// Default: 10000.
    pub text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            name: 100,
            email: 254,
            website: 300,
            text: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bake {
    /// Where `kiln bake` reads comments when `--from` is not given: a
    /// receiver's URL (with `KILN_TOKEN`), an SQLite file or an export file.
    /// Default: empty, meaning `database.path`. SSG adapters run bake in the
    /// site's directory, so this is how a site points them at its receiver.
    pub from: String,
    /// The site's public base URL (e.g. `https://example.org`), used to build
    /// each page's URL in the form. Default: empty, meaning the first of
    /// `sites.origins`.
    pub site_url: String,
    /// How many levels of replies are shown nested; deeper replies are shown
    /// flat under the deepest level. Default: 4.
    pub max_depth: usize,
    /// Reference the receiver's optional script (`/kiln.js`) from baked
    /// threads: posting without leaving the page, replies in place, preview
    /// and comments newer than the bake. Pages work fully without it.
    /// Default: true.
    pub script: bool,
    /// A file under the output directory that bake writes the threads'
    /// stylesheet to and links from every thread: browsers cache it once
    /// for the whole site, each page is about 5 KB lighter, and the site's
    /// Content-Security-Policy can say `style-src 'self'`. Empty puts a
    /// `<style>` element in every thread instead. `--fragments` always
    /// does. Default: `kiln.css`.
    pub stylesheet: String,
    /// Show an avatar beside each comment: an identicon drawn inline from a
    /// salted key of the author's address (or name), with no request and no
    /// trace of the address. false shows none. Default: true.
    pub avatars: bool,
}

impl Bake {
    /// `stylesheet`, if set.
    pub fn stylesheet_file(&self) -> Option<PathBuf> {
        (!self.stylesheet.is_empty()).then(|| PathBuf::from(&self.stylesheet))
    }
}

impl Default for Bake {
    fn default() -> Self {
        Bake {
            from: String::new(),
            site_url: String::new(),
            max_depth: 4,
            script: true,
            stylesheet: "kiln.css".into(),
            avatars: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Templates {
    /// A directory of templates that override the built-in ones by name
    /// (`thread.html`, `comment.html`, `form.html`, ...). Default: none.
    pub dir: Option<PathBuf>,
}

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

    fn validate(&self) -> Result<()> {
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

/// The admin page (`/admin`). Its password is set with `kiln admin set-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// How long a login lasts, in hours. Default: 12.
    pub session_hours: u64,
    /// Failed logins allowed from one IP address within
    /// `login_window_minutes` before further attempts get 429. Default: 5.
    pub login_failures_per_ip: u32,
    /// Failed logins allowed from all addresses together within the window,
    /// against guessing from many addresses. Default: 50.
    pub login_failures_global: u32,
    /// The window failed logins are counted in, in minutes. Default: 15.
    pub login_window_minutes: u64,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            session_hours: 12,
            login_failures_per_ip: 5,
            login_failures_global: 50,
            login_window_minutes: 15,
        }
    }
}

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
    pub block_words: Vec<String>,
    /// `"reject"` or `"moderate"` (hold for a moderator, even with
    /// moderation off). Default: `"moderate"`.
    pub block_words_action: String,
    /// Email addresses (`a@example.org`) or whole domains (`example.org`,
    /// which includes its subdomains).
    pub block_emails: Vec<String>,
    /// Default: `"reject"`.
    pub block_emails_action: String,
    /// Client addresses or CIDR ranges.
    pub block_ips: Vec<String>,
    /// Default: `"reject"`.
    pub block_ips_action: String,
    /// Website domains (with their subdomains), matched against the website
    /// field and every link in the comment.
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
    fn validate(&self) -> Result<()> {
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
            if crate::abuse::Cidr::parse(cidr).is_none() {
                bail!("`spam.block_ips[{i}]` = {cidr:?} is not an address or a CIDR range such as \"203.0.113.0/24\"");
            }
        }
        for (i, cidr) in self.trusted_proxies.iter().enumerate() {
            if crate::abuse::Cidr::parse(cidr).is_none() {
                bail!("`spam.trusted_proxies[{i}]` = {cidr:?} is not an address or a CIDR range such as \"10.0.0.0/8\"");
            }
        }
        Ok(())
    }
}

/// What the receiver keeps about commenters beyond what they typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// Keep each comment's client address, anonymized (/24 for IPv4, /48
    /// for IPv6), for moderators and the duplicate check. false keeps none;
    /// rate limits still work, in memory. Default: true.
    pub store_ip: bool,
    /// Show Gravatar pictures: the export (and a bake from the database)
    /// carries the SHA-256 of each author's address, which anyone can test
    /// guessed addresses against, and baked pages load each picture from
    /// gravatar.com, falling back to Gravatar's identicon. A bake needs it
    /// on too. Needs `bake.avatars`. Default: false.
    pub gravatar: bool,
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy {
            store_ip: true,
            gravatar: false,
        }
    }
}

/// What commenters may do with their own comment after posting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Edits {
    /// For how many minutes after posting the private edit link works: the
    /// commenter may edit or delete their comment until then. 0 gives no
    /// edit links. Default: 15.
    pub window_minutes: u32,
    /// Whether an edit to a published comment takes it off the page until a
    /// moderator approves it again. An edit that a spam rule holds always
    /// goes back to moderation. Default: true.
    pub remoderate_approved: bool,
}

impl Default for Edits {
    fn default() -> Self {
        Edits {
            window_minutes: 15,
            remoderate_approved: true,
        }
    }
}

/// Absolute ceilings for configured limits, so a typo cannot make a field
/// unbounded.
const MAX_TEXT: usize = 100_000;
const MAX_FIELD: usize = 2_000;

/// Environment variables that start with `KILN_` but are not config keys.
const NOT_CONFIG: &[&str] = &["KILN_CONFIG", "KILN_TOKEN", "KILN_LOG", "KILN_LOG_FORMAT"];

impl Config {
    /// Parses a TOML document (no environment, no validation).
    pub fn parse(toml_text: &str) -> Result<Self> {
        toml::from_str(toml_text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))
    }

    /// Loads the configuration: the file if given (or `kiln.toml` in the
    /// current directory if it exists), then `KILN_*` environment overrides.
    /// It is not validated yet, because flags may still change it.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let default_path = Path::new("kiln.toml");
        let path = match path {
            Some(p) => Some(p),
            None if default_path.is_file() => Some(default_path),
            None => None,
        };
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                text.parse::<toml::Table>()
                    .map_err(|e| anyhow!("{}", e.to_string().trim_end()))
                    .with_context(|| format!("invalid config file {}", p.display()))?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, std::env::vars())?;
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow!("{}", e.to_string().trim_end()))
            .with_context(|| match path {
                Some(p) => format!("invalid config in {}", p.display()),
                None => "invalid config from the environment".to_owned(),
            })?;
        Ok(config)
    }

    /// Checks every key; the first problem is reported by its key name.
    pub fn validate(&self) -> Result<()> {
        self.listen_addr()?;
        if !self.server.public_url.is_empty() {
            check_base_url("server.public_url", &self.server.public_url)?;
        }
        if self.server.max_body_bytes < 1024 {
            bail!("`server.max_body_bytes` must be at least 1024");
        }
        if self.database.path.as_os_str().is_empty() {
            bail!("`database.path` is empty; name an SQLite file such as kiln.sqlite3");
        }
        if self.sites.origins.is_empty() {
            bail!("`sites.origins` is empty; list the origins your pages are served from, e.g. [\"https://example.org\"]");
        }
        for (i, origin) in self.sites.origins.iter().enumerate() {
            let parsed = url::Url::parse(origin).ok();
            let ok = parsed.as_ref().is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
                    && !origin.ends_with('/')
            });
            if !ok {
                bail!("`sites.origins[{i}]` = {origin:?} is not an origin; write it as scheme://host[:port] with no path, e.g. \"https://example.org\"");
            }
        }
        if !self.bake.site_url.is_empty() {
            check_base_url("bake.site_url", &self.bake.site_url)?;
        }
        if !(1..=32).contains(&self.bake.max_depth) {
            bail!("`bake.max_depth` must be between 1 and 32");
        }
        if let Some(file) = self.bake.stylesheet_file() {
            kiln_bake::stylesheet_path(&file).map_err(|e| anyhow!("`bake.stylesheet`: {e}"))?;
        }
        if self.privacy.gravatar && !self.bake.avatars {
            bail!("`privacy.gravatar` is on but `bake.avatars` is off, so no Gravatar picture would be shown; turn `privacy.gravatar` off, or `bake.avatars` on");
        }
        let limits = [
            ("limits.name", self.limits.name, MAX_FIELD),
            ("limits.email", self.limits.email, MAX_FIELD),
            ("limits.website", self.limits.website, MAX_FIELD),
            ("limits.text", self.limits.text, MAX_TEXT),
        ];
        for (key, value, max) in limits {
            if value == 0 || value > max {
                bail!("`{key}` must be between 1 and {max}");
            }
        }
        // A percent-encoded form can take up to 9 bytes per character (three
        // %XX triples for a 3-byte UTF-8 sequence); make sure a text at its
        // limit is never refused as a too-large body instead of by its field.
        let worst_case = 9 * (self.limits.text + self.limits.name + self.limits.website)
            + 3 * self.limits.email
            + 8 * 1024;
        if self.server.max_body_bytes < worst_case {
            bail!(
                "`server.max_body_bytes` ({}) is too small for the field limits; raise it to at least {worst_case} or lower `limits.text`",
                self.server.max_body_bytes
            );
        }
        if let Some(dir) = &self.templates.dir {
            if !dir.is_dir() {
                bail!("`templates.dir` = {} is not a directory", dir.display());
            }
        }
        if !(1..=24 * 90).contains(&self.admin.session_hours) {
            bail!("`admin.session_hours` must be between 1 and 2160 (90 days)");
        }
        if self.admin.login_failures_per_ip == 0 {
            bail!("`admin.login_failures_per_ip` must be at least 1");
        }
        if self.admin.login_failures_global < self.admin.login_failures_per_ip {
            bail!("`admin.login_failures_global` must be at least `admin.login_failures_per_ip`");
        }
        if !(1..=24 * 60).contains(&self.admin.login_window_minutes) {
            bail!("`admin.login_window_minutes` must be between 1 and 1440 (a day)");
        }
        if !self.server.secret.is_empty() && self.server.secret.len() < 32 {
            bail!("`server.secret` is shorter than 32 characters; use a long random value, or leave it empty to let kiln keep one in the database");
        }
        if self.edits.window_minutes > 24 * 60 {
            bail!("`edits.window_minutes` must be between 0 (no edit links) and 1440 (a day)");
        }
        self.mail.validate()?;
        self.publish.validate()?;
        self.spam.validate()?;
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.server.listen.parse().map_err(|_| {
            anyhow!(
                "`server.listen` = {:?} is not an address like 127.0.0.1:8080",
                self.server.listen
            )
        })
    }

    /// The URL forms post to, without a trailing slash.
    pub fn public_url(&self, bound: Option<SocketAddr>) -> String {
        if !self.server.public_url.is_empty() {
            return self.server.public_url.trim_end_matches('/').to_owned();
        }
        let addr = bound
            .map(|a| a.to_string())
            .unwrap_or_else(|| self.server.listen.clone());
        format!("http://{addr}")
    }

    /// The site's base URL for page URLs in baked forms.
    pub fn site_url(&self) -> String {
        let url = if self.bake.site_url.is_empty() {
            self.sites.origins.first().cloned().unwrap_or_default()
        } else {
            self.bake.site_url.clone()
        };
        url.trim_end_matches('/').to_owned()
    }

    /// Whether `url`'s origin is one of `sites.origins`.
    pub fn allows_origin(&self, url: &url::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.sites
            .origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(&origin))
    }
}

fn check_base_url(key: &str, value: &str) -> Result<()> {
    let ok = url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        bail!("`{key}` = {value:?} is not an http(s) URL");
    }
    Ok(())
}

/// Applies `KILN_<SECTION>_<KEY>` variables onto the parsed file. Values are
/// read with the type of the key's default: numbers, booleans, and
/// comma-separated lists for list keys.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("KILN_") else {
            continue;
        };
        if NOT_CONFIG.contains(&name.as_str()) {
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        let Some((section, key)) = SECTIONS.iter().find_map(|s| {
            rest.strip_prefix(s)
                .and_then(|k| k.strip_prefix('_'))
                .map(|k| (*s, k.to_owned()))
        }) else {
            continue;
        };
        let default = defaults
            .get(section)
            .and_then(|s| s.as_table())
            .and_then(|s| s.get(&key));
        let typed = match (default, key.as_str()) {
            (Some(toml::Value::Integer(_)), _) => toml::Value::Integer(
                value
                    .trim()
                    .parse()
                    .map_err(|_| anyhow!("environment variable {name} must be a whole number"))?,
            ),
            (Some(toml::Value::Boolean(_)), _) => {
                toml::Value::Boolean(match value.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" => false,
                    _ => bail!("environment variable {name} must be true or false"),
                })
            }
            (Some(toml::Value::Array(_)), _) => toml::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_owned()))
                    .collect(),
            ),
            (Some(_), _) | (None, "dir") => toml::Value::String(value),
            (None, _) => bail!(
                "environment variable {name} does not match a config key in [{section}]; see `kiln serve --help`"
            ),
        };
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| anyhow!("`{section}` in the config file must be a table"))?
            .insert(key, typed);
    }
    Ok(())
}

const SECTIONS: &[&str] = &[
    "server",
    "database",
    "sites",
    "moderation",
    "limits",
    "bake",
    "templates",
    "mail",
    "admin",
    "publish",
    "spam",
    "privacy",
    "edits",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        assert!(Config::default().moderation.enabled);
        assert_eq!(
            Config::default().listen_addr().unwrap().ip().to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[server]\nlisten_on = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listen_on"), "{err}");
    }

    #[test]
    fn validation_names_the_key() {
        let cases = [
            ("[server]\nlisten = \"nope\"", "server.listen"),
            (
                "[sites]\norigins = [\"https://example.org/blog\"]",
                "sites.origins[0]",
            ),
            ("[sites]\norigins = []", "sites.origins"),
            ("[limits]\ntext = 0", "limits.text"),
            ("[bake]\nmax_depth = 0", "bake.max_depth"),
            ("[server]\npublic_url = \"ftp://x\"", "server.public_url"),
            ("[server]\nmax_body_bytes = 2000", "server.max_body_bytes"),
            ("[admin]\nsession_hours = 0", "admin.session_hours"),
            (
                "[admin]\nlogin_failures_per_ip = 0",
                "admin.login_failures_per_ip",
            ),
            (
                "[admin]\nlogin_window_minutes = 0",
                "admin.login_window_minutes",
            ),
            (
                "[privacy]\ngravatar = true\n[bake]\navatars = false",
                "privacy.gravatar",
            ),
        ];
        for (toml_text, key) in cases {
            let err = Config::parse(toml_text).unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(key), "{toml_text}: {err}");
        }
    }

    #[test]
    fn environment_overrides_keys_with_their_types() {
        let mut table: toml::Table = "[server]\nlisten = \"127.0.0.1:1\"".parse().unwrap();
        apply_env(
            &mut table,
            env(&[
                ("KILN_SERVER_LISTEN", "127.0.0.1:9"),
                ("KILN_SITES_ORIGINS", "https://a.example, https://b.example"),
                ("KILN_MODERATION_ENABLED", "false"),
                ("KILN_LIMITS_TEXT", "500"),
                ("KILN_TOKEN", "not config"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:9");
        assert_eq!(
            config.sites.origins,
            ["https://a.example", "https://b.example"]
        );
        assert!(!config.moderation.enabled);
        assert_eq!(config.limits.text, 500);
    }

    #[test]
    fn avatar_keys_default_to_local_identicons_and_are_checked() {
        let config = Config::default();
        assert!(config.bake.avatars && !config.privacy.gravatar);
        let on = Config::parse("[privacy]\ngravatar = true").unwrap();
        on.validate().unwrap();
        assert!(on.privacy.gravatar);
        for (toml_text, key) in [
            ("[bake]\navatars = \"yes\"", "avatars"),
            ("[privacy]\ngravatar = 1", "gravatar"),
            ("[privacy]\ngravatars = true", "gravatars"),
        ] {
            let err = Config::parse(toml_text).unwrap_err();
            assert!(err.to_string().contains(key), "{toml_text}: {err}");
        }
        let mut table = toml::Table::new();
        apply_env(
            &mut table,
            env(&[
                ("KILN_PRIVACY_GRAVATAR", "true"),
                ("KILN_BAKE_AVATARS", "on"),
            ]),
        )
        .unwrap();
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        assert!(config.privacy.gravatar && config.bake.avatars);
        let err = apply_env(
            &mut toml::Table::new(),
            env(&[("KILN_BAKE_AVATARS", "maybe")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("KILN_BAKE_AVATARS"), "{err}");
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let mut table = toml::Table::new();
        let err = apply_env(&mut table, env(&[("KILN_LIMITS_TEXT", "lots")])).unwrap_err();
        assert!(err.to_string().contains("KILN_LIMITS_TEXT"), "{err}");
        let err = apply_env(&mut table, env(&[("KILN_SERVER_COLOUR", "red")])).unwrap_err();
        assert!(err.to_string().contains("KILN_SERVER_COLOUR"), "{err}");
    }

    #[test]
    fn origins_match_exactly() {
        let config = Config::parse("[sites]\norigins = [\"https://example.org\"]").unwrap();
        let ok = url::Url::parse("https://example.org/posts/a/").unwrap();
        let other_port = url::Url::parse("https://example.org:8443/posts/a/").unwrap();
        let lookalike = url::Url::parse("https://example.org.evil.test/").unwrap();
        assert!(config.allows_origin(&ok));
        assert!(!config.allows_origin(&other_port));
        assert!(!config.allows_origin(&lookalike));
    }

    #[test]
    fn mail_keys_are_checked_by_name() {
        let mail = |extra: &str| {
            Config::parse(&format!("[mail]\nhost = \"smtp.example.org\"\n{extra}")).unwrap()
        };
        let err = mail("").validate().unwrap_err();
        assert!(err.to_string().contains("`mail.from`"), "{err}");
        let ok = "from = \"Comments <c@example.org>\"\n";
        mail(ok).validate().unwrap();
        assert_eq!(mail(ok).mail.port(), 587);
        let err = mail(&format!("{ok}security = \"ssl\""))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("`mail.security`"), "{err}");
        let err = mail(&format!("{ok}moderators = [\"not an address\"]"))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("`mail.moderators[0]`"), "{err}");
        let err = mail(&format!("{ok}username = \"u\""))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("`mail.password`"), "{err}");
        // The password comes from the environment and never shows in Debug.
        let mut table = toml::Table::new();
        apply_env(&mut table, env(&[("KILN_MAIL_PASSWORD", "hunter2hunter2")])).unwrap();
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(config.mail.password, "hunter2hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!Config::default().mail.is_on());
    }
}
