//! `[sites]`: the origins whose pages may post comments and be sent back
//! to, the receiver's first line against forged forms and open redirects,
//! and the further sites one receiver serves (`[[sites.site]]`), each with
//! its own origins, its own threads and what it changes of the top level.
//!
//! `[sites]`'s own `origins` are the site named "default". A `[[sites]]`
//! array cannot sit beside that table in TOML, so further sites are the
//! table's `site` array: `[[sites.site]]`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::Moderation;

/// The name of the site `[sites]`'s own origins make.
pub const DEFAULT_SITE: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sites {
    /// Origins (`scheme://host[:port]`) whose pages may post comments and be
    /// redirected back to: the site named "default". Default: the local dev
    /// servers of Hugo (1313), Jekyll (4000), Astro (4321) and Pelican (8000)
    /// on 127.0.0.1 and localhost.
    pub origins: Vec<String>,
    /// Further sites on this receiver (`[[sites.site]]`), each with threads
    /// of its own: `/about/` on one is not `/about/` on another. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub site: Vec<Site>,
    /// The moderators who may see the "default" site, as `[[sites.site]]`'s
    /// `moderators` are for theirs. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moderators: Vec<String>,
}

/// One further site (`[[sites.site]]`). What it leaves out it takes from
/// the top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Site {
    /// A short name: lowercase letters, digits and `-`. Bake (`bake.site`,
    /// `kiln bake --site`), `kiln queue --site`, the admin page's filter and
    /// the APIs' `?site=` use it. "default" is `[sites]`'s own origins.
    pub name: String,
    /// The origins its pages are served from; none may be another site's.
    pub origins: Vec<String>,
    /// Whether its new comments wait for a moderator (`[sites.site.moderation]`);
    /// default: `[moderation]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// Its mail settings (`[sites.site.mail]`); each key left out is `[mail]`'s.
    #[serde(skip_serializing_if = "SiteMail::is_empty")]
    pub mail: SiteMail,
    /// The spam rules it sets differently (`[sites.site.spam]`): the content
    /// rules of `[spam]` (`max_links`, `duplicate_days`, `block_*`,
    /// `honeypot`, `auto_approve_known`); each key left out is `[spam]`'s.
    /// Rate limits, proxies and form tokens are the receiver's, in `[spam]`.
    #[serde(skip_serializing_if = "SpamOverrides::is_empty")]
    pub spam: SpamOverrides,
    /// Where the receiver publishes this site (`[sites.site.publish]`).
    #[serde(skip_serializing_if = "SitePublish::is_empty")]
    pub publish: SitePublish,
    /// Who moderates this site on the admin page: named moderator accounts
    /// (`kiln admin set-password --moderator NAME`) or OpenID subjects. A
    /// moderator listed on some sites sees and acts on only those; one
    /// listed on none (and the admin password) sees every site. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moderators: Vec<String>,
}

/// A site's own mail settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SiteMail {
    /// The sender of this site's mail; default: `mail.from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Who is told about this site's new comments; default: `mail.moderators`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderators: Option<Vec<String>>,
}

impl SiteMail {
    fn is_empty(&self) -> bool {
        self.from.is_none() && self.moderators.is_none()
    }
}

/// The `[spam]` keys a site sets, as written; `Config::spam_of` lays them
/// over `[spam]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct SpamOverrides(pub toml::Table);

// TOML tables compare as their values do; a float's NaN never appears in
// `[spam]`, whose keys are numbers, booleans, strings and lists of strings.
impl Eq for SpamOverrides {}

impl SpamOverrides {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `[spam]` keys that hold for the whole receiver, not one site: a site that
/// sets one is told so.
const RECEIVER_WIDE_SPAM: &[&str] = &[
    "posts_per_ip",
    "posts_per_thread",
    "posts_global",
    "window_minutes",
    "trusted_proxies",
    "form_token",
    "form_token_days",
    "min_fill_seconds",
];

/// A site's own publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SitePublish {
    /// Built directories of this site that the receiver re-bakes in place
    /// with this site's comments after each change, as `publish.in_place`
    /// does for `bake.site`'s. Default: none.
    pub in_place: Vec<PathBuf>,
}

impl SitePublish {
    fn is_empty(&self) -> bool {
        self.in_place.is_empty()
    }
}

impl Default for Sites {
    fn default() -> Self {
        let mut origins = Vec::new();
        for host in ["127.0.0.1", "localhost"] {
            for port in [1313, 4000, 4321, 8000] {
                origins.push(format!("http://{host}:{port}"));
            }
        }
        Sites {
            origins,
            site: Vec::new(),
            moderators: Vec::new(),
        }
    }
}

impl Sites {
    pub fn validate(&self) -> Result<()> {
        if self.origins.is_empty() {
            bail!("`sites.origins` is empty; list the origins your pages are served from, e.g. [\"https://example.org\"]");
        }
        check_origins("sites.origins", &self.origins)?;
        check_moderators("sites.moderators", &self.moderators)?;
        let mut seen: Vec<(&str, String)> = self
            .origins
            .iter()
            .map(|o| (DEFAULT_SITE, o.to_ascii_lowercase()))
            .collect();
        for (i, site) in self.site.iter().enumerate() {
            let key = format!("sites.site[{i}]");
            let name = &site.name;
            let slug = !name.is_empty()
                && name.len() <= 40
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !slug {
                bail!("`{key}.name` = {name:?} is not a site name; use lowercase letters, digits and `-`, e.g. \"blog\"");
            }
            if name == DEFAULT_SITE {
                bail!("`{key}.name` is \"default\", the name of `sites.origins`; give this site another name");
            }
            if self.site[..i].iter().any(|other| other.name == *name) {
                bail!("`{key}.name` = {name:?} names two sites; give each site its own name");
            }
            if site.origins.is_empty() {
                bail!(
                    "`{key}.origins` is empty; list the origins this site's pages are served from"
                );
            }
            check_origins(&format!("{key}.origins"), &site.origins)?;
            for (j, origin) in site.origins.iter().enumerate() {
                let lower = origin.to_ascii_lowercase();
                if let Some((other, _)) = seen.iter().find(|(_, o)| *o == lower) {
                    bail!("`{key}.origins[{j}]` = {origin:?} is also site {other:?}'s; an origin belongs to one site");
                }
                seen.push((name, lower));
            }
            if let Some(from) = &site.mail.from {
                if from.parse::<lettre::message::Mailbox>().is_err() {
                    bail!("`{key}.mail.from` = {from:?} is not an address like \"Comments <comments@example.org>\"");
                }
            }
            for (j, m) in site.mail.moderators.iter().flatten().enumerate() {
                if m.parse::<lettre::message::Mailbox>().is_err() {
                    bail!("`{key}.mail.moderators[{j}]` = {m:?} is not an email address");
                }
            }
            for name in site.spam.0.keys() {
                if RECEIVER_WIDE_SPAM.contains(&name.as_str()) {
                    bail!("`{key}.spam.{name}` holds for the whole receiver; set it in [spam] instead");
                }
            }
            for (j, dir) in site.publish.in_place.iter().enumerate() {
                if !dir.is_dir() {
                    bail!(
                        "`{key}.publish.in_place[{j}]` = {} is not a directory; build the site first",
                        dir.display()
                    );
                }
            }
            check_moderators(&format!("{key}.moderators"), &site.moderators)?;
        }
        Ok(())
    }

    /// Whether `url`'s origin is one of any site's origins.
    pub fn allows_origin(&self, url: &url::Url) -> bool {
        self.site_of(url).is_some()
    }

    /// The name of the site `url`'s origin belongs to, if any.
    pub fn site_of(&self, url: &url::Url) -> Option<&str> {
        let origin = url.origin().ascii_serialization();
        let has = |origins: &[String]| origins.iter().any(|o| o.eq_ignore_ascii_case(&origin));
        if has(&self.origins) {
            return Some(DEFAULT_SITE);
        }
        self.site
            .iter()
            .find(|s| has(&s.origins))
            .map(|s| s.name.as_str())
    }

    /// The further site named `name`; None for "default" and for an unknown name.
    pub fn named(&self, name: &str) -> Option<&Site> {
        self.site.iter().find(|s| s.name == name)
    }

    /// Whether `name` is a site of this receiver ("default" always is).
    pub fn knows(&self, name: &str) -> bool {
        name == DEFAULT_SITE || self.named(name).is_some()
    }

    /// A site's origins: `sites.origins` for "default".
    pub fn origins_of(&self, name: &str) -> &[String] {
        match self.named(name) {
            Some(site) => &site.origins,
            None => &self.origins,
        }
    }

    /// The sites `moderator` (an account name or OpenID subject) is
    /// limited to, "default" first; `None` if no site lists them, so they
    /// moderate every site.
    pub fn moderated_by(&self, moderator: &str) -> Option<Vec<String>> {
        let listed = |list: &[String]| list.iter().any(|m| m == moderator);
        let sites: Vec<String> = std::iter::once((DEFAULT_SITE, &self.moderators))
            .chain(self.site.iter().map(|s| (s.name.as_str(), &s.moderators)))
            .filter(|(_, list)| listed(list))
            .map(|(name, _)| name.to_owned())
            .collect();
        (!sites.is_empty()).then_some(sites)
    }

    /// The names sites list that nobody can sign in as: no moderator
    /// account has them, and neither the OpenID provider nor the proxy
    /// header (when on) could name them.
    pub fn unknown_moderators<'a>(
        &'a self,
        accounts: &[String],
        auth: &super::Auth,
    ) -> Vec<&'a str> {
        if auth.oidc_on() || !auth.proxy_header.is_empty() {
            return Vec::new();
        }
        self.listed_moderators()
            .into_iter()
            .filter(|name| !accounts.iter().any(|a| a == name))
            .collect()
    }

    /// Every moderator some site lists, each once.
    pub fn listed_moderators(&self) -> Vec<&str> {
        let mut all: Vec<&str> = std::iter::once(&self.moderators)
            .chain(self.site.iter().map(|s| &s.moderators))
            .flatten()
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Every site's name, "default" first.
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(DEFAULT_SITE)
            .chain(self.site.iter().map(|s| s.name.as_str()))
            .collect()
    }
}

/// Checks a named moderator account's name (`kiln admin set-password
/// --moderator NAME`): 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn check_moderator_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if !ok {
        bail!("--moderator {name:?} is not a moderator name; use 1 to 64 letters, digits, `.`, `_`, `-` or `@`, e.g. \"bea\"");
    }
    Ok(())
}

/// Checks a site's `moderators`; `key` names the list in errors.
fn check_moderators(key: &str, moderators: &[String]) -> Result<()> {
    for (j, m) in moderators.iter().enumerate() {
        if m.trim().is_empty() || m.trim() != m {
            bail!("`{key}[{j}]` = {m:?} is not a moderator; name a moderator account (`kiln admin set-password --moderator NAME`) or an OpenID subject, without spaces around it");
        }
        if moderators[..j].contains(m) {
            bail!("`{key}[{j}]` = {m:?} is listed twice; list each moderator once");
        }
    }
    Ok(())
}

/// Checks a list of origins; `key` names it in errors.
fn check_origins(key: &str, origins: &[String]) -> Result<()> {
    for (i, origin) in origins.iter().enumerate() {
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
            bail!("`{key}[{i}]` = {origin:?} is not an origin; write it as scheme://host[:port] with no path, e.g. \"https://example.org\"");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{validation_error as error, Config};

    const TWO: &str = "[sites]\norigins = [\"https://a.example\"]\n\
        [[sites.site]]\nname = \"b\"\norigins = [\"https://b.example\"]\n\
        moderators = [\"bea\"]\n\
        [sites.site.moderation]\nenabled = false\n\
        [sites.site.mail]\nmoderators = [\"bea@b.example\"]\n";

    #[test]
    fn each_origin_resolves_to_its_site() {
        let config = Config::parse(TWO).unwrap();
        config.validate().unwrap();
        let site = |u: &str| {
            config
                .sites
                .site_of(&url::Url::parse(u).unwrap())
                .map(str::to_owned)
        };
        assert_eq!(site("https://a.example/about/").as_deref(), Some("default"));
        assert_eq!(site("https://B.example/about/").as_deref(), Some("b"));
        assert_eq!(site("https://c.example/about/"), None);
        assert_eq!(config.sites.names(), ["default", "b"]);
        assert!(!config.moderation_of("b").enabled);
        assert!(config.moderation_of("default").enabled);
        assert_eq!(config.mail_moderators_of("b"), ["bea@b.example"]);
        assert!(config.mail_moderators_of("default").is_empty());
        assert_eq!(config.sites.named("b").unwrap().moderators, ["bea"]);
        // The store's name for the default site is this one.
        assert_eq!(super::DEFAULT_SITE, crate::store::DEFAULT_SITE);
    }

    #[test]
    fn bad_sites_are_named_by_key() {
        let base = "[sites]\norigins = [\"https://a.example\"]\n[[sites.site]]\n";
        let cases = [
            ("name = \"B\"\norigins = [\"https://b.example\"]", "sites.site[0].name"),
            ("name = \"default\"\norigins = [\"https://b.example\"]", "sites.site[0].name"),
            ("name = \"b\"\norigins = []", "sites.site[0].origins"),
            ("name = \"b\"\norigins = [\"https://b.example/x\"]", "sites.site[0].origins[0]"),
            ("name = \"b\"\norigins = [\"https://A.example\"]", "sites.site[0].origins[0]"),
            (
                "name = \"b\"\norigins = [\"https://b.example\"]\n[sites.site.mail]\nfrom = \"nope\"",
                "sites.site[0].mail.from",
            ),
            (
                "name = \"b\"\norigins = [\"https://b.example\"]\n[[sites.site]]\nname = \"b\"\norigins = [\"https://c.example\"]",
                "sites.site[1].name",
            ),
            (
                "name = \"b\"\norigins = [\"https://b.example\"]\n[[sites.site]]\nname = \"c\"\norigins = [\"https://b.example\"]",
                "sites.site[1].origins[0]",
            ),
        ];
        for (rest, key) in cases {
            let err = error(&format!("{base}{rest}"));
            assert!(err.contains(&format!("`{key}")), "{rest}: {err}");
        }
        let err = Config::parse(&format!("{base}name = \"b\"\norigin = []")).unwrap_err();
        assert!(err.to_string().contains("origin"), "{err}");
    }

    #[test]
    fn a_sites_spam_rules_lay_over_the_top_levels() {
        let config = Config::parse(&format!(
            "[spam]\nmax_links = 5\nblock_words = [\"casino\"]\n{TWO}\
             [sites.site.spam]\nblock_words = [\"lottery\"]\n"
        ))
        .unwrap();
        config.validate().unwrap();
        let b = config.spam_of("b").unwrap();
        assert_eq!(
            (b.max_links, b.block_words.clone()),
            (5, vec!["lottery".to_owned()])
        );
        let a = config.spam_of("default").unwrap();
        assert_eq!(a.block_words, ["casino"]);

        let base = "[sites]\norigins = [\"https://a.example\"]\n[[sites.site]]\n\
            name = \"b\"\norigins = [\"https://b.example\"]\n[sites.site.spam]\n";
        for (rest, key) in [
            (
                "posts_per_ip = 1",
                "`sites.site[0].spam.posts_per_ip` holds for the whole receiver",
            ),
            (
                "block_words_action = \"shout\"",
                "`sites.site[0].spam.block_words_action`",
            ),
            (
                "max_link = 1",
                "`sites.site[0].spam`: unknown field `max_link`",
            ),
        ] {
            let err = error(&format!("{base}{rest}"));
            assert!(err.contains(key), "{rest}: {err}");
        }
    }

    #[test]
    fn site_moderators_see_only_the_sites_that_list_them() {
        let config = Config::parse(&format!(
            "{TWO}[[sites.site]]\nname = \"c\"\norigins = [\"https://c.example\"]\n\
             moderators = [\"bea\", \"cy\"]\n"
        ))
        .unwrap();
        config.validate().unwrap();
        let sites = &config.sites;
        assert_eq!(sites.moderated_by("bea").unwrap(), ["b", "c"]);
        assert_eq!(sites.moderated_by("cy").unwrap(), ["c"]);
        assert_eq!(
            sites.moderated_by("ann"),
            None,
            "listed nowhere: every site"
        );
        assert_eq!(sites.listed_moderators(), ["bea", "cy"]);

        // `[sites] moderators` is the default site's list.
        let config =
            Config::parse("[sites]\norigins = [\"https://a.example\"]\nmoderators = [\"ann\"]\n")
                .unwrap();
        config.validate().unwrap();
        assert_eq!(config.sites.moderated_by("ann").unwrap(), ["default"]);

        // Without sign-in, a listed name that is no account is unknown.
        let accounts = ["bea".to_owned()];
        assert_eq!(sites.unknown_moderators(&accounts, &config.auth), ["cy"]);
        let oidc = Config::parse("[auth]\nissuer = \"https://id.example.org\"\nclient_id = \"k\"")
            .unwrap();
        assert!(sites.unknown_moderators(&accounts, &oidc.auth).is_empty());
    }

    #[test]
    fn bad_moderator_lists_are_named_by_key() {
        let base = "[sites]\norigins = [\"https://a.example\"]\n";
        for (rest, key) in [
            ("moderators = [\"\"]", "`sites.moderators[0]`"),
            (
                "[[sites.site]]\nname = \"b\"\norigins = [\"https://b.example\"]\nmoderators = [\"bea\", \" bea\"]",
                "`sites.site[0].moderators[1]`",
            ),
            (
                "[[sites.site]]\nname = \"b\"\norigins = [\"https://b.example\"]\nmoderators = [\"bea\", \"bea\"]",
                "`sites.site[0].moderators[1]` = \"bea\" is listed twice",
            ),
        ] {
            let err = error(&format!("{base}{rest}"));
            assert!(err.contains(key), "{rest}: {err}");
        }
        assert!(super::check_moderator_name("bea.b-2@x_y").is_ok());
        for bad in ["", "bea b", "bé", &"x".repeat(65)] {
            let err = super::check_moderator_name(bad).unwrap_err().to_string();
            assert!(err.contains("--moderator"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_old_shape_is_the_default_site() {
        let config = Config::parse("[sites]\norigins = [\"https://a.example\"]").unwrap();
        config.validate().unwrap();
        assert!(config.sites.site.is_empty());
        assert_eq!(config.sites.names(), ["default"]);
        assert!(config.sites.knows("default") && !config.sites.knows("b"));
    }
}
