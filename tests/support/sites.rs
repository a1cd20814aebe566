//! One scenario and one set of checks shared by the SSG adapter tests, so that
//! Hugo, Jekyll, Pelican and Astro are held to exactly the same promise: each
//! post has its own thread with nested replies, list pages count, the form
//! works, pending comments and e-mail addresses appear nowhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::*;

/// The export token of every seeded receiver.
pub const TOKEN: &str = "ssg-adapter-test-token";
/// Text of the comment that stays pending: it must never be baked.
pub const PENDING_TEXT: &str = "Still waiting for a moderator";
/// The first commenter's e-mail address: it must never be baked.
pub const EMAIL: &str = "ada@example.org";

/// A receiver holding comments on three threads, stored through real form
/// posts and approved with the real CLI:
/// - `threads[0]`: comment 1, reply 2 nested under it (both approved), and
///   comment 3, pending;
/// - `threads[1]`: comment 4, approved;
/// - `threads[2]`: nothing.
pub struct Seeded {
    pub tmp: tempfile::TempDir,
    pub receiver: Receiver,
    pub threads: [String; 3],
}

/// Starts `kiln serve` for pages on `site_url`'s origin and seeds it.
/// Thread ids are published paths, so each page's URL is the origin
/// followed by its thread id.
pub fn seed(site_url: &str, threads: [&str; 3]) -> Seeded {
    let origin = url::Url::parse(site_url)
        .expect("site URL")
        .origin()
        .ascii_serialization();
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::fresh(tmp.path());
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &origin,
        token: Some(TOKEN),
        extra_env: &[],
    });
    let seeded = Seeded {
        tmp,
        receiver,
        threads: threads.map(str::to_owned),
    };
    let page = |i: usize| format!("{origin}{}", threads[i]);
    let post = |fields: &[(&str, &str)]| {
        let (status, _, body) = post_form(&seeded.receiver, fields);
        assert_eq!(status, 303, "seeding a comment failed: {body}");
    };
    post(&[
        ("thread", threads[0]),
        ("url", &page(0)),
        ("name", "Ada"),
        ("email", EMAIL),
        ("text", "The *first* comment on the first post."),
    ]);
    seeded.moderate(&["approve", "1"]);
    post(&[
        ("thread", threads[0]),
        ("url", &page(0)),
        ("parent", "1"),
        ("name", "Brian"),
        ("text", "A reply to Ada, nested under her comment."),
    ]);
    post(&[
        ("thread", threads[0]),
        ("url", &page(0)),
        ("name", "Dora"),
        ("text", PENDING_TEXT),
    ]);
    post(&[
        ("thread", threads[1]),
        ("url", &page(1)),
        ("name", "Chen"),
        ("text", "The only comment on the second post."),
    ]);
    seeded.moderate(&["approve", "2", "4"]);
    seeded
}

impl Seeded {
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs a moderation command (`approve 3`, `queue`, ...) on the database.
    pub fn moderate(&self, args: &[&str]) -> String {
        let mut all = vec!["--db", self.receiver.db.arg()];
        all.extend_from_slice(args);
        kiln_ok(self.dir(), &all)
    }

    /// What a hook's `kiln bake` needs in its environment: the kiln under
    /// test, the export token, and a cache directory for bake's state inside
    /// the scratch directory (never the developer's own).
    pub fn bake_env(&self) -> Vec<(String, String)> {
        vec![
            ("KILN_BIN".into(), KILN.into()),
            ("KILN_TOKEN".into(), TOKEN.into()),
            (
                "XDG_CACHE_HOME".into(),
                self.dir().join("cache").display().to_string(),
            ),
        ]
    }

    /// A `kiln.toml` for the site's directory that points bake at the
    /// receiver's export API.
    pub fn kiln_toml(&self, site_url: &str) -> String {
        format!(
            "# Written by kiln's adapter tests.\n[bake]\nfrom = \"{}\"\nsite_url = \"{}\"\n",
            self.receiver.url,
            site_url.trim_end_matches('/')
        )
    }

    /// Posts one more comment on `thread` and approves it; returns its id.
    pub fn add_approved(&self, thread: &str, page_url: &str, text: &str) -> i64 {
        let (status, _, body) = post_form(
            &self.receiver,
            &[
                ("thread", thread),
                ("url", page_url),
                ("name", "Eve"),
                ("text", text),
            ],
        );
        assert_eq!(status, 303, "posting failed: {body}");
        let id = peek(&self.receiver.db).query_i64("SELECT max(id) FROM comments", &[]);
        self.moderate(&["approve", &id.to_string()]);
        id
    }
}

/// Where a built site's pages are and what each must show.
pub struct SitePages<'a> {
    /// The SSG's output directory.
    pub out: &'a Path,
    /// The site's public URL, base path included (`http://127.0.0.1:4000/blog`).
    pub site_url: &'a str,
    /// (page file relative to `out`, the thread id it must carry), in the
    /// order of [`Seeded::threads`].
    pub posts: [(&'a str, &'a str); 3],
    /// A page, relative to `out`, that shows the count of all three threads.
    pub list: &'a str,
}

/// Checks a baked site against the seeded comments. See [`SitePages`].
pub fn check_baked(seeded: &Seeded, pages: &SitePages) {
    let read = |rel: &str| {
        std::fs::read_to_string(pages.out.join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel} in the built site: {e}"))
    };
    let expected_nesting: [Vec<(i64, Option<i64>)>; 3] =
        [vec![(1, None), (2, Some(1))], vec![(4, None)], vec![]];
    for (i, (file, id)) in pages.posts.iter().enumerate() {
        assert_eq!(
            *id, seeded.threads[i],
            "SitePages.posts must follow the seeded threads"
        );
        let html = read(file);
        assert_eq!(
            attribute_values(&html, "data-kiln-thread"),
            [*id],
            "{file} must hold exactly one thread, {id:?}"
        );
        assert_eq!(
            comment_nesting(&html),
            expected_nesting[i],
            "comments and nesting on {file}"
        );
        check_form(seeded, pages, file, id, &html);
    }
    for (number, file) in [(1, pages.posts[0].0), (4, pages.posts[1].0)] {
        assert_eq!(
            pages_containing(pages.out, &format!("id=\"kiln-comment-{number}\"")),
            [file],
            "comment {number} belongs on {file} and no other page"
        );
    }

    let list = read(pages.list);
    for (id, words) in seeded
        .threads
        .iter()
        .zip(["2 comments", "1 comment", "No comments yet"])
    {
        assert_eq!(
            texts_of(&list, &format!("[data-kiln-count=\"{id}\"]")),
            [words],
            "the count of {id} on {}",
            pages.list
        );
    }

    for secret in [PENDING_TEXT, EMAIL] {
        assert!(
            pages_containing(pages.out, secret).is_empty(),
            "{secret:?} must appear on no page"
        );
    }
}

/// The page's form posts to the receiver with the right thread and page URL,
/// and submitting it, as a browser would, brings the reader back to the page.
fn check_form(seeded: &Seeded, pages: &SitePages, file: &str, id: &str, html: &str) {
    let forms = attribute_values(html, "action");
    assert_eq!(
        forms,
        [format!("{}/comments", seeded.receiver.url)],
        "{file}: one form, posting to the receiver"
    );
    let fields = hidden_fields(html);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{file}: the form has no {name} field"))
    };
    assert_eq!(field("thread"), id, "{file}: the form's thread");
    let page_url = format!("{}{}", pages.site_url.trim_end_matches('/'), url_path(file));
    assert_eq!(field("url"), page_url, "{file}: the form's page URL");
    // The page's title travels with the form, for moderators' mail.
    let title = texts_of(html, "head > title")
        .first()
        .map(|t| decode(t).split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    assert!(!title.is_empty(), "{file} has a <title>");
    let sent = field("title").to_owned();
    assert_eq!(sent, title, "{file}: the form's page title");

    let mut submit: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    submit.push(("name", "Form Tester"));
    submit.push(("text", "Posted through the baked form."));
    let (status, location, body) = post_form(&seeded.receiver, &submit);
    assert_eq!(status, 303, "{file}: submitting the baked form: {body}");
    let (back, _) = super::landing(&seeded.receiver, location.as_deref());
    assert_eq!(
        back,
        format!("{page_url}#kiln-received"),
        "{file}: the reader is led back to the page"
    );
    let stored = peek(&seeded.receiver.db)
        .query_text("SELECT title FROM threads WHERE key = $1", &[id.into()]);
    assert_eq!(stored, sent, "{file}: the receiver keeps the page's title");
}

/// The URL path of a file in the output, as a static host serves it.
fn url_path(file: &str) -> String {
    match file.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{file}"),
    }
}

/// The values of every `attr` attribute on the page, in order.
pub fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    use lol_html::{element, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;

    let found: Rc<RefCell<Vec<String>>> = Rc::default();
    {
        let found = found.clone();
        let selector = format!("[{attr}]");
        let attr = attr.to_owned();
        super::parse(
            html,
            Settings::new().append_element_content_handler(element!(&selector, move |el| {
                found
                    .borrow_mut()
                    .push(el.get_attribute(&attr).unwrap_or_default());
                Ok(())
            })),
        );
    }
    let result = found.borrow().clone();
    result
}

/// (name, value) of every hidden input inside a `.kiln-form`.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    use lol_html::{element, Settings};
    use std::cell::RefCell;
    use std::rc::Rc;

    let found: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    {
        let found = found.clone();
        super::parse(
            html,
            Settings::new().append_element_content_handler(element!(
                "form.kiln-form input[type=hidden]",
                move |el| {
                    // As a browser submits them: character references decoded.
                    found.borrow_mut().push((
                        decode(&el.get_attribute("name").unwrap_or_default()),
                        decode(&el.get_attribute("value").unwrap_or_default()),
                    ));
                    Ok(())
                }
            )),
        );
    }
    let result = found.borrow().clone();
    result
}

/// Text as the browser reads it from HTML source: character references
/// decoded (the parser hands attribute values and title text over raw).
fn decode(raw: &str) -> String {
    kiln_bake::inject::decode_attribute(raw)
}

/// Bytes of every `.html` file under `out`, by path relative to it: a rebuild
/// and re-bake must leave this unchanged.
pub fn html_bytes(out: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(out)
        .into_iter()
        .filter(|(p, _, _)| p.extension().is_some_and(|e| e == "html"))
        .map(|(p, bytes, _)| {
            let rel = p
                .strip_prefix(out)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, bytes)
        })
        .collect()
}

/// Asserts two [`html_bytes`] are equal, naming the pages that differ.
pub fn assert_same_html(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(before), keys(after), "the same pages exist");
    let changed: Vec<&String> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        changed.is_empty(),
        "pages changed by a rebuild and re-bake: {changed:?}"
    );
}

/// The file name `kiln bake --fragments` gives a thread.
pub fn fragment_name(thread: &str) -> String {
    kiln_bake::fragment_name(thread)
}

/// Copies `src` into `dst` (created), leaving out entries named in `skip` at
/// any depth (build output, `node_modules`, ...).
pub fn copy_tree(src: &Path, dst: &Path, skip: &[&str]) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == **s) {
            continue;
        }
        let to = dst.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to, skip);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Runs a command to completion and insists it succeeded; its output is
/// shown in the failure message.
pub fn run_ok(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Where `scripts/install-tools` puts what is not a Debian package.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("KILN_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("kiln-tools"))
}
