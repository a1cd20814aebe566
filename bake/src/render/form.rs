//! The reply form (`form.html`): baked under every thread, and shown again
//! by the receiver with the reader's values and errors, so one context
//! serves both.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use tera::Context;

use super::Renderer;

/// What the reader typed, echoed back into the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FormValues {
    pub name: String,
    pub email: String,
    pub website: String,
    pub text: String,
    /// The "email me about replies" box was ticked.
    pub notify: bool,
}

/// Maximum lengths, in characters, of the form fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FormLimits {
    /// Default: 100.
    pub name: usize,
    /// Default: 254 (the longest valid address).
    pub email: usize,
    /// Default: 500.
    pub website: usize,
    /// Default: 10000.
    pub text: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        FormLimits {
            name: 100,
            email: 254,
            website: 500,
            text: 10_000,
        }
    }
}

/// Everything `form.html` needs. The same form is baked into pages and shown
/// again by the receiver when a submission has errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormContext {
    /// Where the form posts: `{receiver_url}/comments`.
    pub action: String,
    pub thread: String,
    /// The page the comment is posted from (hidden field `url`).
    pub url: String,
    /// The page's title (hidden field `title`), so moderators see which
    /// page it is; empty when unknown.
    pub title: String,
    /// The comment being answered, if any.
    pub parent: Option<i64>,
    pub values: FormValues,
    /// Field name (`name`, `email`, `website`, `text`, ...) → message.
    pub errors: BTreeMap<String, String>,
    pub limits: FormLimits,
    /// Prefix for element ids, unique within a page (e.g. `kiln-1`).
    pub id_prefix: String,
    /// The signed form token (hidden field `token`); empty when forms are
    /// not signed.
    pub token: String,
    /// Show the "email me when someone replies" box
    /// ([`super::RenderOptions::offer_notify`]).
    pub offer_notify: bool,
    /// `{receiver_url}/auth/login?return=` when sign-in is on
    /// ([`super::RenderOptions::signin`]); the template puts the page's URL
    /// after it. Empty: no sign-in link.
    pub signin_url: String,
    /// The locale of the form's words (`i18n::LOCALES`), also sent as its
    /// hidden `lang` field so the receiver answers in it. Default:
    /// `bake.lang`, or English.
    pub lang: String,
}

impl Renderer {
    /// `{receiver_url}/comments`.
    pub fn form_action(&self) -> String {
        format!("{}/comments", self.opts.receiver_url)
    }

    /// An empty form for a thread, with this renderer's action and limits.
    pub fn form_context(&self, thread: &str, url: &str, parent: Option<i64>) -> FormContext {
        FormContext {
            action: self.form_action(),
            thread: thread.to_owned(),
            url: url.to_owned(),
            title: String::new(),
            parent,
            values: FormValues::default(),
            errors: BTreeMap::new(),
            limits: self.opts.limits,
            id_prefix: "kiln".to_owned(),
            token: self
                .opts
                .form_tokens
                .as_ref()
                .map(|t| t.token(thread))
                .unwrap_or_default(),
            offer_notify: self.opts.offer_notify,
            signin_url: if self.opts.signin {
                format!("{}/auth/login?return=", self.opts.receiver_url)
            } else {
                String::new()
            },
            lang: crate::i18n::locale(&self.opts.lang).to_owned(),
        }
    }

    /// The reply form on its own (`form.html`).
    pub fn render_form(&self, form: &FormContext) -> Result<String> {
        self.render_fragment("form.html", &Context::from_serialize(form)?)
    }
}
