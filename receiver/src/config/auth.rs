//! `[auth]`: optional sign-in with an OpenID Connect provider, for
//! commenters (a verified name, sign-in required or not, trusted people who
//! skip moderation) and for moderators (the admin page by OIDC, or by an
//! identity header from a trusted reverse proxy). Everything is off while
//! `issuer` and `proxy_header` are empty. `Debug` is written by hand so the
//! client secret never reaches a log line.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::Cidr;

/// Whether a site takes comments from people who have not signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Comments {
    /// Anyone may comment; signing in only verifies the name. Default.
    #[default]
    #[serde(rename = "anonymous")]
    Anonymous,
    /// Only signed-in people may comment.
    #[serde(rename = "signed-in")]
    SignedIn,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// The OpenID provider's issuer URL (discovery reads
    /// `{issuer}/.well-known/openid-configuration`). Default: empty, which
    /// turns OIDC sign-in off.
    pub issuer: String,
    /// The client id registered at the provider for this receiver.
    pub client_id: String,
    /// The client's secret; set it from `KILN_AUTH_CLIENT_SECRET`. Empty
    /// for a public client (PKCE is used either way).
    pub client_secret: String,
    /// Scopes asked for besides `openid`. Default: `profile`, `email`.
    pub scopes: Vec<String>,
    /// `"anonymous"` (anyone may comment, signed in or not) or
    /// `"signed-in"` (only signed-in people). Default: `"anonymous"`.
    pub comments: Comments,
    /// Subjects or e-mail addresses whose comments skip moderation.
    pub trusted: Vec<String>,
    /// Subjects allowed on the admin page by OIDC (and identities the
    /// proxy header may name; empty lets the proxy decide).
    pub moderators: Vec<String>,
    /// A group whose members may use the admin page, read from the ID
    /// token's `groups_claim`.
    pub moderator_group: String,
    /// The ID token claim holding the groups. Default: `groups`.
    pub groups_claim: String,
    /// A header naming the moderator, set by a reverse proxy that signed
    /// them in (oauth2-proxy, Authelia): e.g. `X-Forwarded-User`. Honoured
    /// only on requests from `proxy_addresses`. Default: empty (off).
    pub proxy_header: String,
    /// The addresses (CIDRs) `proxy_header` is believed from.
    pub proxy_addresses: Vec<String>,
    /// How long a commenter stays signed in, in hours. Default: 168 (a week).
    pub session_hours: u64,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            scopes: vec!["profile".into(), "email".into()],
            comments: Comments::Anonymous,
            trusted: Vec::new(),
            moderators: Vec::new(),
            moderator_group: String::new(),
            groups_claim: "groups".into(),
            proxy_header: String::new(),
            proxy_addresses: Vec::new(),
            session_hours: 168,
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .field("scopes", &self.scopes)
            .field("comments", &self.comments)
            .field("trusted", &self.trusted)
            .field("moderators", &self.moderators)
            .field("moderator_group", &self.moderator_group)
            .field("groups_claim", &self.groups_claim)
            .field("proxy_header", &self.proxy_header)
            .field("proxy_addresses", &self.proxy_addresses)
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

impl Auth {
    /// Whether OIDC sign-in is configured.
    pub fn oidc_on(&self) -> bool {
        !self.issuer.is_empty()
    }

    /// The proxy ranges, parsed (validation has checked every one).
    pub fn proxy_ranges(&self) -> Vec<Cidr> {
        self.proxy_addresses
            .iter()
            .filter_map(|a| Cidr::parse(a))
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        if self.oidc_on() {
            let url = url::Url::parse(&self.issuer).ok();
            let loopback = url.as_ref().is_some_and(|u| {
                u.host_str()
                    .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
            });
            let ok = url.as_ref().is_some_and(|u| {
                u.host_str().is_some()
                    && (u.scheme() == "https" || (u.scheme() == "http" && loopback))
            });
            if !ok {
                bail!(
                    "`auth.issuer` = {:?} is not an https URL; give the provider's issuer URL exactly as its discovery document states it (http only on loopback, for tests)",
                    self.issuer
                );
            }
            if self.client_id.trim().is_empty() {
                bail!("`auth.client_id` is empty; register kiln as a client at the provider and give its client id");
            }
            if self
                .scopes
                .iter()
                .any(|s| s.trim().is_empty() || s.contains(' '))
            {
                bail!("`auth.scopes` has an empty entry or one with a space; list each scope on its own, like [\"profile\", \"email\"]");
            }
            if self.groups_claim.trim().is_empty() {
                bail!("`auth.groups_claim` is empty; name the ID token claim that holds groups (usually \"groups\")");
            }
        } else {
            for (key, set) in [
                ("client_id", !self.client_id.is_empty()),
                ("client_secret", !self.client_secret.is_empty()),
                ("comments", self.comments == Comments::SignedIn),
                ("trusted", !self.trusted.is_empty()),
                ("moderator_group", !self.moderator_group.is_empty()),
            ] {
                if set {
                    bail!("`auth.{key}` is set but `auth.issuer` is empty, so nobody can sign in; set `auth.issuer` to your OpenID provider, or remove `auth.{key}`");
                }
            }
            if !self.moderators.is_empty() && self.proxy_header.is_empty() {
                bail!("`auth.moderators` is set but neither `auth.issuer` nor `auth.proxy_header` is, so nobody can sign in as one; set one of them, or remove `auth.moderators`");
            }
        }
        if !(1..=24 * 90).contains(&self.session_hours) {
            bail!("`auth.session_hours` must be between 1 and 2160 (90 days)");
        }
        if !self.proxy_header.is_empty() {
            if axum::http::HeaderName::from_bytes(self.proxy_header.as_bytes()).is_err() {
                bail!(
                    "`auth.proxy_header` = {:?} is not a header name; use the name your proxy sets, like \"X-Forwarded-User\"",
                    self.proxy_header
                );
            }
            if self.proxy_addresses.is_empty() {
                bail!("`auth.proxy_header` is set but `auth.proxy_addresses` is empty; list the reverse proxy's addresses (like [\"127.0.0.1\"]), or anyone could send the header");
            }
        } else if !self.proxy_addresses.is_empty() {
            bail!("`auth.proxy_addresses` is set but `auth.proxy_header` is empty; name the header the proxy sets, or remove `auth.proxy_addresses`");
        }
        for (i, address) in self.proxy_addresses.iter().enumerate() {
            if Cidr::parse(address).is_none() {
                bail!("`auth.proxy_addresses[{i}]` = {address:?} is not an address or range like 10.0.0.0/8");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{validation_error, Config};

    const ON: &str = "[auth]\nissuer = \"https://id.example.org/realms/x\"\nclient_id = \"kiln\"\n";

    #[test]
    fn off_by_default_and_a_full_section_is_valid() {
        let config = Config::default();
        assert!(!config.auth.oidc_on());
        let config = Config::parse(&format!(
            "{ON}client_secret = \"s3cret-value\"\ncomments = \"signed-in\"\ntrusted = [\"ann@example.org\"]\n\
             moderators = [\"sub-1\"]\nmoderator_group = \"mods\"\nproxy_header = \"X-Forwarded-User\"\n\
             proxy_addresses = [\"127.0.0.1\", \"10.0.0.0/8\"]"
        ))
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.auth.comments, super::Comments::SignedIn);
        assert_eq!(config.auth.proxy_ranges().len(), 2);
        assert!(!format!("{config:?}").contains("s3cret-value"));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "[auth]\nissuer = \"ftp://x\"\nclient_id = \"k\"",
                "`auth.issuer`",
            ),
            (
                "[auth]\nissuer = \"http://id.example.org\"\nclient_id = \"k\"",
                "`auth.issuer`",
            ),
            (
                "[auth]\nissuer = \"https://id.example.org\"",
                "`auth.client_id`",
            ),
            ("[auth]\ncomments = \"signed-in\"", "`auth.comments`"),
            ("[auth]\nmoderators = [\"a\"]", "`auth.moderators`"),
            (
                "[auth]\nproxy_header = \"X-User\"",
                "`auth.proxy_addresses`",
            ),
            (
                "[auth]\nproxy_addresses = [\"127.0.0.1\"]",
                "`auth.proxy_header`",
            ),
            (
                "[auth]\nproxy_header = \"X User\"\nproxy_addresses = [\"127.0.0.1\"]",
                "`auth.proxy_header`",
            ),
            (
                "[auth]\nproxy_header = \"X-User\"\nproxy_addresses = [\"10.0.0/8\"]",
                "`auth.proxy_addresses[0]`",
            ),
            (&format!("{ON}scopes = [\"a b\"]"), "`auth.scopes`"),
            (&format!("{ON}session_hours = 0"), "`auth.session_hours`"),
        ];
        for (toml_text, key) in cases {
            let err = validation_error(toml_text);
            assert!(err.contains(key), "{toml_text}: {err}");
        }
        let err = Config::parse("[auth]\ncomments = \"members\"").unwrap_err();
        assert!(err.to_string().contains("signed-in"), "{err}");
    }

    #[test]
    fn http_issuers_are_for_loopback_only() {
        let config =
            Config::parse("[auth]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"k\"").unwrap();
        config.validate().unwrap();
    }
}
