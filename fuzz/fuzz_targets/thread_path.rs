//! Thread ids as any text (one a line) through the code that turns a
//! thread id into a file: `kiln bake --fragments`. Whatever the id, its file
//! is one plain name inside the fragments directory (no `..`, no `/`, no
//! absolute path, no NUL), the run writes nothing outside that directory
//! and leaves no temp file in it, and the page a fragment's form returns
//! readers to stays on the site.

#![no_main]

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path};
use std::sync::LazyLock;

use kiln_bake::export::{Comment, CommentStatus, Thread};
use kiln_bake::fragments::page_url_for;
use kiln_bake::inject::check_id;
use kiln_bake::source::stamp_of;
use kiln_bake::{bake_fragments, fragment_name, FragmentOptions, RenderOptions, Source, Stamp};
use libfuzzer_sys::fuzz_target;

const SITE: &str = "https://site.example/blog";

/// One directory for the whole run; the fragments go in `frag/` inside it,
/// so anything else appearing in it escaped.
static ROOT: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

struct Threads(Vec<Thread>);

impl Source for Threads {
    fn describe(&self) -> String {
        "the fuzz input".to_owned()
    }
    fn identity(&mut self) -> anyhow::Result<String> {
        Ok("fuzz".to_owned())
    }
    fn stamps(&mut self) -> anyhow::Result<HashMap<String, Stamp>> {
        Ok(self.0.iter().map(|t| (t.id.clone(), stamp_of(t))).collect())
    }
    fn threads(&mut self, _: Option<&[String]>) -> anyhow::Result<Vec<Thread>> {
        Ok(self.0.clone())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let ids: BTreeSet<&str> = input.split('\n').chain([input]).take(9).collect();
    let dir = ROOT.path().join("frag");
    for id in &ids {
        let name = fragment_name(id);
        assert!(
            name.len() == 69
                && name.ends_with(".html")
                && name[..64]
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{id:?} -> {name:?}"
        );
        let mut parts = Path::new(&name).components();
        assert!(
            matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none(),
            "{id:?} -> {name:?} is not one plain name"
        );
        assert_eq!(dir.join(&name).parent(), Some(dir.as_path()));
        let page = url::Url::parse(&page_url_for(SITE, id))
            .unwrap_or_else(|e| panic!("{id:?}: the form's page is no URL: {e}"));
        assert_eq!(
            page.origin().ascii_serialization(),
            "https://site.example",
            "{id:?} sends readers to {page}"
        );
    }

    let threads = ids
        .iter()
        .map(|id| Thread {
            id: (*id).to_owned(),
            url: format!("{SITE}/"),
            comments: vec![Comment {
                id: 1,
                parent: None,
                status: CommentStatus::Approved,
                author: "Ann".to_owned(),
                website: None,
                text: "hello".to_owned(),
                created_at: "2026-11-23T10:00:00Z".to_owned(),
                avatar: None,
                gravatar: None,
                likes: 0,
                verified: false,
                html: None,
            }],
        })
        .collect();
    bake_fragments(
        &mut Threads(threads),
        &FragmentOptions {
            dir: dir.clone(),
            site_url: SITE.to_owned(),
            render: RenderOptions::default(),
        },
    )
    .expect("fragments are written");

    let root: Vec<_> = names(ROOT.path());
    assert_eq!(
        root,
        ["frag"],
        "something was written beside the fragments directory"
    );
    let mut expected: BTreeSet<String> = ids
        .iter()
        .filter(|id| check_id(id).is_ok())
        .map(|id| fragment_name(id))
        .collect();
    expected.insert("counts.json".to_owned());
    let written: BTreeSet<String> = names(&dir).into_iter().collect();
    assert_eq!(
        written, expected,
        "the fragments directory holds other files"
    );
});

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}
