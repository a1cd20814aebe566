//! `kiln init`: sets kiln up in a site the way its generator adds things. It
//! writes a commented `kiln.toml`, copies the adapter's files (embedded in the
//! binary from `ssg-adapters/`) into the site, and prints exactly what the
//! author still has to add where. It never overwrites a file that differs
//! from what it would write unless told to with `--force`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

use crate::cli::InitArgs;

/// The static site generators kiln has adapters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ssg {
    Hugo,
    Jekyll,
    Pelican,
    Astro,
}

/// One adapter: what `init` writes and says for its SSG.
struct Adapter {
    /// Files whose presence in a site directory betrays the SSG.
    markers: &'static [&'static str],
    /// The SSG's output directory, relative to the site.
    output_dir: &'static str,
    /// (path in the site, contents) of each file put in place.
    files: &'static [(&'static str, &'static str)],
    /// What the author does next, after the files are in place.
    next_steps: &'static str,
}

fn adapter(ssg: Ssg) -> &'static Adapter {
    match ssg {
        Ssg::Hugo => &HUGO,
        Ssg::Jekyll => &JEKYLL,
        Ssg::Pelican => &PELICAN,
        Ssg::Astro => &ASTRO,
    }
}

const ALL: [Ssg; 4] = [Ssg::Hugo, Ssg::Jekyll, Ssg::Pelican, Ssg::Astro];

static HUGO: Adapter = Adapter {
    markers: &["hugo.toml", "hugo.yaml", "hugo.json", "config.toml"],
    output_dir: "public",
    files: &[
        (
            "themes/kiln/layouts/partials/kiln-comments.html",
            include_str!("../ssg-adapters/hugo/layouts/partials/kiln-comments.html"),
        ),
        (
            "themes/kiln/layouts/partials/kiln-count.html",
            include_str!("../ssg-adapters/hugo/layouts/partials/kiln-count.html"),
        ),
        (
            "themes/kiln/layouts/partials/kiln-thread-id.html",
            include_str!("../ssg-adapters/hugo/layouts/partials/kiln-thread-id.html"),
        ),
        (
            "themes/kiln/hugo.toml",
            include_str!("../ssg-adapters/hugo/hugo.toml"),
        ),
    ],
    next_steps: r#"
Next:
  1. Put kiln in front of your theme in hugo.toml:
       theme = ["kiln", "your-theme"]      # was: theme = "your-theme"
     (with Hugo Modules: a [[module.imports]] path = "kiln" before your theme)
  2. Put {{ partial "kiln-comments.html" . }} where comments belong: at the end
     of your theme's single-page layout, copied to the same path in your site:
     layouts/page.html or layouts/single.html (Hugo 0.146+ themes, e.g. from
     `hugo new theme`), or layouts/_default/single.html (older themes).
  3. On list pages, inside {{ range .Pages }}: {{ partial "kiln-count.html" . }}
  4. `comments: false` in front matter gives a page no thread (cascade works);
     `kiln_thread: OLD-ID` keeps a moved page's comments.
  5. Build with:  hugo && kiln bake public/
     For `hugo server`, first run `kiln bake --fragments assets/kiln` (again
     after approvals). Add assets/kiln/ to .gitignore.
"#,
};

static JEKYLL: Adapter = Adapter {
    markers: &["_config.yml", "_config.yaml", "_config.toml"],
    output_dir: "_site",
    files: &[(
        "_plugins/jekyll-kiln.rb",
        include_str!("../ssg-adapters/jekyll/lib/jekyll-kiln.rb"),
    )],
    next_steps: r#"
Next:
  1. Put {% kiln_comments %} where comments belong in your post layout
     (_layouts/post.html). A theme gem's layout is overridden by copying it
     into _layouts/ first, e.g. for minima:
       cp "$(bundle info --path minima)/_layouts/post.html" _layouts/
  2. Put {% kiln_count post %} inside {% for post in site.posts %} loops on
     list pages.
  3. `comments: false` in front matter gives a page no thread;
     `kiln_thread: OLD-ID` keeps a moved page's comments.
  4. `jekyll build` and `jekyll serve` now run `kiln bake _site` after every
     build. Settings go under `kiln:` in _config.yml (bake, bin, args,
     strict, fragments).
  GitHub Pages' safe mode runs no plugins: use the includes and the CI recipe
  in kiln's ssg-adapters/jekyll/README.md instead.
"#,
};

static PELICAN: Adapter = Adapter {
    markers: &["pelicanconf.py"],
    output_dir: "output",
    files: &[
        (
            "plugins/kiln/__init__.py",
            include_str!("../ssg-adapters/pelican/pelican/plugins/kiln/__init__.py"),
        ),
        (
            "plugins/kiln/bake.py",
            include_str!("../ssg-adapters/pelican/pelican/plugins/kiln/bake.py"),
        ),
        (
            "plugins/kiln/placeholders.py",
            include_str!("../ssg-adapters/pelican/pelican/plugins/kiln/placeholders.py"),
        ),
    ],
    next_steps: r#"
Next:
  1. Load the plugin. Add to pelicanconf.py:
       PLUGIN_PATHS = ["plugins"]
       PLUGINS = ["kiln"]      # once PLUGINS is set, list every plugin you use
     (Or delete plugins/kiln and `pip install` kiln's ssg-adapters/pelican into
     the environment that runs pelican: namespace plugins load by themselves.)
  2. In your theme: {{ kiln_comments(article) }} at the end of article.html,
     {{ kiln_comments(page) }} in page.html, {{ kiln_count(article) }} beside
     each article on list pages. For a theme you did not write, set
     THEME_TEMPLATES_OVERRIDES = ["theme-overrides"] and extend it, e.g.
     theme-overrides/article.html:
       {% extends "!theme/article.html" %}
       {% block content %}{{ super() }}{{ kiln_comments(article) }}{% endblock %}
  3. `Comments: false` in metadata gives a page no thread; `kiln_thread: ID`
     keeps a moved page's comments. A site published under a path sets
     KILN_BASE_PATH = "/blog" so local builds use the published thread ids.
  4. `pelican` now runs `kiln bake output` after every build (KILN_BAKE = False
     turns that off).
"#,
};

static ASTRO: Adapter = Adapter {
    markers: &[
        "astro.config.mjs",
        "astro.config.ts",
        "astro.config.js",
        "astro.config.mts",
    ],
    output_dir: "dist",
    files: &[
        (
            "kiln-astro/package.json",
            include_str!("../ssg-adapters/astro/package.json"),
        ),
        (
            "kiln-astro/src/index.js",
            include_str!("../ssg-adapters/astro/src/index.js"),
        ),
        (
            "kiln-astro/src/index.d.ts",
            include_str!("../ssg-adapters/astro/src/index.d.ts"),
        ),
        (
            "kiln-astro/src/thread.js",
            include_str!("../ssg-adapters/astro/src/thread.js"),
        ),
        (
            "kiln-astro/src/thread.d.ts",
            include_str!("../ssg-adapters/astro/src/thread.d.ts"),
        ),
        (
            "kiln-astro/src/paths.js",
            include_str!("../ssg-adapters/astro/src/paths.js"),
        ),
        (
            "kiln-astro/src/paths.d.ts",
            include_str!("../ssg-adapters/astro/src/paths.d.ts"),
        ),
        (
            "kiln-astro/src/virtual.d.ts",
            include_str!("../ssg-adapters/astro/src/virtual.d.ts"),
        ),
        (
            "kiln-astro/src/KilnComments.astro",
            include_str!("../ssg-adapters/astro/src/KilnComments.astro"),
        ),
        (
            "kiln-astro/src/KilnCount.astro",
            include_str!("../ssg-adapters/astro/src/KilnCount.astro"),
        ),
    ],
    next_steps: r#"
Next:
  1. Install the integration:  npm install ./kiln-astro
  2. In astro.config.mjs:      import kiln from 'kiln-astro';
                               ... integrations: [kiln()],
     (options: bake, bin, args, strict, fragments; see kiln-astro/README)
  3. Where comments belong, e.g. src/pages/posts/[id].astro or a post layout:
       import KilnComments from 'kiln-astro/KilnComments.astro';
       <KilnComments frontmatter={post.data} />
     in a Markdown page's layout: <KilnComments frontmatter={Astro.props.frontmatter} />
     and on list pages:
       import KilnCount from 'kiln-astro/KilnCount.astro';
       <KilnCount thread={post.data.kiln_thread} path={postHref} />
  4. In src/content.config.ts, add to the collection's schema:
       kiln_thread: z.string().optional(), comments: z.boolean().optional(),
     `comments: false` gives a page no thread; `kiln_thread: ID` keeps a
     moved page's comments.
  5. `astro build` now runs `kiln bake dist` after every build. Beside
     `astro dev`, run `kiln bake --fragments kiln-fragments` whenever comments
     change: the open page reloads. Add kiln-fragments/ to .gitignore.
"#,
};

/// What happened to one file.
enum Outcome {
    Created,
    Unchanged,
    Replaced,
}

pub fn run(args: InitArgs) -> Result<()> {
    let site = args.site_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if !site.is_dir() {
        bail!(
            "{} is not a directory; pass the directory of your site (where its configuration file is)",
            site.display()
        );
    }
    let ssg = match args.ssg {
        Some(ssg) => ssg,
        None => detect(&site)?,
    };
    let adapter = adapter(ssg);
    let name = ssg
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();

    let served = crate::site_config::served(ssg, &site)?;
    let toml = kiln_toml(&served);
    let mut plan: Vec<(PathBuf, &str)> = vec![(site.join("kiln.toml"), toml.as_str())];
    plan.extend(
        adapter
            .files
            .iter()
            .map(|(path, text)| (site.join(path), *text)),
    );
    if args.print {
        for (path, text) in &plan {
            println!("==> {} <==\n{text}", path.display());
        }
        print!("{}", adapter.next_steps);
        return Ok(());
    }

    // Check everything before writing anything: a refusal leaves the site
    // exactly as it was.
    let conflicts: Vec<String> = plan
        .iter()
        .filter(|(path, text)| differs(path, text))
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !conflicts.is_empty() && !args.force {
        bail!(
            "these files exist with other contents: {}\nkiln init never overwrites your files; \
             compare them with `kiln init {name} --print`, or run again with --force to replace them",
            conflicts.join(", ")
        );
    }

    let mut report = String::new();
    for (path, text) in &plan {
        let outcome = write_file(path, text)?;
        let verb = match outcome {
            Outcome::Created => "created",
            Outcome::Unchanged => "unchanged",
            Outcome::Replaced => "replaced",
        };
        writeln!(report, "  {verb:<9} {}", path.display())?;
    }
    println!("kiln init {name}: {}\n{report}", site.display());
    print!("{}", adapter.next_steps);
    println!(
        "\nThen, in the site's directory:\n  \
         kiln serve                      # the receiver, on 127.0.0.1:8080\n  \
         kiln queue; kiln approve ID     # moderate\n  \
         kiln bake {}                   # after every build (the adapter may do it for you)",
        adapter.output_dir
    );
    Ok(())
}

/// Finds which SSG the site uses from its configuration file.
fn detect(site: &Path) -> Result<Ssg> {
    let found: Vec<Ssg> = ALL
        .into_iter()
        .filter(|ssg| adapter(*ssg).markers.iter().any(|m| site.join(m).is_file()))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!(
            "cannot tell which static site generator {} uses; name it: kiln init hugo|jekyll|pelican|astro",
            site.display()
        ),
        many => bail!(
            "{} looks like more than one kind of site ({many:?}); name the one you use: kiln init hugo|jekyll|pelican|astro",
            site.display()
        ),
    }
}

fn differs(path: &Path, text: &str) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => bytes != text.as_bytes(),
        Err(_) => false,
    }
}

fn write_file(path: &Path, text: &str) -> Result<Outcome> {
    let outcome = match std::fs::read(path) {
        Ok(bytes) if bytes == text.as_bytes() => return Ok(Outcome::Unchanged),
        Ok(_) => Outcome::Replaced,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Created,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    kiln_bake::inject::write_atomic(path, text.as_bytes(), None)?;
    Ok(outcome)
}

/// A commented kiln.toml for a site read at `served`.
fn kiln_toml(served: &crate::site_config::Served) -> String {
    let origins = served
        .origins
        .iter()
        .map(|o| format!("{o:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let from = if served.from.is_empty() {
        "the dev server's, as the site's configuration names no public URL yet".to_owned()
    } else {
        format!("from {}", served.from)
    };
    format!(
        r#"# kiln's configuration for this site. Every key is optional; each can also
# be set with an environment variable KILN_<SECTION>_<KEY>, e.g.
# KILN_BAKE_FROM=https://comments.example.org. `kiln --help` tells more.

[server]
# Where `kiln serve` listens, and the URL browsers reach it at (forms post there).
listen = "127.0.0.1:8080"
# public_url = "https://comments.example.org"
# The token `kiln bake --from <receiver URL>` presents; set it in the
# environment as KILN_SERVER_EXPORT_TOKEN rather than here.
# export_token = ""

[database]
# The SQLite file holding every comment.
path = "kiln.sqlite3"

[sites]
# The origins whose pages may post comments (no path, no trailing slash): the
# dev server under both names a browser may use, and the public site's.
origins = [{origins}]

[moderation]
# Hold every new comment until a moderator approves it.
enabled = true

[bake]
# Where `kiln bake` reads approved comments: this database by default, or a
# receiver's URL (then the token comes from KILN_TOKEN).
# from = "https://comments.example.org"
# The site's public URL, with its base path if it has one; forms send readers
# back to pages under it. This one is {from}.
site_url = "{site_url}"
# The threads' stylesheet, written into the output directory and linked from
# every thread; "" puts a <style> element in each thread instead.
# stylesheet = "kiln.css"
# The optional script, written beside it and loaded from the site, so that
# reading a page sends the receiver nothing; "" loads the receiver's /kiln.js.
# script_file = "kiln.js"
# Let the script fetch comments approved since the bake: then every reader who
# reaches a thread tells the receiver their address and the page.
# live = false
# Atom feeds of the comments, one per thread (linked from its page) and one of
# the latest across the site, written under feeds_dir in the output directory.
# feeds = false
# feeds_dir = "comments/feeds"

[edits]
# For how many minutes after posting a commenter may edit or delete their
# comment, through the private link they get (0: no edit links).
window_minutes = 15

# More sections ([spam], [privacy], [mail], [admin], [publish], [reactions])
# are described under "Configuration" in kiln's README.
"#,
        site_url = served.site_url,
    )
}
