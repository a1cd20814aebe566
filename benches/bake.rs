//! The bake benchmark: a synthetic site of 10,000 pages with 100,000
//! comments in a real SQLite file. It measures the floor (read every page and
//! rewrite it atomically, no rendering), a full bake, a no-change re-bake, and
//! the re-bake after one new approval. Run on demand, never in the tests:
//!
//!     cargo bench --bench bake
//!
//! `BAKE_PAGES`, `BAKE_COMMENTS` and `BAKE_ROUNDS` change the size and rounds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Export, Thread};
use kiln_bake::BakeOptions;
use kiln_receiver::store::{NewComment, SqliteSource, Status, Store};

const SITE: &str = "https://blog.example";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let pages = env_usize("BAKE_PAGES", 10_000);
    let comments = env_usize("BAKE_COMMENTS", 100_000);
    let rounds = env_usize("BAKE_ROUNDS", 3);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("kiln.sqlite3");

    eprintln!("seeding {comments} comments over {pages} threads...");
    let mut store = Store::open(&db).expect("open store");
    store
        .import(&synthetic_export(pages, comments))
        .expect("import");

    let mut floors = Vec::new();
    let mut fulls = Vec::new();
    let mut unchanged = Vec::new();
    let mut one = Vec::new();
    let mut one_vouched = Vec::new();
    for round in 1..=rounds {
        let floor_site = tmp.path().join(format!("floor-{round}"));
        let bake_site = tmp.path().join(format!("bake-{round}"));
        write_site(&floor_site, pages);
        write_site(&bake_site, pages);
        let state = tmp.path().join(format!("state-{round}.json"));
        let options = BakeOptions {
            site_url: SITE.into(),
            state_file: Some(state),
            render: kiln_bake::RenderOptions {
                receiver_url: "https://comments.blog.example".into(),
                ..Default::default()
            },
            ..BakeOptions::new(&bake_site)
        };

        // Alternate which goes first, so neither always meets the disk
        // still busy writing back the other's 100 MB.
        let floor = || {
            let t = Instant::now();
            let n = kiln_bake::rewrite_floor(&floor_site).expect("floor");
            assert_eq!(n, pages);
            t.elapsed()
        };
        let full = || {
            let t = Instant::now();
            let summary = bake(&db, &options);
            let elapsed = t.elapsed();
            assert_eq!(summary.files_changed, pages, "{summary}");
            // Each earlier round added two approved comments.
            assert_eq!(
                summary.comments,
                (comments + 2 * (round - 1)) as u64,
                "{summary}"
            );
            elapsed
        };
        if round % 2 == 1 {
            floors.push(floor());
            fulls.push(full());
        } else {
            fulls.push(full());
            floors.push(floor());
        }

        let t = Instant::now();
        let summary = bake(&db, &options);
        unchanged.push(t.elapsed());
        assert_eq!(summary.files_changed, 0, "{summary}");

        // One new comment, approved, on one page.
        let thread = format!("/posts/p{}/", round * 7 % pages);
        let new = NewComment {
            thread: thread.clone(),
            page_url: format!("{SITE}{thread}"),
            page_title: String::new(),
            parent: None,
            author: "Bench".into(),
            email: None,
            website: None,
            text: format!("A new comment in round {round}."),
            remote_addr: None,
        };
        let approve_one = |store: &mut Store, text: String| {
            let stored = store
                .insert(
                    &NewComment {
                        text,
                        ..new.clone()
                    },
                    Status::Pending,
                    1_800_000_000,
                )
                .unwrap()
                .unwrap();
            store.approve(&[stored.id], 1_800_000_001).unwrap().unwrap();
        };
        approve_one(&mut store, format!("A new comment in round {round}."));
        let t = Instant::now();
        let summary = bake(&db, &options);
        one.push(t.elapsed());
        assert_eq!(summary.files_changed, 1, "{summary}");

        // The same, as the receiver's in-place publisher bakes when its
        // watch saw no one else write to the site: no walk of the tree.
        approve_one(&mut store, format!("Another one in round {round}."));
        let vouched = BakeOptions {
            listing_unchanged: true,
            ..options.clone()
        };
        let t = Instant::now();
        let summary = bake(&db, &vouched);
        one_vouched.push(t.elapsed());
        assert_eq!(summary.files_changed, 1, "{summary}");
        eprintln!(
            "round {round}: floor {:?}, full bake {:?}, unchanged re-bake {:?}, one approval {:?}, in place {:?}",
            floors.last().unwrap(),
            fulls.last().unwrap(),
            unchanged.last().unwrap(),
            one.last().unwrap(),
            one_vouched.last().unwrap()
        );
        std::fs::remove_dir_all(&floor_site).ok();
        std::fs::remove_dir_all(&bake_site).ok();
    }
    let (floor, full) = (median(&mut floors), median(&mut fulls));
    println!("pages: {pages}, comments: {comments}, rounds: {rounds} (medians)");
    println!(
        "floor (read + atomic rewrite, no rendering): {:.3} s",
        floor.as_secs_f64()
    );
    println!(
        "full bake:                                   {:.3} s ({:.3}x the floor)",
        full.as_secs_f64(),
        full.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "re-bake, nothing changed:                    {:.1} ms",
        ms(median(&mut unchanged))
    );
    println!(
        "re-bake after one approval (1 file written): {:.1} ms",
        ms(median(&mut one))
    );
    println!(
        "the same in place (listing vouched for):     {:.1} ms",
        ms(median(&mut one_vouched))
    );
}

fn bake(db: &Path, options: &BakeOptions) -> kiln_bake::Summary {
    let mut source = SqliteSource::open(db, false).expect("open source");
    kiln_bake::bake(&mut source, options).expect("bake")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `comments` comments spread over `threads` threads; about a third are
/// replies, some of them nested several levels deep.
fn synthetic_export(threads: usize, comments: usize) -> Export {
    let mut out: Vec<Thread> = (0..threads)
        .map(|i| Thread {
            id: format!("/posts/p{i}/"),
            url: format!("{SITE}/posts/p{i}/"),
            comments: Vec::new(),
        })
        .collect();
    for id in 1..=comments as i64 {
        let thread = &mut out[(id as usize * 7919) % threads];
        let parent = match thread.comments.last() {
            Some(last) if id % 3 == 0 => Some(last.id),
            _ => None,
        };
        let text = match id % 4 {
            0 => format!("Thanks for comment {id}! See [the docs](https://example.org/docs/{id}) for *more*."),
            1 => "I tried this and it worked.\n\n- first step\n- second step\n\n`code` helps.".to_owned(),
            2 => format!("> quoting someone\n\nAnd my **own** reply number {id}, with a link: https://example.com/x"),
            _ => "Short one.".to_owned(),
        };
        thread.comments.push(Comment {
            id,
            parent,
            status: CommentStatus::Approved,
            author: format!("Reader {}", id % 500),
            website: (id % 5 == 0).then(|| format!("https://reader{}.example/", id % 500)),
            text,
            created_at: unix_to_rfc3339(1_700_000_000 + id * 60),
            // The store keys avatars itself (by name here: an export has no addresses).
            avatar: None,
            gravatar: None,
            html: None,
        });
    }
    Export::new(out)
}

/// Pages of about 10 KB each, like a blog post with a theme around it.
fn write_site(root: &Path, pages: usize) {
    let filler: String = (0..78)
        .map(|i| format!("<p>Paragraph {i} of the article, with <a href=\"/tags/t{i}/\">a link</a> and some words to make it the size of a real post.</p>\n"))
        .collect();
    for i in 0..pages {
        let dir: PathBuf = root.join(format!("posts/p{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Post {i}</title>\
             <link rel=\"stylesheet\" href=\"/css/site.css\"></head>\n<body><header><nav><a href=\"/\">Home</a></nav></header>\n\
             <main><article><h1>Post {i}</h1>\n{filler}</article>\n\
             <section class=\"comments\" data-kiln-thread=\"\"></section></main>\n<footer>© Example</footer></body></html>\n"
        );
        std::fs::write(dir.join("index.html"), html).unwrap();
    }
}
