//! Turns threads into HTML with the tera templates in `templates/`. Bake
//! places what the `Renderer` makes in pages, and the receiver renders its
//! own pages with the same `Renderer`, so a site that overrides a template
//! sees it everywhere.
//!
//! The parts: `templates` (the built-ins and how a set is loaded),
//! `options`, `thread` (the walk that nests comments), `comment` (one
//! comment's view), `fast` (skeletons that stand in for tera), `form`,
//! `pages` (the receiver's), `escape`, `fingerprint` (what the bake state
//! compares).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use tera::{Context, Tera};

use crate::markdown;

mod comment;
mod escape;
mod fast;
mod fingerprint;
mod form;
mod options;
mod pages;
pub mod templates;
mod thread;

pub use comment::anchor as comment_anchor;
pub use escape::{escape_html, http_url};
use fast::Fast;
pub(crate) use fingerprint::hex;
pub use form::{FormContext, FormLimits, FormValues};
pub use options::{FormTokens, RenderOptions, Theme, FORM_TOKEN_PURPOSE};
pub use pages::{BackLink, EditPage, EditValues};
pub use templates::load_templates;
use templates::{build_tera, read_template_dir, tera_chain, FRAGMENT_TEMPLATES, RENDERER};
pub use thread::ThreadArgs;

/// Renders threads, comments, counts and the receiver's pages.
#[derive(Debug)]
pub struct Renderer {
    /// Every template, the site's included, when there is a template
    /// directory; otherwise only the built-in fragments a bake renders.
    tera: Tera,
    /// Without a template directory, the built-in receiver pages are parsed
    /// on first use: a bake never needs them, and parsing costs more than
    /// a re-bake after one approval does otherwise.
    pages: Option<OnceLock<Tera>>,
    opts: RenderOptions,
    fingerprint: String,
    /// The built-in thread, comment and form templates pre-rendered, when
    /// the site overrides none of them (see `skeleton`): one set per locale
    /// (`i18n::LOCALES`, same order), each made on first use.
    fast: Option<Vec<OnceLock<Fast>>>,
}

impl Renderer {
    pub fn new(opts: RenderOptions) -> Result<Self> {
        let mut sources: BTreeMap<String, String> = RENDERER
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        let mut overridden = BTreeSet::new();
        if let Some(dir) = &opts.templates_dir {
            for (name, text) in read_template_dir(dir)? {
                overridden.insert(name.clone());
                sources.insert(name, text);
            }
        }
        let (tera, pages) = match &opts.templates_dir {
            Some(dir) => {
                let all = sources.iter().map(|(n, t)| (n.as_str(), t.as_str()));
                let tera = build_tera(all)
                    .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
                    .with_context(|| {
                        format!("loading templates (with overrides from {})", dir.display())
                    })?;
                (tera, None)
            }
            None => {
                let fragments = RENDERER
                    .iter()
                    .filter(|(name, _)| FRAGMENT_TEMPLATES.contains(name))
                    .copied();
                let tera = build_tera(fragments)
                    .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
                    .context("loading the built-in templates")?;
                (tera, Some(OnceLock::new()))
            }
        };
        let fingerprint = fingerprint::fingerprint(&sources, &opts)?;
        let mut renderer = Renderer {
            tera,
            pages,
            opts,
            fingerprint,
            fast: None,
        };
        if !FRAGMENT_TEMPLATES
            .iter()
            .any(|name| overridden.contains(*name))
        {
            // English now, so that a broken built-in fails here; the other
            // languages when a page first asks for them.
            let english = OnceLock::new();
            let _ = english.set(Fast::new(&renderer, crate::i18n::DEFAULT)?);
            let mut sets = vec![english];
            sets.resize_with(crate::i18n::LOCALES.len(), OnceLock::new);
            renderer.fast = Some(sets);
        }
        Ok(renderer)
    }

    /// The fast path's skeletons for `lang` (a locale of `i18n::LOCALES`),
    /// made now if this is the first thread in it; `None` when the site
    /// overrides a fragment template.
    fn fast(&self, lang: &str) -> Result<Option<&Fast>> {
        let Some(sets) = &self.fast else {
            return Ok(None);
        };
        let at = crate::i18n::LOCALES
            .iter()
            .position(|l| *l == lang)
            .unwrap_or(0);
        if let Some(fast) = sets[at].get() {
            return Ok(Some(fast));
        }
        let fast = Fast::new(self, crate::i18n::LOCALES[at])?;
        // Another thread may have made it meanwhile: either is the same.
        let _ = sets[at].set(fast);
        Ok(sets[at].get())
    }

    /// The locale a page's `<html lang>` (or none) gives its threads:
    /// the page's own language when kiln has it, else `bake.lang`, else
    /// English.
    pub fn lang_for(&self, page_lang: Option<&str>) -> &'static str {
        page_lang
            .and_then(crate::i18n::negotiate)
            .unwrap_or_else(|| crate::i18n::locale(&self.opts.lang))
    }

    pub fn options(&self) -> &RenderOptions {
        &self.opts
    }

    /// A hash of everything that shapes the output: kiln's version, the
    /// templates' text and the render options.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Markdown to sanitized HTML (see `markdown`).
    pub fn markdown(text: &str) -> String {
        markdown::to_html(text)
    }

    /// Where threads load the script from: the site's copy
    /// ([`RenderOptions::script_url`]), else `{receiver_url}/kiln.js`; empty
    /// when the script is off.
    pub fn script_url(&self) -> String {
        match (self.opts.script, self.opts.script_url.is_empty()) {
            (false, _) => String::new(),
            (true, false) => self.opts.script_url.clone(),
            (true, true) => format!("{}/kiln.js", self.opts.receiver_url),
        }
    }

    /// The receiver's URL, which the script asks for newer comments and
    /// counts ([`RenderOptions::live`]), or empty when it asks nothing
    /// until the reader uses the form.
    pub fn live_url(&self) -> &str {
        if self.opts.script && self.opts.live {
            &self.opts.receiver_url
        } else {
            ""
        }
    }

    /// The optional script, as bake writes it into the site.
    pub fn script() -> &'static str {
        templates::builtin("kiln.js").expect("kiln.js is built in")
    }

    /// The threads' stylesheet (`style.css`, the site's if it overrides it),
    /// as bake writes it for [`RenderOptions::stylesheet_url`].
    pub fn render_stylesheet(&self) -> Result<String> {
        let mut css = self.render_fragment("style.css", &Context::new())?;
        css.push('\n');
        Ok(css)
    }

    /// A fragment or page with the whitespace around it (doc comments, the
    /// final newline of the file) dropped, so placeholders stay tidy and
    /// pages start with their doctype.
    fn render_fragment(&self, name: &str, ctx: &Context) -> Result<String> {
        let mut html = self.render(name, ctx)?;
        html.truncate(html.trim_end().len());
        let start = html.len() - html.trim_start().len();
        html.drain(..start);
        Ok(html)
    }

    fn render(&self, name: &str, ctx: &Context) -> Result<String> {
        let tera = match &self.pages {
            Some(pages) if !FRAGMENT_TEMPLATES.contains(&name) => pages.get_or_init(|| {
                // Tested, like every built-in: `every_builtin_template_renders`.
                build_tera(RENDERER.iter().copied()).expect("the built-in templates parse")
            }),
            _ => &self.tera,
        };
        tera.render(name, ctx)
            .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
            .with_context(|| format!("rendering template {name}"))
    }
}

#[cfg(test)]
mod tests;
