//! `[bake]`: how `kiln bake` (and the receiver's in-place bakes) turn
//! comments into HTML: where comments come from, the site's URL, nesting,
//! the optional script, the stylesheet, avatars and the colour theme.

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
    /// Whose colours baked threads wear: "auto" follows the page they are
    /// baked into (its text and link colours and its `color-scheme`, with
    /// kiln's tints and borders drawn from the text colour), never the
    /// reader's system setting; "light" and "dark" draw kiln's own panel
    /// whatever the page looks like; "inherit" sets no colour at all, for
    /// sites that style the thread themselves. Default: "auto".
    #[serde(deserialize_with = "theme")]
    pub theme: kiln_bake::render::Theme,
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
            stylesheet: "kiln.css".into(),
            avatars: true,
            theme: kiln_bake::render::Theme::Auto,
        }
    }
}
