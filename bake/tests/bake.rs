//! End-to-end bakes of small sites in temporary directories.

mod common;
mod feeds;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{comment, page, thread, MemorySource};
use kiln_bake::{bake, rewrite_floor, BakeOptions, RenderOptions};

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> u64 {
    0
}

/// Path, content hash, mtime and inode of every file.
type Snapshot = Vec<(PathBuf, u64, SystemTime, u64)>;

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(pages: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, html) in pages {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, html).unwrap();
        }
        Site { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.root().join(path)).unwrap()
    }

    fn options(&self) -> BakeOptions {
        let mut opts = BakeOptions::new(self.root());
        opts.site_url = "https://example.org".into();
        opts.render.receiver_url = "https://comments.example.org".into();
        opts
    }

    /// Every file, with its bytes and mtime (and inode, which every atomic
    /// write changes even within one mtime tick).
    fn snapshot(&self) -> Snapshot {
        let mut files: Vec<_> = walkdir::WalkDir::new(self.root())
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let meta = e.metadata().unwrap();
                (
                    e.path().to_owned(),
                    hash(&fs::read(e.path()).unwrap()),
                    meta.modified().unwrap(),
                    inode(&meta),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// Moves every file's mtime into the past, so that any write shows.
    fn age(&self) {
        let past = SystemTime::now() - Duration::from_secs(3600);
        for entry in walkdir::WalkDir::new(self.root()) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let file = fs::File::options().write(true).open(entry.path()).unwrap();
                file.set_modified(past).unwrap();
            }
        }
    }

    /// Relative paths of the files that differ between two snapshots.
    fn changed(&self, before: &Snapshot, after: &Snapshot) -> Vec<String> {
        assert_eq!(before.len(), after.len());
        before
            .iter()
            .zip(after)
            .filter(|(b, a)| b != a)
            .map(|(b, _)| {
                b.0.strip_prefix(self.root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    fn temp_files(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(self.root())
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.to_string_lossy().contains("kiln-tmp"))
            .collect()
    }
}

fn blog() -> (Site, MemorySource) {
    let site = Site::new(&[
        (
            "index.html",
            page(
                "Home",
                "<div data-kiln-thread></div><span data-kiln-count=\"/posts/a/\">?</span>",
            ),
        ),
        (
            "posts/a/index.html",
            page(
                "A",
                "<section class=\"c\" data-kiln-thread=\"\">old</section>",
            ),
        ),
        (
            "posts/b.html",
            page(
                "B",
                "<div data-kiln-thread=''></div> <b data-kiln-count>x</b>",
            ),
        ),
        (
            "posts/c/index.htm",
            page(
                "C",
                "<div id=\"x\" data-kiln-thread=\"custom &amp; id\"></div>",
            ),
        ),
        (
            "about/index.html",
            page("About", "<p>No comments here.</p>"),
        ),
        ("style.css", "body{}".into()),
    ]);
    let source = MemorySource::new(vec![
        thread("/", vec![comment(1, None, "Hana", "Welcome!")]),
        thread(
            "/posts/a/",
            vec![
                comment(2, None, "Ann", "First"),
                comment(3, Some(2), "Bo", "A reply"),
            ],
        ),
        thread("/posts/b.html", vec![comment(4, None, "Cy", "On b")]),
        thread("custom & id", vec![comment(5, None, "Di", "Custom thread")]),
    ]);
    (site, source)
}

#[test]
fn places_threads_by_published_path_and_explicit_id() {
    let (site, mut source) = blog();
    let summary = bake(&mut source, &site.options()).unwrap();

    let home = site.read("index.html");
    assert!(home.contains("Hana"), "{home}");
    assert!(!home.contains("Ann"));
    assert!(
        home.contains("<span data-kiln-count=\"/posts/a/\">2 comments</span>"),
        "{home}"
    );
    let a = site.read("posts/a/index.html");
    assert!(
        a.contains(
            "<section class=\"c\" data-kiln-thread=\"\"><div class=\"kiln-thread kiln-theme-auto\""
        ),
        "{a}"
    );
    assert!(!a.contains(">old<"), "{a}");
    assert!(a.contains("Ann") && a.contains("Bo") && !a.contains("Hana"));
    assert!(
        a.contains("<input type=\"hidden\" name=\"url\" value=\"https://example.org/posts/a/\">"),
        "{a}"
    );
    assert!(
        a.contains("<input type=\"hidden\" name=\"thread\" value=\"/posts/a/\">"),
        "{a}"
    );
    assert!(
        a.contains("action=\"https://comments.example.org/comments\""),
        "{a}"
    );
    let b = site.read("posts/b.html");
    assert!(b.contains("Cy"), "{b}");
    assert!(b.contains("<b data-kiln-count>1 comment</b>"), "{b}");
    let c = site.read("posts/c/index.htm");
    assert!(c.contains("Di"), "{c}");
    assert!(
        c.contains("name=\"thread\" value=\"custom &amp; id\""),
        "{c}"
    );

    assert_eq!(summary.pages_scanned, 5);
    assert_eq!(summary.pages_with_threads, 4);
    assert_eq!(summary.threads, 4);
    assert_eq!(summary.comments, 5);
    assert_eq!(summary.files_changed, 4);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert_eq!(
        summary.to_string(),
        "scanned 5 pages: 4 threads, 5 comments shown, 4 files changed"
    );
    assert!(site.temp_files().is_empty());
}

#[test]
fn pages_without_placeholders_are_untouched() {
    let (site, mut source) = blog();
    site.age();
    let before = site.snapshot();
    bake(&mut source, &site.options()).unwrap();
    let changed = site.changed(&before, &site.snapshot());
    assert_eq!(
        changed,
        [
            "index.html",
            "posts/a/index.html",
            "posts/b.html",
            "posts/c/index.htm"
        ]
    );
}

#[test]
fn second_bake_writes_nothing() {
    let (site, mut source) = blog();
    let first = bake(&mut source, &site.options()).unwrap();
    assert_eq!(first.files_changed, 4);
    site.age();
    let before = site.snapshot();
    let second = bake(&mut source, &site.options()).unwrap();
    assert_eq!(second.files_changed, 0);
    assert_eq!(second.threads, 4, "without state every page is read again");
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        Vec::<String>::new()
    );
    // Issue 16: a bake with nothing to do says so, not "0 threads".
    assert_eq!(
        second.to_string(),
        "nothing changed: 4 threads up to date (scanned 5 pages)"
    );
    let state = tempfile::tempdir().unwrap();
    let mut opts = site.options();
    opts.state_file = Some(state.path().join("state"));
    bake(&mut source, &opts).unwrap();
    let remembered = bake(&mut source, &opts).unwrap();
    assert_eq!((remembered.threads, remembered.pages_skipped), (0, 5));
    assert_eq!(
        remembered.to_string(),
        "nothing changed: 4 threads up to date (scanned 5 pages)"
    );
}

#[test]
fn rebake_after_one_approval_rewrites_exactly_that_page() {
    let (site, mut source) = blog();
    let state = site.root().join(".kiln-state.json");
    let mut opts = site.options();
    opts.state_file = Some(state.clone());
    let first = bake(&mut source, &opts).unwrap();
    assert_eq!(first.files_changed, 4);
    assert!(state.exists());

    // Nothing changed: nothing is read, nothing is written, not even the state.
    let before = site.snapshot();
    source.loads.clear();
    let idle = bake(&mut source, &opts).unwrap();
    assert_eq!(
        (idle.files_changed, idle.pages_skipped, idle.threads),
        (0, 5, 0)
    );
    assert!(
        source.loads.is_empty(),
        "no thread needed loading: {:?}",
        source.loads
    );
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        Vec::<String>::new()
    );

    source.add(
        "/posts/b.html",
        comment(6, Some(4), "Eve", "A new approval"),
    );
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.files_changed, 1);
    assert_eq!(summary.pages_skipped, 4);
    assert_eq!(source.loads, [Some(vec!["/posts/b.html".to_owned()])]);
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        [".kiln-state.json", "posts/b.html"]
    );
    let b = site.read("posts/b.html");
    assert!(
        b.contains("A new approval") && b.contains("<b data-kiln-count>2 comments</b>"),
        "{b}"
    );

    // A comment on a thread that is only counted elsewhere.
    source.add("/posts/a/", comment(7, None, "Flo", "More on a"));
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.files_changed, 2);
    assert!(site.read("index.html").contains(">3 comments</span>"));
    assert!(site.read("posts/a/index.html").contains("More on a"));
    assert!(site.temp_files().is_empty());
}

#[test]
fn rebake_notices_pages_the_generator_rewrote_or_added() {
    let (site, mut source) = blog();
    let mut opts = site.options();
    opts.state_file = Some(site.root().join("state/bake.json"));
    bake(&mut source, &opts).unwrap();

    // The generator rebuilds one page and adds another.
    fs::write(
        site.root().join("posts/a/index.html"),
        page("A v2", "<div data-kiln-thread></div>"),
    )
    .unwrap();
    fs::create_dir_all(site.root().join("posts/new")).unwrap();
    fs::write(
        site.root().join("posts/new/index.html"),
        page("New", "<div data-kiln-thread></div>"),
    )
    .unwrap();
    source.add("/posts/new/", comment(8, None, "Gus", "On the new page"));
    source.loads.clear();
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.files_changed, 2);
    assert_eq!(summary.pages_scanned, 6);
    assert_eq!(summary.pages_skipped, 4);
    let loads = &source.loads;
    assert_eq!(loads.len(), 1);
    let mut ids = loads[0].clone().unwrap();
    ids.sort();
    assert_eq!(ids, ["/posts/a/", "/posts/new/"]);
    let a = site.read("posts/a/index.html");
    assert!(a.contains("A v2") && a.contains("Ann"), "{a}");
    assert!(site.read("posts/new/index.html").contains("Gus"));

    // Removing a page is fine too.
    fs::remove_file(site.root().join("posts/new/index.html")).unwrap();
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!((summary.pages_scanned, summary.files_changed), (5, 0));
}

#[test]
fn full_and_changed_templates_ignore_the_state() {
    let (site, mut source) = blog();
    let mut opts = site.options();
    opts.state_file = Some(site.root().join(".state"));
    bake(&mut source, &opts).unwrap();

    opts.full = true;
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(
        (
            summary.pages_skipped,
            summary.threads,
            summary.files_changed
        ),
        (0, 4, 0)
    );

    opts.full = false;
    let templates = tempfile::tempdir().unwrap();
    fs::write(templates.path().join("count.html"), "{{ count }}").unwrap();
    opts.render.templates_dir = Some(templates.path().to_owned());
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.pages_skipped, 0);
    assert_eq!(summary.files_changed, 4);
    assert!(site
        .read("index.html")
        .contains("<span data-kiln-count=\"/posts/a/\">2</span>"));
    assert!(site
        .read("posts/b.html")
        .contains("<h2 class=\"kiln-heading\">1</h2>"));
}

#[test]
fn override_templates_win_over_builtins() {
    let (site, mut source) = blog();
    let templates = tempfile::tempdir().unwrap();
    fs::write(
        templates.path().join("comment.html"),
        "<p class=\"mine\">{{ author }} said {{ html | safe }}</p>{{ replies | safe }}",
    )
    .unwrap();
    let mut opts = site.options();
    opts.render = RenderOptions {
        templates_dir: Some(templates.path().to_owned()),
        ..opts.render
    };
    bake(&mut source, &opts).unwrap();
    let a = site.read("posts/a/index.html");
    assert!(
        a.contains("<p class=\"mine\">Ann said <p>First</p>\n</p><p class=\"mine\">Bo said"),
        "{a}"
    );
    assert!(
        a.contains("<form class=\"kiln-form\""),
        "built-ins fill in the rest"
    );
}

#[test]
fn broken_override_template_is_an_error_naming_it() {
    let (site, mut source) = blog();
    let templates = tempfile::tempdir().unwrap();
    fs::write(templates.path().join("thread.html"), "{% if %}").unwrap();
    let mut opts = site.options();
    opts.render.templates_dir = Some(templates.path().to_owned());
    let err = format!("{:#}", bake(&mut source, &opts).unwrap_err());
    assert!(err.contains("thread.html"), "{err}");
    assert!(
        err.contains(&templates.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn hostile_comments_come_out_inert() {
    let site = Site::new(&[("p/index.html", page("P", "<div data-kiln-thread></div>"))]);
    let mut evil = comment(1, None, "\"><script>alert(1)</script>", "<img src=x onerror=alert(1)> [click](javascript:alert(2)) <a href=\"javascript:alert(3)\" onclick=\"x()\">a</a>");
    evil.website = Some("javascript:alert(4)".into());
    let mut evil_site = comment(2, None, "Mallory", "hi");
    evil_site.website = Some("https://example.com/\"onmouseover=\"alert(5)".into());
    let mut source = MemorySource::new(vec![thread("/p/", vec![evil, evil_site])]);
    bake(&mut source, &site.options()).unwrap();
    let html = site.read("p/index.html");
    // Escaped text may mention anything; real tags must not. The one script
    // is kiln's own, from the receiver.
    let ours = "script type=\"module\" src=\"https://comments.example.org/kiln.js\" defer";
    assert_eq!(html.matches(ours).count(), 1, "{html}");
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap().to_ascii_lowercase())
        .filter(|t| t != ours)
    {
        assert!(
            !tag.starts_with("script") && !tag.starts_with("img"),
            "<{tag}>"
        );
        for bad in [
            " onerror",
            " onclick",
            " onmouseover",
            "javascript:",
            " style=",
        ] {
            assert!(!tag.contains(bad), "<{tag}>");
        }
    }
    assert!(
        html.contains(
            "<span itemprop=\"name\"><bdi>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</bdi></span>"
        ),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(
        html.contains(
            "href=\"https://example.com/%22onmouseover=%22alert(5)\" rel=\"nofollow ugc noopener\""
        ),
        "{html}"
    );
}

#[test]
fn bad_ids_are_skipped_with_a_warning() {
    let long = "x".repeat(501);
    let site = Site::new(&[(
        "p.html",
        page("P", &format!("<div data-kiln-thread=\"{long}\">keep</div><div data-kiln-thread=\"a&#9;b\">keep too</div>")),
    )]);
    let before = site.snapshot();
    let mut source = MemorySource::default();
    let summary = bake(&mut source, &site.options()).unwrap();
    assert_eq!(summary.files_changed, 0);
    assert_eq!(summary.warnings.len(), 2, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].starts_with("p.html: "),
        "{:?}",
        summary.warnings
    );
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        Vec::<String>::new()
    );
}

#[test]
fn two_threads_on_a_page_keep_ids_unique_and_url_override_wins() {
    let site = Site::new(&[(
        "p/index.html",
        page(
            "P",
            "<div data-kiln-thread=\"one\"></div><div data-kiln-thread=\"two\" data-kiln-url=\"https://example.org/p/?tab=2&amp;x=1\"></div>",
        ),
    )]);
    let mut source = MemorySource::default();
    bake(&mut source, &site.options()).unwrap();
    let html = site.read("p/index.html");
    assert!(
        html.contains("id=\"kiln-1-text\"") && html.contains("id=\"kiln-2-text\""),
        "{html}"
    );
    assert!(html.contains("<label for=\"kiln-2-name\">"), "{html}");
    assert!(
        html.contains("name=\"url\" value=\"https://example.org/p/\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"url\" value=\"https://example.org/p/?tab=2&amp;x=1\""),
        "{html}"
    );
    assert_eq!(html.matches("No comments yet").count(), 2);
}

#[cfg(unix)]
#[test]
fn writes_keep_permissions_and_skip_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let (site, mut source) = blog();
    let a = site.root().join("posts/a/index.html");
    fs::set_permissions(&a, fs::Permissions::from_mode(0o604)).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("linked.html");
    fs::write(&target, page("L", "<div data-kiln-thread></div>")).unwrap();
    std::os::unix::fs::symlink(&target, site.root().join("linked.html")).unwrap();
    std::os::unix::fs::symlink(outside.path(), site.root().join("linked-dir")).unwrap();
    let summary = bake(&mut source, &site.options()).unwrap();
    assert_eq!(summary.pages_scanned, 5);
    assert_eq!(
        fs::metadata(&a).unwrap().permissions().mode() & 0o777,
        0o604
    );
    assert!(!fs::read_to_string(&target)
        .unwrap()
        .contains("class=\"kiln-thread\""));
}

#[test]
fn floor_rewrites_every_page_unchanged() {
    let (site, _) = blog();
    let before = site.snapshot();
    assert_eq!(rewrite_floor(site.root()).unwrap(), 5);
    let after = site.snapshot();
    let bytes = |files: &Snapshot| files.iter().map(|f| f.1).collect::<Vec<_>>();
    assert_eq!(bytes(&before), bytes(&after));
    assert!(site.temp_files().is_empty());
}

#[test]
fn missing_output_dir_is_a_clear_error() {
    let mut source = MemorySource::default();
    let err = bake(&mut source, &BakeOptions::new("/nonexistent/kiln-site")).unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/kiln-site"),
        "{err:#}"
    );
}

#[test]
fn an_empty_id_includes_the_base_path_of_the_site_url() {
    let site = Site::new(&[(
        "posts/a/index.html",
        page("A", "<div data-kiln-thread></div><b data-kiln-count></b>"),
    )]);
    let mut source = MemorySource::new(vec![thread(
        "/blog/posts/a/",
        vec![comment(1, None, "Ann", "Under a base path")],
    )]);
    let mut opts = site.options();
    opts.site_url = "https://example.org/blog".into();
    bake(&mut source, &opts).unwrap();
    let a = site.read("posts/a/index.html");
    assert!(a.contains("Under a base path"), "{a}");
    assert!(
        a.contains("name=\"thread\" value=\"/blog/posts/a/\""),
        "{a}"
    );
    assert!(
        a.contains("name=\"url\" value=\"https://example.org/blog/posts/a/\""),
        "{a}"
    );
    assert!(a.contains("<b data-kiln-count>1 comment</b>"), "{a}");
}

mod fragments {
    use super::*;
    use kiln_bake::{bake_fragments, fragment_name, FragmentOptions};

    fn options(dir: &Path) -> FragmentOptions {
        FragmentOptions {
            dir: dir.to_owned(),
            site_url: "http://127.0.0.1:1313/blog".into(),
            render: RenderOptions {
                receiver_url: "http://127.0.0.1:8080".into(),
                ..RenderOptions::default()
            },
        }
    }

    /// Name, bytes and mtime of every file in `dir`.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let meta = e.metadata().unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    fs::read(e.path()).unwrap(),
                    meta.modified().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn one_file_per_thread_rewritten_only_when_it_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("frags");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("notes.html"), "the author's own file").unwrap();
        let stale = fragment_name("/blog/gone/");
        fs::write(dir.join(&stale), "a thread that no longer exists").unwrap();
        let mut source = MemorySource::new(vec![
            thread(
                "/blog/posts/a/",
                vec![
                    comment(1, None, "Ann", "First"),
                    comment(2, Some(1), "Bo", "Reply"),
                ],
            ),
            thread("legacy-42", vec![comment(3, None, "Cy", "Imported")]),
        ]);

        let summary = bake_fragments(&mut source, &options(&dir)).unwrap();
        assert_eq!(
            (summary.threads, summary.files_changed, summary.removed),
            (2, 3, 1)
        );
        let a = fs::read_to_string(dir.join(fragment_name("/blog/posts/a/"))).unwrap();
        assert!(
            a.starts_with("<div class=\"kiln-thread kiln-theme-auto\""),
            "{a}"
        );
        assert!(a.contains("First") && a.contains("Reply") && !a.contains("Imported"));
        assert!(
            a.contains("name=\"url\" value=\"http://127.0.0.1:1313/blog/posts/a/\""),
            "{a}"
        );
        let legacy = fs::read_to_string(dir.join(fragment_name("legacy-42"))).unwrap();
        assert!(
            legacy.contains("name=\"url\" value=\"http://127.0.0.1:1313/blog/\""),
            "an id that is not a path returns readers to the site: {legacy}"
        );
        let counts: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("counts.json")).unwrap()).unwrap();
        assert_eq!(
            counts,
            serde_json::json!({"/blog/posts/a/": 2, "legacy-42": 1})
        );
        assert!(!dir.join(&stale).exists(), "stale fragments are removed");
        assert_eq!(
            fs::read_to_string(dir.join("notes.html")).unwrap(),
            "the author's own file",
            "other files are left alone"
        );

        // Nothing changed: nothing is written. The files are dated a day
        // after the epoch first, so a rewrite would show in their mtimes.
        for entry in fs::read_dir(&dir).unwrap() {
            let file = fs::File::options()
                .write(true)
                .open(entry.unwrap().path())
                .unwrap();
            let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
            file.set_modified(long_ago).unwrap();
        }
        let before = files(&dir);
        let again = bake_fragments(&mut source, &options(&dir)).unwrap();
        assert_eq!(again.files_changed, 0);
        assert_eq!(files(&dir), before);

        // A new comment on one thread: its fragment and the counts change.
        source.add("legacy-42", comment(4, None, "Di", "Another"));
        let third = bake_fragments(&mut source, &options(&dir)).unwrap();
        assert_eq!(third.files_changed, 2);
        let after = files(&dir);
        let changed: Vec<&str> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|(b, _)| b.0.as_str())
            .collect();
        let legacy_name = fragment_name("legacy-42");
        let mut expected = vec!["counts.json", legacy_name.as_str()];
        expected.sort();
        assert_eq!(changed, expected);
    }
}

#[test]
fn a_vouched_for_listing_touches_only_the_changed_threads_pages() {
    let site = Site::new(&[
        ("a/index.html", page("A", "<div data-kiln-thread></div>")),
        ("b/index.html", page("B", "<div data-kiln-thread></div>")),
    ]);
    let mut source = MemorySource::new(vec![
        thread("/a/", vec![comment(1, None, "Ann", "On a")]),
        thread("/b/", vec![comment(2, None, "Bo", "On b")]),
    ]);
    let mut opts = site.options();
    opts.state_file = Some(site.root().join(".state"));
    bake(&mut source, &opts).unwrap();

    // Someone rewrites b behind bake's back; a new comment lands on a.
    fs::write(
        site.root().join("b/index.html"),
        page("B rebuilt", "<div data-kiln-thread></div>"),
    )
    .unwrap();
    source.add("/a/", comment(3, None, "Cy", "Newer on a"));

    // Vouched for: only a's page is looked at, so b's change goes unseen.
    opts.listing_unchanged = true;
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.files_changed, 1);
    assert_eq!(summary.written, [site.root().join("a/index.html")]);
    assert_eq!(summary.pages_scanned, 2);
    assert!(site.read("a/index.html").contains("Newer on a"));
    assert!(!site.read("b/index.html").contains("On b"));

    // Without the promise, the walk finds b's change and bakes it.
    opts.listing_unchanged = false;
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.written, [site.root().join("b/index.html")]);
    assert!(site.read("b/index.html").contains("On b"));
}

#[test]
fn a_stylesheet_file_replaces_the_style_elements_and_is_written_once() {
    let (site, mut source) = blog();
    let state = tempfile::tempdir().unwrap();
    let mut opts = site.options();
    opts.site_url = "https://example.org/blog".into();
    opts.stylesheet = Some("assets/kiln.css".into());
    opts.state_file = Some(state.path().join("state"));
    let first = bake(&mut source, &opts).unwrap();
    assert_eq!(first.files_changed, 5, "four pages and the stylesheet");
    let css = site.read("assets/kiln.css");
    assert!(css.contains(".kiln-hp{position:absolute"), "{css}");
    let a = site.read("posts/a/index.html");
    assert!(
        a.contains("<link rel=\"stylesheet\" href=\"/blog/assets/kiln.css\">"),
        "{a}"
    );
    assert!(!a.contains("<style>"), "{a}");

    // Nothing changes on a second bake; a generator that cleaned its output
    // gets the stylesheet back even when no page needs baking.
    site.age();
    let before = site.snapshot();
    assert_eq!(bake(&mut source, &opts).unwrap().files_changed, 0);
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        Vec::<String>::new()
    );
    fs::remove_file(site.root().join("assets/kiln.css")).unwrap();
    let again = bake(&mut source, &opts).unwrap();
    assert_eq!(again.written, vec![site.root().join("assets/kiln.css")]);
    assert_eq!(site.read("assets/kiln.css"), css);

    for bad in [
        "/etc/kiln.css",
        "../kiln.css",
        "a/../../kiln.css",
        "kiln.html",
        "k iln.css",
        "",
    ] {
        opts.stylesheet = Some(bad.into());
        let err = format!("{:#}", bake(&mut source, &opts).unwrap_err());
        assert!(err.contains("inside the output directory"), "{bad}: {err}");
    }
}

#[test]
fn a_list_page_loads_the_script_once_so_its_counts_can_be_topped_up() {
    let list = "<ul><li><b data-kiln-count=\"/posts/a/\">?</b></li><li><b data-kiln-count=\"/posts/b.html\">?</b></li></ul>";
    let (site, mut source) = blog();
    fs::write(site.root().join("list.html"), page("List", list)).unwrap();
    // Counts are topped up only when the site opts in (issue 16): by
    // default a list page carries no script at all.
    bake(&mut source, &site.options()).unwrap();
    assert!(!site.read("list.html").contains("<script"));

    let mut live = site.options();
    live.render.live = true;
    let script = "<script type=\"module\" src=\"https://comments.example.org/kiln.js\" data-kiln-live=\"https://comments.example.org\" defer></script>";
    bake(&mut source, &live).unwrap();
    let html = site.read("list.html");
    assert!(
        html.contains(&format!(
            "<b data-kiln-count=\"/posts/a/\">2 comments{script}</b></li><li><b data-kiln-count=\"/posts/b.html\">1 comment</b>"
        )),
        "{html}"
    );
    // Idempotent: the next bake replaces the count's content, script and all.
    assert_eq!(bake(&mut source, &live).unwrap().files_changed, 0);
    // A page whose thread references the script already gets no second one.
    let home = site.read("index.html");
    assert_eq!(home.matches("/kiln.js").count(), 1, "{home}");
    assert_eq!(home.matches("data-kiln-live").count(), 1, "{home}");

    live.render.script = false;
    bake(&mut source, &live).unwrap();
    assert!(!site.read("list.html").contains("<script"));
}

/// Issue 16, item 3: a site whose layout lost the placeholder (a Hugo 0.146+
/// theme builds pages from layouts/page.html) must not bake "successfully"
/// in silence; a site with one placeholder is not warned about.
#[test]
fn a_site_without_any_placeholder_gets_a_warning_naming_what_was_sought() {
    let site = Site::new(&[
        ("index.html", page("Home", "<p>Hello</p>")),
        ("posts/a/index.html", page("A", "<p>No thread</p>")),
    ]);
    let mut source = MemorySource::new(Vec::new());
    let summary = bake(&mut source, &site.options()).unwrap();
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    let warning = &summary.warnings[0];
    for sought in [
        "data-kiln-thread",
        "data-kiln-count",
        "2 pages",
        "layouts/page.html",
    ] {
        assert!(warning.contains(sought), "{sought} missing from: {warning}");
    }

    let (site, mut source) = blog();
    let summary = bake(&mut source, &site.options()).unwrap();
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    // A count placeholder alone is a placeholder too.
    let site = Site::new(&[(
        "index.html",
        page("Home", "<b data-kiln-count=\"/a/\"></b>"),
    )]);
    let summary = bake(&mut MemorySource::new(Vec::new()), &site.options()).unwrap();
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

/// Issue 16, item 2: before the receiver has made its database, a bake
/// places every thread empty, with its form, and a later bake from a real
/// source reads the pages again (the identity differs).
#[test]
fn no_comments_yet_bakes_empty_threads_with_forms() {
    let (site, mut source) = blog();
    let mut none = kiln_bake::NoComments {
        looked_for: "kiln.sqlite3".into(),
    };
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("state.json");
    let mut opts = site.options();
    opts.state_file = Some(state.clone());
    let summary = bake(&mut none, &opts).unwrap();
    assert_eq!((summary.threads, summary.comments), (4, 0));
    let a = site.read("posts/a/index.html");
    assert!(
        a.contains("No comments yet") && a.contains("<form class=\"kiln-form\""),
        "{a}"
    );
    let summary = bake(&mut source, &opts).unwrap();
    assert_eq!(summary.comments, 5, "the first real bake reads every page");
    assert!(site.read("posts/a/index.html").contains("A reply"));
}

/// Issue 16, item 5: the export says whether its receiver sends mail, and
/// the "email me" box follows it; a source that does not say leaves the
/// bake's setting.
#[test]
fn the_notify_box_follows_what_the_source_says_about_mail() {
    let (site, _) = blog();
    let export = |mail: &str| {
        format!(
            "{{\"format\":\"kiln-export\",\"version\":3,\"generated_at\":\"2026-01-01T00:00:00Z\"{mail},\"threads\":[]}}"
        )
    };
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("export.json");
    for (mail, render_default, shown) in [
        (",\"mail\":false", true, false),
        (",\"mail\":true", false, true),
        ("", true, true),
        ("", false, false),
    ] {
        fs::write(&file, export(mail)).unwrap();
        let mut opts = site.options();
        opts.render.offer_notify = render_default;
        bake(&mut kiln_bake::ExportFile::new(&file), &opts).unwrap();
        let a = site.read("posts/a/index.html");
        assert_eq!(
            a.contains("name=\"notify\""),
            shown,
            "{mail} {render_default}"
        );
        assert_eq!(a.contains("Email me when someone replies"), shown);
    }
}

/// Issue 16: bake writes the script into the site like the stylesheet
/// (atomically, only when its bytes change) and threads load it from
/// there, under the site's base path; nothing names the receiver but the
/// form, and nothing tells the script to ask it for newer comments.
#[test]
fn a_script_file_is_written_into_the_site_and_loaded_from_there() {
    let (site, mut source) = blog();
    let state = tempfile::tempdir().unwrap();
    let mut opts = site.options();
    opts.site_url = "https://example.org/blog".into();
    opts.render.script_file = "assets/kiln.js".into();
    opts.state_file = Some(state.path().join("state"));
    bake(&mut source, &opts).unwrap();
    let js = site.read("assets/kiln.js");
    assert_eq!(js, kiln_bake::Renderer::script());
    let a = site.read("posts/a/index.html");
    assert!(
        a.contains("<script type=\"module\" src=\"/blog/assets/kiln.js\" defer></script>"),
        "{a}"
    );
    assert!(!a.contains("comments.example.org/kiln.js"), "{a}");
    assert!(!a.contains("data-kiln-live"), "{a}");

    site.age();
    let before = site.snapshot();
    assert_eq!(bake(&mut source, &opts).unwrap().files_changed, 0);
    assert_eq!(
        site.changed(&before, &site.snapshot()),
        Vec::<String>::new()
    );
    // Changed bytes (an older kiln's script) are replaced, and only they.
    fs::write(site.root().join("assets/kiln.js"), "// old").unwrap();
    let again = bake(&mut source, &opts).unwrap();
    assert_eq!(again.written, vec![site.root().join("assets/kiln.js")]);
    assert_eq!(site.read("assets/kiln.js"), js);

    // With the script off there is nothing to write or load.
    let mut off = site.options();
    off.full = true;
    off.render.script = false;
    off.render.script_file = "other.js".into();
    bake(&mut source, &off).unwrap();
    assert!(!site.root().join("other.js").exists());

    for bad in ["/etc/kiln.js", "../kiln.js", "kiln.css", ""] {
        opts.render.script_file = bad.into();
        if bad.is_empty() {
            // Empty means the receiver's copy.
            bake(&mut source, &opts).unwrap();
            let a = site.read("posts/a/index.html");
            assert!(
                a.contains("src=\"https://comments.example.org/kiln.js\""),
                "{a}"
            );
            continue;
        }
        let err = format!("{:#}", bake(&mut source, &opts).unwrap_err());
        assert!(
            err.contains("bake.script_file") && err.contains("inside the output directory"),
            "{bad}: {err}"
        );
    }
}
