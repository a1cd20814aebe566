//! What a `Renderer` is configured with. Everything here shapes the output,
//! so all of it goes into the bake fingerprint (see `fingerprint`): the
//! templates directory through the templates it holds.

use std::path::PathBuf;

use serde::Serialize;

use super::FormLimits;

/// How threads are rendered; everything here is part of the bake fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderOptions {
    /// A directory whose templates replace the built-ins of the same name.
    /// Default: none.
    // Left out of the fingerprint: where the templates are changes nothing,
    // and what they say is hashed with the built-ins.
    #[serde(skip)]
    pub templates_dir: Option<PathBuf>,
    /// How many levels replies nest before they are listed flat. Default: 4.
    pub max_depth: usize,
    /// The receiver's public URL, without a trailing slash; forms post to
    /// `{receiver_url}/comments`. Default: empty (forms post to `/comments`).
    pub receiver_url: String,
    /// The `maxlength` of each form field; should match the receiver's limits.
    pub limits: FormLimits,
    /// Sign each thread's form with the receiver's key (`spam.form_token`).
    /// Default: none (the form's `token` field stays empty).
    pub form_tokens: Option<FormTokens>,
    /// Reference the optional script from every thread. Default: true.
    pub script: bool,
    /// A file under the output directory that bake writes the script to,
    /// so that threads load it from the site's own origin (see
    /// [`crate::bake`]): reading a page then sends nothing to the receiver.
    /// Empty, and always with `--fragments`, threads load
    /// `{receiver_url}/kiln.js`. Default: empty.
    pub script_file: String,
    /// Where threads load the script from when bake writes it into the
    /// site: `script_file` under the base path of the site's URL. Bake sets
    /// it. Default: empty (`{receiver_url}/kiln.js`).
    pub script_url: String,
    /// Let the script ask the receiver for comments approved after the bake
    /// (`/api/comments`, once a thread is on screen) and for fresh counts
    /// on list pages (`/api/counts`). Every reader who scrolls to a thread
    /// then tells the receiver their address and the page they read.
    /// Default: false (nothing reaches the receiver until the reader uses
    /// the form).
    pub live: bool,
    /// Where threads link their stylesheet from (`<link rel="stylesheet">`)
    /// instead of carrying it in a `<style>` element, which a strict
    /// Content-Security-Policy refuses. Bake sets it when it writes the
    /// stylesheet into the site ([`crate::BakeOptions::stylesheet`]).
    /// Default: empty (a `<style>` element in each thread).
    pub stylesheet_url: String,
    /// Show each comment's avatar, an identicon drawn inline from its key
    /// (see `avatar`). Default: true.
    pub avatars: bool,
    /// Show Gravatar's picture instead for comments that carry a Gravatar
    /// hash: a request to gravatar.com from every reader. Default: false.
    pub gravatar: bool,
    /// Whose colours threads wear (`bake.theme`). Default: [`Theme::Auto`].
    pub theme: Theme,
    /// Offer the "email me when someone replies" box: the receiver sends
    /// mail. Bake learns it from its source (see [`crate::Source::mail`]).
    /// Default: true.
    pub offer_notify: bool,
    /// Put a like button with its count under each comment, a form posting
    /// to `{receiver_url}/react` (`reactions.enabled`). Default: false.
    pub reactions: bool,
    /// Show a "Sign in" link with the form, to the receiver's
    /// `/auth/login?return=PAGE` (the receiver's `[auth]` names an OpenID
    /// provider). Default: false.
    pub signin: bool,
    /// The language of threads on pages that do not say theirs with
    /// `<html lang>`, and of the receiver's pages when a form does not say
    /// it (`bake.lang`; see `crate::i18n`). Default: `en`.
    pub lang: String,
}

/// How a thread picks its colours. The thread is part of someone else's
/// page, so by default it follows that page, never the reader's system
/// setting: a light page stays light whatever `prefers-color-scheme` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// The page's text colour, link colours and `color-scheme`, with the
    /// tints and borders kiln draws derived from the text colour.
    #[default]
    Auto,
    /// kiln's own light panel, whatever the page looks like.
    Light,
    /// kiln's own dark panel, whatever the page looks like.
    Dark,
    /// No colour of kiln's own at all: buttons, fields and borders are what
    /// the site's stylesheet makes them.
    Inherit,
}

impl Theme {
    /// The names `bake.theme` accepts, for messages.
    pub const NAMES: &'static str = "\"auto\", \"light\", \"dark\" or \"inherit\"";

    /// The value as written in configuration and in the thread's class.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Inherit => "inherit",
        }
    }
}

/// What a signed form token is made with: the receiver's key and the
/// expiry every form of this bake gets. A token binds one thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormTokens {
    #[serde(serialize_with = "super::fingerprint::key_mac")]
    pub signer: crate::signing::Signer,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The purpose form tokens are signed under (see `signing`).
pub const FORM_TOKEN_PURPOSE: &str = "form";

impl FormTokens {
    /// The token for `thread`'s form.
    pub fn token(&self, thread: &str) -> String {
        self.signer
            .sign(FORM_TOKEN_PURPOSE, thread, Some(self.expires_at))
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            templates_dir: None,
            max_depth: 4,
            receiver_url: String::new(),
            limits: FormLimits::default(),
            form_tokens: None,
            script: true,
            script_file: String::new(),
            script_url: String::new(),
            live: false,
            stylesheet_url: String::new(),
            avatars: true,
            gravatar: false,
            theme: Theme::Auto,
            offer_notify: true,
            reactions: false,
            signin: false,
            lang: crate::i18n::DEFAULT.to_owned(),
        }
    }
}
