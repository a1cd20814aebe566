//! `[bake]`: how `kiln bake` (and the receiver's in-place bakes) turn
//! comments into HTML: where comments come from, the site's URL, nesting,
//! the optional script and what it may ask, the stylesheet, avatars, the
//! colour theme and the Atom feeds.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use super::check_base_url;

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
    /// Load the optional script from baked threads: posting without
    /// leaving the page, replies in place, preview, and the reader's own
    /// edit and delete buttons. Pages work fully without it. Default: true.
    pub script: bool,
    /// A file under the output directory that bake writes the script to;
    /// threads load it from there, from the site's own origin and cached
    /// with it, so nothing reaches the receiver until a reader uses the
    /// form. Empty loads the receiver's `/kiln.js` instead: one request to
    /// the receiver, with the reader's address, for every page view.
    /// `--fragments` always does. Default: `kiln.js`.
    pub script_file: String,
    /// Let the script ask the receiver for comments approved since the
    /// bake, once a thread scrolls into view, and for fresh counts on list
    /// pages. The privacy cost: every reader who reaches a thread (or opens
    /// a list page) then tells the receiver their address and which page
    /// they read, whether or not they comment. Off, comments approved
    /// since the bake show after the next bake. Default: false.
    pub live: bool,
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
    /// Whose colours baked threads wear: "auto" follows the page they are
    /// baked into (its text and link colours and its `color-scheme`, with
    /// kiln's tints and borders drawn from the text colour), never the
    /// reader's system setting; "light" and "dark" draw kiln's own panel
    /// whatever the page looks like; "inherit" sets no colour at all, for
    /// sites that style the thread themselves. Default: "auto".
    #[serde(deserialize_with = "theme")]
    pub theme: kiln_bake::render::Theme,
    /// Write Atom feeds into the site: one per thread, linked from the
    /// thread's page with `<link rel="alternate">`, and `latest.xml`, the
    /// latest comments across threads. Off by default because they are new
    /// files in someone's site, and a feed of comments is not something
    /// every site wants to publish. Needs a site URL (`site_url`, or
    /// `sites.origins`): feeds carry absolute URLs. Default: false.
    pub feeds: bool,
    /// The directory under the output directory that the feeds are written
    /// to. Default: `comments/feeds`.
    pub feeds_dir: String,
    /// Whose comments `kiln bake` and the in-place bakes put into the site:
    /// the `name` of a `[[sites.site]]`, or "default" for `sites.origins`.
    /// `kiln bake --site` overrides it. Default: "default".
    pub site: String,
    /// The language of threads on pages whose `<html lang>` names none
    /// that kiln has, and of the receiver's pages for a form that says
    /// none: one of `kiln_bake::i18n::LOCALES` (docs/languages.md).
    /// Default: "en".
    pub lang: String,
}

/// `bake.theme`, with an error that names the key and the allowed values
/// (serde's own would name the enum's variants in its own words).
fn theme<'de, D: serde::Deserializer<'de>>(d: D) -> Result<kiln_bake::render::Theme, D::Error> {
    use kiln_bake::render::Theme;
    let name = String::deserialize(d)?;
    [Theme::Auto, Theme::Light, Theme::Dark, Theme::Inherit]
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`bake.theme` = {name:?} is not one of {}",
                Theme::NAMES
            ))
        })
}

impl Bake {
    /// `stylesheet`, if set.
    pub fn stylesheet_file(&self) -> Option<PathBuf> {
        (!self.stylesheet.is_empty()).then(|| PathBuf::from(&self.stylesheet))
    }

    /// Where bake writes feeds, if they are on.
    pub fn feeds_dir(&self) -> Option<PathBuf> {
        self.feeds.then(|| PathBuf::from(&self.feeds_dir))
    }

    pub fn validate(&self) -> Result<()> {
        if !self.site_url.is_empty() {
            check_base_url("bake.site_url", &self.site_url)?;
        }
        if !(1..=32).contains(&self.max_depth) {
            bail!("`bake.max_depth` must be between 1 and 32");
        }
        if let Some(file) = self.stylesheet_file() {
            kiln_bake::stylesheet_path(&file).map_err(|e| anyhow!("`bake.stylesheet`: {e}"))?;
        }
        if !self.script_file.is_empty() {
            kiln_bake::site_file_path(std::path::Path::new(&self.script_file), ".js")
                .map_err(|e| anyhow!("`bake.script_file`: {e}"))?;
        }
        kiln_bake::feeds_dir_path(std::path::Path::new(&self.feeds_dir))
            .map_err(|e| anyhow!("`bake.feeds_dir`: {e}"))?;
        if kiln_bake::i18n::negotiate(&self.lang).is_none() {
            bail!(
                "`bake.lang` = {:?} is not a language kiln has; use one of {}",
                self.lang,
                kiln_bake::i18n::LOCALES.join(", ")
            );
        }
        Ok(())
    }
}

impl Default for Bake {
    fn default() -> Self {
        Bake {
            from: String::new(),
            site_url: String::new(),
            max_depth: 4,
            script: true,
            script_file: "kiln.js".into(),
            live: false,
            stylesheet: "kiln.css".into(),
            avatars: true,
            theme: kiln_bake::render::Theme::Auto,
            feeds: false,
            feeds_dir: "comments/feeds".into(),
            site: super::DEFAULT_SITE.into(),
            lang: kiln_bake::i18n::DEFAULT.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_opt_in_and_their_directory_stays_in_the_site() {
        let bake = Bake::default();
        assert_eq!(bake.feeds_dir(), None);
        let on = Bake {
            feeds: true,
            ..Bake::default()
        };
        assert_eq!(on.feeds_dir(), Some(PathBuf::from("comments/feeds")));
        for bad in ["../feeds", "/feeds", "", "a b"] {
            let err = Bake {
                feeds_dir: bad.into(),
                ..on.clone()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(err.starts_with("`bake.feeds_dir`"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_script_is_the_sites_own_file_and_live_top_up_is_opt_in() {
        let bake = Bake::default();
        assert_eq!((bake.script_file.as_str(), bake.live), ("kiln.js", false));
        assert!(bake.validate().is_ok());
        for bad in ["../kiln.js", "/kiln.js", "kiln.css", "a b.js"] {
            let err = Bake {
                script_file: bad.into(),
                ..Bake::default()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(err.starts_with("`bake.script_file`"), "{bad}: {err}");
        }
        // Empty loads the receiver's copy.
        let receivers = Bake {
            script_file: String::new(),
            ..Bake::default()
        };
        assert!(receivers.validate().is_ok());
    }
}
