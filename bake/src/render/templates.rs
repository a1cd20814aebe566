//! The one table of built-in templates, which bake, the receiver's pages,
//! the admin page, mail and the script all take theirs from, and how a set
//! of them is loaded: the built-ins first, then the site's `templates.dir`
//! replacing any of the same name where the caller allows it. Every set
//! escapes HTML the same way (see `escape`).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use tera::Tera;

use super::escape::escape_html;

/// Embeds each named file of `templates/` under its name.
macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

/// Every file in `templates/`, by name, embedded so kiln needs no files
/// beside its binary: bake's fragments, the receiver's pages, the admin
/// page, mail, and the optional script. Each caller takes the ones it
/// needs with [`builtins`] or [`builtin`], and says itself whether
/// `templates.dir` may replace them.
pub const BUILTINS: &[(&str, &str)] = embed![
    "admin.css",
    "admin.html",
    "admin.js",
    "admin_edit.html",
    "admin_import.html",
    "admin_login.html",
    "comment.html",
    "count.html",
    "edit.html",
    "error.html",
    "form.html",
    "form_error.html",
    "kiln.js",
    "mail_link.html",
    "mail_message.html",
    "page.html",
    "received.html",
    "reply.html",
    "style.css",
    "thread.html",
];

/// The built-in file named `name`, if there is one.
pub const fn builtin(name: &str) -> Option<&'static str> {
    let mut i = 0;
    while i < BUILTINS.len() {
        if same(BUILTINS[i].0.as_bytes(), name.as_bytes()) {
            return Some(BUILTINS[i].1);
        }
        i += 1;
    }
    None
}

/// The named built-ins as (name, text), for [`load_templates`]. Meant for a
/// `const` item, where a name that is not built in fails the build rather
/// than a run.
pub const fn builtins<const N: usize>(
    names: [&'static str; N],
) -> [(&'static str, &'static str); N] {
    let mut set = [("", ""); N];
    let mut i = 0;
    while i < N {
        set[i] = match builtin(names[i]) {
            Some(text) => (names[i], text),
            None => panic!("not a built-in template"),
        };
        i += 1;
    }
    set
}

/// `a == b`, which a `const fn` cannot yet say for slices.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// What a `Renderer` loads: the fragments bake places and the receiver's
/// pages, with the templates they include.
pub(super) const RENDERER: &[(&str, &str)] = &builtins([
    "thread.html",
    "comment.html",
    "form.html",
    "count.html",
    "page.html",
    "form_error.html",
    "received.html",
    "reply.html",
    "edit.html",
    "error.html",
    "style.css",
]);

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
    // `t(key=…, lang=…)`: every template's words (see `crate::i18n`).
    crate::i18n::register(&mut tera);
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
pub fn tera_chain(err: &tera::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_templates_is_built_in_once() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort();
        let table: Vec<(String, String)> = BUILTINS
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        assert_eq!(table, files, "BUILTINS lists templates/, sorted by name");
    }

    #[test]
    fn a_builtin_is_found_by_its_name_only() {
        let at = BUILTINS
            .iter()
            .position(|(name, _)| *name == "kiln.js")
            .unwrap();
        assert_eq!(builtin("kiln.js"), Some(BUILTINS[at].1));
        for missing in ["", "kiln", "kiln.jss", "KILN.JS", "../kiln.js"] {
            assert_eq!(builtin(missing), None, "{missing}");
        }
        let [(name, text)] = builtins(["style.css"]);
        assert_eq!((name, Some(text)), ("style.css", builtin("style.css")));
    }

    #[test]
    fn a_file_in_the_directory_replaces_the_builtin_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("count.html"), "{{ count }} notes").unwrap();
        std::fs::write(dir.path().join("other.html"), "never loaded").unwrap();
        let set = builtins(["count.html", "style.css"]);
        let tera = load_templates(&set, Some(dir.path())).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("count", &3);
        ctx.insert("lang", "en");
        assert_eq!(tera.render("count.html", &ctx).unwrap(), "3 notes");
        assert!(tera.get_template("style.css").is_ok());
        assert!(tera.get_template("other.html").is_err());
        let builtin = load_templates(&set, None).unwrap();
        assert_ne!(builtin.render("count.html", &ctx).unwrap(), "3 notes");
    }
}
