//! A rough, ignored timing run: 10,000 pages of about 10 KB and 100,000
//! comments. Not a benchmark (those live in the repository's benches); it
//! prints numbers for a quick check while working on the bake:
//!
//! `cargo test --release -p kiln-bake --test perf -- --ignored --nocapture`

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Thread};
use kiln_bake::{bake, rewrite_floor, BakeOptions, Source, Stamp};

const PAGES: usize = 10_000;
const COMMENTS_PER_PAGE: usize = 10;

/// Like the SQLite source: stamps come from a per-thread change counter.
struct Versioned {
    threads: HashMap<String, Thread>,
    versions: HashMap<String, u64>,
}

impl Source for Versioned {
    fn describe(&self) -> String {
        "perf".into()
    }
    fn identity(&mut self) -> Result<String> {
        Ok("perf".into())
    }
    fn stamps(&mut self) -> Result<HashMap<String, Stamp>> {
        Ok(self
            .threads
            .iter()
            .map(|(id, t)| {
                let count = t
                    .comments
                    .iter()
                    .filter(|c| c.status == CommentStatus::Approved)
                    .count();
                (
                    id.clone(),
                    Stamp {
                        version: self.versions[id],
                        count: count as u64,
                    },
                )
            })
            .collect())
    }
    fn threads(&mut self, ids: Option<&[String]>) -> Result<Vec<Thread>> {
        Ok(match ids {
            None => self.threads.values().cloned().collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.threads.get(id).cloned())
                .collect(),
        })
    }
}

fn text(n: usize) -> String {
    match n % 5 {
        0 => format!("Thanks for writing this up! The part about **ovens** was useful ({n})."),
        1 => format!("See [the docs](https://example.org/docs/{n}) and https://example.com/x?y={n} for more."),
        2 => "I disagree:\n\n- the first point ignores cost\n- the second one is *fine*\n\n> quoted bit".into(),
        3 => format!("Short reply #{n}, with `inline code` and a [mail](mailto:a{n}@example.org)."),
        _ => "Great post.\n\nA second paragraph with ~~strike~~ and _emphasis_.".into(),
    }
}

fn source() -> Versioned {
    let mut threads = HashMap::new();
    let mut versions = HashMap::new();
    let mut id = 0i64;
    for page in 0..PAGES {
        let thread_id = format!("/posts/p{page}/");
        let mut comments = Vec::new();
        for i in 0..COMMENTS_PER_PAGE {
            id += 1;
            let parent = (i % 3 != 0 && i > 0).then(|| id - 1);
            comments.push(Comment {
                id,
                parent,
                status: CommentStatus::Approved,
                author: format!("Reader {}", id % 997),
                website: (id % 4 == 0).then(|| format!("https://reader{id}.example.net/")),
                text: text(id as usize),
                created_at: unix_to_rfc3339(1_790_000_000 + id * 37),
            });
        }
        versions.insert(thread_id.clone(), 1);
        threads.insert(
            thread_id.clone(),
            Thread {
                id: thread_id,
                url: String::new(),
                comments,
            },
        );
    }
    Versioned { threads, versions }
}

fn write_site(root: &Path) {
    let paragraph = "<p>Lorem ipsum dolor sit amet, <a href=\"/tags/x/\">consectetur</a> adipiscing elit, sed do \
                     eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>\n";
    let body = paragraph.repeat(50);
    for page in 0..PAGES {
        let dir = root.join(format!("posts/p{page}"));
        fs::create_dir_all(&dir).unwrap();
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Post {page}</title>\
             <link rel=\"stylesheet\" href=\"/css/site.css\"></head>\n<body><header><nav><a href=\"/\">Home</a> \
             <a href=\"/posts/\">Posts</a></nav></header>\n<main><article><h1>Post {page}</h1>\n{body}</article>\n\
             <section id=\"comments\" data-kiln-thread></section></main><footer>© Example</footer></body></html>\n"
        );
        fs::write(dir.join("index.html"), html).unwrap();
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

#[test]
#[ignore]
fn ten_thousand_pages() {
    let dir =
        tempfile::tempdir_in(std::env::var_os("KILN_PERF_DIR").unwrap_or_else(|| "/tmp".into()))
            .unwrap();
    let root = dir.path().join("site");
    let mut source = source();
    let mut opts = BakeOptions::new(&root);
    opts.site_url = "https://example.org".into();
    opts.render.receiver_url = "https://comments.example.org".into();

    let mut floors = Vec::new();
    let mut bakes = Vec::new();
    let rounds: usize = std::env::var("KILN_PERF_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for round in 0..rounds {
        let _ = fs::remove_dir_all(&root);
        write_site(&root);
        let (pages, floor) = time(|| rewrite_floor(&root).unwrap());
        assert_eq!(pages, PAGES);
        let (summary, full) = time(|| bake(&mut source, &opts).unwrap());
        assert_eq!(summary.files_changed, PAGES);
        assert_eq!(summary.comments as usize, PAGES * COMMENTS_PER_PAGE);
        let (_, floor_after) = time(|| rewrite_floor(&root).unwrap());
        println!("round {round}: floor {floor:?}, full bake {full:?}, floor again {floor_after:?}");
        floors.push((floor + floor_after) / 2);
        bakes.push(full);
    }
    let floor: Duration = floors.iter().sum::<Duration>() / floors.len() as u32;
    let full: Duration = bakes.iter().sum::<Duration>() / bakes.len() as u32;
    println!(
        "mean floor {floor:?}, mean full bake {full:?}, ratio {:.3}",
        full.as_secs_f64() / floor.as_secs_f64()
    );

    opts.state_file = Some(dir.path().join("state.json"));
    let (summary, with_state) = time(|| bake(&mut source, &opts).unwrap());
    println!("bake writing the state first: {with_state:?} ({summary})");
    let (summary, idle) = time(|| bake(&mut source, &opts).unwrap());
    println!("idle re-bake: {idle:?} ({summary})");
    assert_eq!(summary.files_changed, 0);
    for n in 0..5 {
        let thread_id = format!("/posts/p{}/", n * 997);
        let thread = source.threads.get_mut(&thread_id).unwrap();
        thread.comments.push(Comment {
            id: 1_000_000 + n,
            parent: None,
            status: CommentStatus::Approved,
            author: "Newcomer".into(),
            website: None,
            text: "Just approved.".into(),
            created_at: unix_to_rfc3339(1_800_000_000),
        });
        *source.versions.get_mut(&thread_id).unwrap() += 1;
        let (summary, rebake) = time(|| bake(&mut source, &opts).unwrap());
        assert_eq!(summary.files_changed, 1);
        println!("re-bake after one approval: {rebake:?} ({summary})");
    }
}

#[test]
#[ignore]
fn render_only() {
    let source = source();
    let renderer = kiln_bake::Renderer::new(Default::default()).unwrap();
    let threads: Vec<&Thread> = source.threads.values().collect();
    let (bytes, took) = time(|| {
        threads
            .iter()
            .map(|t| {
                renderer
                    .render_thread(&kiln_bake::ThreadArgs {
                        id: &t.id,
                        thread: Some(t),
                        page_url: "https://example.org/x/",
                        id_prefix: "kiln-1",
                    })
                    .unwrap()
                    .len()
            })
            .sum::<usize>()
    });
    println!(
        "rendered {} threads on one core in {took:?} ({bytes} bytes)",
        threads.len()
    );
    let (_, md) = time(|| {
        for t in &threads {
            for c in &t.comments {
                std::hint::black_box(kiln_bake::markdown::to_html(&c.text));
            }
        }
    });
    println!("markdown alone: {md:?}");
}

/// User and system CPU seconds used by this process so far (Linux only).
fn cpu() -> (f64, f64) {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (tick(11), tick(12))
}

#[test]
#[ignore]
fn floor_vs_bake_cpu() {
    let dir =
        tempfile::tempdir_in(std::env::var_os("KILN_PERF_DIR").unwrap_or_else(|| "/tmp".into()))
            .unwrap();
    let root = dir.path().join("site");
    write_site(&root);
    let mut source = source();
    let opts = BakeOptions::new(&root);
    for _ in 0..2 {
        let (u, s) = cpu();
        let (_, took) = time(|| rewrite_floor(&root).unwrap());
        let (u2, s2) = cpu();
        println!("floor {took:?}: user {:.2} sys {:.2}", u2 - u, s2 - s);
    }
    let (u, s) = cpu();
    let (_, took) = time(|| bake(&mut source, &opts).unwrap());
    let (u2, s2) = cpu();
    println!("bake {took:?}: user {:.2} sys {:.2}", u2 - u, s2 - s);
    let (u, s) = cpu();
    let (_, took) = time(|| bake(&mut source, &opts).unwrap());
    let (u2, s2) = cpu();
    println!(
        "bake without writes {took:?}: user {:.2} sys {:.2}",
        u2 - u,
        s2 - s
    );
    for _ in 0..2 {
        let (u, s) = cpu();
        let (_, took) = time(|| rewrite_floor(&root).unwrap());
        let (u2, s2) = cpu();
        println!(
            "floor of baked pages {took:?}: user {:.2} sys {:.2}",
            u2 - u,
            s2 - s
        );
    }
}

#[test]
#[ignore]
fn fresh_bake_only() {
    let dir =
        tempfile::tempdir_in(std::env::var_os("KILN_PERF_DIR").unwrap_or_else(|| "/tmp".into()))
            .unwrap();
    let root = dir.path().join("site");
    write_site(&root);
    let mut source = source();
    let opts = BakeOptions::new(&root);
    let (u, s) = cpu();
    let (_, took) = time(|| bake(&mut source, &opts).unwrap());
    let (u2, s2) = cpu();
    println!("fresh bake {took:?}: user {:.2} sys {:.2}", u2 - u, s2 - s);
}
