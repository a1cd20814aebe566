//! The built-in templates and how a template set is loaded: the built-ins
//! first, then the site's `templates.dir` replacing any of the same name.
//! Every set escapes HTML the same way (see `escape`).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use tera::Tera;

use super::escape::escape_html;

/// The built-in templates, embedded so a bare `kiln bake` needs no files.
pub(super) const BUILTINS: &[(&str, &str)] = &[
    (
        "thread.html",
        include_str!("../../../templates/thread.html"),
    ),
    (
        "comment.html",
        include_str!("../../../templates/comment.html"),
    ),
    ("form.html", include_str!("../../../templates/form.html")),
    ("count.html", include_str!("../../../templates/count.html")),
    ("page.html", include_str!("../../../templates/page.html")),
    (
        "form_error.html",
        include_str!("../../../templates/form_error.html"),
    ),
    (
        "received.html",
        include_str!("../../../templates/received.html"),
    ),
    ("reply.html", include_str!("../../../templates/reply.html")),
    ("edit.html", include_str!("../../../templates/edit.html")),
    ("error.html", include_str!("../../../templates/error.html")),
    ("style.css", include_str!("../../../templates/style.css")),
];

/// The templates a bake renders, with those they include. The fast path
/// stands in for them when the site overrides none.
pub(super) const FRAGMENT_TEMPLATES: &[&str] = &[
    "thread.html",
    "comment.html",
    "form.html",
    "count.html",
    "style.css",
];

/// Loads a set of built-in templates (name, text), each replaced by a file
/// of the same name in `dir` when there is one: how every kiln template set
/// is loaded (bake's, the receiver's pages, the admin page's, mail's).
/// Escaping is HTML's five characters, like every kiln template expects.
pub fn load_templates(builtins: &[(&str, &str)], dir: Option<&Path>) -> Result<Tera> {
    let mut sources: Vec<(String, String)> = Vec::with_capacity(builtins.len());
    for (name, builtin) in builtins {
        let text = match dir.map(|d| d.join(name)) {
            Some(path) if path.is_file() => std::fs::read_to_string(&path)
                .with_context(|| format!("reading template {}", path.display()))?,
            _ => (*builtin).to_owned(),
        };
        sources.push(((*name).to_owned(), text));
    }
    build_tera(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| anyhow::anyhow!(tera_chain(&e)))
}

/// A tera instance holding `templates` (name, text), escaping HTML the way
/// every kiln template expects.
pub(super) fn build_tera<'a>(
    templates: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    // Tera's default also escapes `/`, which makes every URL unreadable
    // (`https:&#x2F;&#x2F;`); these five are what HTML needs.
    tera.set_escape_fn(escape_html);
    tera.add_raw_templates(templates)?;
    Ok(tera)
}

/// Every `.html`/`.css` file under `dir`, named by its `/`-separated relative path.
pub(super) fn read_template_dir(dir: &Path) -> Result<Vec<(String, String)>> {
    if !dir.is_dir() {
        bail!("template directory {} does not exist", dir.display());
    }
    let mut templates = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry =
            entry.with_context(|| format!("reading template directory {}", dir.display()))?;
        let path = entry.path();
        let wanted = entry.file_type().is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("html" | "css")
            );
        if !wanted {
            continue;
        }
        let name = path
            .strip_prefix(dir)
            .expect("walkdir stays under its root")
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<Vec<_>>>()
            .with_context(|| format!("template name {} is not UTF-8", path.display()))?
            .join("/");
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading template {}", path.display()))?;
        templates.push((name, text));
    }
    Ok(templates)
}

/// Tera's own message is terse ("Failed to render 'x'"); the cause says where.
pub(super) fn tera_chain(err: &tera::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
