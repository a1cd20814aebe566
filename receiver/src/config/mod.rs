//! kiln's configuration: one TOML file (`kiln.toml`), overridable key by key
//! from the environment (`KILN_<SECTION>_<KEY>`), then by command-line flags.
//! With no file at all, the embedded defaults run a receiver on 127.0.0.1
//! with an SQLite file in the current directory and moderation on.
//! Every validation error names the key and says what to do.
//!
//! Each section is a file here and checks its own keys; this file holds the
//! whole `Config`, loading and the environment, and the checks that span
//! sections. It imports nothing else from the receiver, so every other
//! module may depend on it.

mod admin;
mod auth;
mod bake;
mod cidr;
mod database;
mod edits;
mod limits;
mod mail;
mod moderation;
mod privacy;
mod publish;
mod reactions;
mod server;
mod sites;
mod spam;
mod templates;

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use self::admin::Admin;
pub use self::auth::{Auth, Comments};
pub use self::bake::Bake;
pub use self::cidr::Cidr;
pub use self::database::Database;
pub use self::edits::Edits;
pub use self::limits::Limits;
pub use self::mail::Mail;
pub use self::moderation::Moderation;
pub use self::privacy::Privacy;
pub use self::publish::{expand_env, Hook, Publish};
pub use self::reactions::Reactions;
pub use self::server::Server;
pub use self::sites::{
    check_moderator_name, Site, SiteMail, SitePublish, Sites, SpamOverrides, DEFAULT_SITE,
};
pub use self::spam::Spam;
pub use self::templates::Templates;

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
    pub publish: Publish,
    pub spam: Spam,
    pub privacy: Privacy,
    pub edits: Edits,
    pub reactions: Reactions,
    pub auth: Auth,
}

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
    /// Each section checks its own keys; what spans sections is here.
    pub fn validate(&self) -> Result<()> {
        self.server.validate()?;
        self.database.validate()?;
        self.sites.validate()?;
        self.bake.validate()?;
        if !self.sites.knows(&self.bake.site) {
            bail!(
                "`bake.site` = {:?} is not a site of this configuration; name one of {:?}",
                self.bake.site,
                self.sites.names()
            );
        }
        if self.privacy.gravatar && !self.bake.avatars {
            bail!("`privacy.gravatar` is on but `bake.avatars` is off, so no Gravatar picture would be shown; turn `privacy.gravatar` off, or `bake.avatars` on");
        }
        self.limits.validate()?;
        // A text at its limit must never be refused as a too-large body
        // instead of by its field.
        let worst_case = self.limits.worst_case_body();
        if self.server.max_body_bytes < worst_case {
            bail!(
                "`server.max_body_bytes` ({}) is too small for the field limits; raise it to at least {worst_case} or lower `limits.text`",
                self.server.max_body_bytes
            );
        }
        self.templates.validate()?;
        self.admin.validate()?;
        self.edits.validate()?;
        self.mail.validate()?;
        self.publish.validate()?;
        self.spam.validate()?;
        self.reactions.validate()?;
        self.auth.validate()?;
        for (i, site) in self.sites.site.iter().enumerate() {
            // A site's spam rules are `[spam]`'s checks on the merged
            // section, with the error naming the site's key.
            let prefix = format!("`sites.site[{i}].spam.");
            let named = |e: anyhow::Error| anyhow!("{}", e.to_string().replace("`spam.", &prefix));
            let spam =
                (self.spam_of(&site.name)).map_err(|e| anyhow!("`sites.site[{i}].spam`: {e}"))?;
            spam.validate().map_err(named)?;
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.server.listen_addr()
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

    /// The site's base URL for page URLs in baked forms: `bake.site_url`,
    /// else the first origin of the site `bake.site` names.
    pub fn site_url(&self) -> String {
        self.site_url_of(&self.bake.site)
    }

    /// `site_url` for a bake of site `site`.
    pub fn site_url_of(&self, site: &str) -> String {
        let url = if self.bake.site_url.is_empty() {
            let origins = self.sites.origins_of(site);
            origins.first().cloned().unwrap_or_default()
        } else {
            self.bake.site_url.clone()
        };
        url.trim_end_matches('/').to_owned()
    }

    /// Whether `url`'s origin is one of any site's origins.
    pub fn allows_origin(&self, url: &url::Url) -> bool {
        self.sites.allows_origin(url)
    }

    /// Whether new comments on site `site` wait for a moderator: its
    /// `[sites.site.moderation]`, else `[moderation]`.
    pub fn moderation_of(&self, site: &str) -> &Moderation {
        self.sites
            .named(site)
            .and_then(|s| s.moderation.as_ref())
            .unwrap_or(&self.moderation)
    }

    /// The spam rules for site `site`'s comments: `[spam]` with the keys
    /// its `[sites.site.spam]` sets laid over it.
    pub fn spam_of(&self, site: &str) -> Result<std::borrow::Cow<'_, Spam>> {
        let over = match self.sites.named(site) {
            Some(s) if !s.spam.0.is_empty() => &s.spam.0,
            _ => return Ok(std::borrow::Cow::Borrowed(&self.spam)),
        };
        let mut table = toml::Table::try_from(&self.spam).context("`spam` does not serialize")?;
        table.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
        let merged: Spam = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow!("{}", e.to_string().trim_end()))?;
        Ok(std::borrow::Cow::Owned(merged))
    }

    /// Who is told about site `site`'s new comments.
    pub fn mail_moderators_of(&self, site: &str) -> &[String] {
        self.sites
            .named(site)
            .and_then(|s| s.mail.moderators.as_deref())
            .unwrap_or(&self.mail.moderators)
    }
}

/// Checks a base URL key (`server.public_url`, `bake.site_url`).
fn check_base_url(key: &str, value: &str) -> Result<()> {
    let ok = url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        bail!("`{key}` = {value:?} is not an http(s) URL");
    }
    Ok(())
}

/// The defaults as a TOML table: its keys are the sections, so the list of
/// sections the environment can reach is the `Config` struct itself.
fn defaults() -> Result<toml::Table> {
    toml::Table::try_from(Config::default()).context("the default configuration does not serialize")
}

/// Applies `KILN_<SECTION>_<KEY>` variables onto the parsed file. Values are
/// read with the type of the key's default: numbers, booleans, and
/// comma-separated lists for list keys.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    let defaults = defaults()?;
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("KILN_") else {
            continue;
        };
        if NOT_CONFIG.contains(&name.as_str()) {
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        // The longest section that prefixes the name, should one section's
        // name ever start with another's.
        let Some((section, key)) = defaults
            .keys()
            .filter_map(|s| {
                rest.strip_prefix(s.as_str())
                    .and_then(|k| k.strip_prefix('_'))
                    .map(|k| (s.as_str(), k.to_owned()))
            })
            .max_by_key(|(s, _)| s.len())
        else {
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

/// The message `validate` gives for `toml_text`, for the sections' tests.
#[cfg(test)]
fn validation_error(toml_text: &str) -> String {
    Config::parse(toml_text)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string()
}

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
            ("[server]\ndrain_ms = 600001", "server.drain_ms"),
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

    /// The sections as serde reads them, which is independent of the
    /// defaults' serialization that `apply_env` derives its list from: the
    /// "expected one of" list of an unknown top-level key.
    fn sections_serde_expects() -> Vec<String> {
        let err = Config::parse("no_such_section = 1")
            .unwrap_err()
            .to_string();
        let expected = err.split("expected one of").nth(1).expect(&err);
        expected
            .split(',')
            .map(|s| s.trim().trim_matches('`').to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn every_section_takes_an_environment_override() {
        let sections = sections_serde_expects();
        assert!(sections.len() >= 13, "{sections:?}");
        let defaults = defaults().unwrap();
        for section in &sections {
            let keys = defaults[section.as_str()].as_table().unwrap();
            // A key of each section with a value of its type; `templates`
            // has only `dir`, which has no default.
            let (key, value) = match keys.iter().next() {
                None => ("dir".to_owned(), "kiln-templates".to_owned()),
                Some((key, toml::Value::Integer(n))) => (key.clone(), (n + 1).to_string()),
                Some((key, toml::Value::Boolean(b))) => (key.clone(), (!b).to_string()),
                Some((key, _)) => (key.clone(), "from-the-environment".to_owned()),
            };
            let name = format!("KILN_{}_{}", section, key).to_ascii_uppercase();
            let mut table = toml::Table::new();
            apply_env(&mut table, env(&[(name.as_str(), value.as_str())])).unwrap();
            let set = table
                .get(section.as_str())
                .and_then(|s| s.get(&key))
                .unwrap_or_else(|| panic!("{name} did not reach [{section}]"));
            let shown = match set {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(a) => a[0].as_str().unwrap().to_owned(),
                other => other.to_string(),
            };
            assert_eq!(shown, value, "{name}");
            let config: Config = toml::Value::Table(table).try_into().unwrap();
            assert_ne!(config, Config::default(), "{name} changed nothing");
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
    fn the_theme_is_checked_and_the_error_names_the_key() {
        use kiln_bake::render::Theme;
        assert_eq!(Config::default().bake.theme, Theme::Auto);
        for (name, theme) in [
            ("auto", Theme::Auto),
            ("light", Theme::Light),
            ("dark", Theme::Dark),
            ("inherit", Theme::Inherit),
        ] {
            let config = Config::parse(&format!("[bake]\ntheme = \"{name}\"")).unwrap();
            assert_eq!(config.bake.theme, theme);
        }
        let err = Config::parse("[bake]\ntheme = \"system\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`bake.theme`") && err.contains("\"inherit\""),
            "{err}"
        );
        let mut table = toml::Table::new();
        apply_env(&mut table, env(&[("KILN_BAKE_THEME", "dark")])).unwrap();
        let config: Config = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(config.bake.theme, Theme::Dark);
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
