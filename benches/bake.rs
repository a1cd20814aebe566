//! The bake benchmark: a synthetic site of 10,000 pages with 100,000
//! comments in a real SQLite file. It measures the floor (read every page and
//! rewrite it atomically, no rendering), the parse floor (the same, with
//! each page also parsed for its placeholders as a bake parses it), a full
//! bake, a no-change re-bake, and the re-bake after one new approval, with
//! the CPU time of the first three, and the comment load alone with every
//! like counted and with likes left out (reactions off). Run on demand,
//! never in the tests:
//!
//!     cargo bench --bench bake
//!
//! `BAKE_PAGES`, `BAKE_COMMENTS` and `BAKE_ROUNDS` change the size and rounds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiln_bake::export::{unix_to_rfc3339, Comment, CommentStatus, Export, Thread};
use kiln_bake::BakeOptions;
use kiln_receiver::store::{self, Mode, NewComment, Status, Store};

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
    let mut store = store::open(&db, Mode::ReadWrite).expect("open store");
    store
        .import(&synthetic_export(pages, comments))
        .expect("import");

    let mut floors = Vec::new();
    let mut fulls = Vec::new();
    let mut ratios = Vec::new();
    let mut parses = Vec::new();
    let mut parse_ratios = Vec::new();
    let mut unchanged = Vec::new();
    let mut one = Vec::new();
    let mut one_vouched = Vec::new();
    let mut loads_counted = Vec::new();
    let mut loads_left_out = Vec::new();
    for round in 1..=rounds {
        let floor_site = tmp.path().join(format!("floor-{round}"));
        let parse_site = tmp.path().join(format!("parse-{round}"));
        let bake_site = tmp.path().join(format!("bake-{round}"));
        write_site(&floor_site, pages);
        write_site(&parse_site, pages);
        write_site(&bake_site, pages);
        let state = tmp.path().join(format!("state-{round}.json"));
        let options = BakeOptions {
            site_url: SITE.into(),
            state_file: Some(state),
            render: kiln_bake::RenderOptions {
                receiver_url: "https://comments.blog.example".into(),
                ..Default::default()
            },
            // As `kiln bake` does by default (`bake.stylesheet`).
            stylesheet: Some("kiln.css".into()),
            ..BakeOptions::new(&bake_site)
        };

        let floor = || {
            let (t, cpu) = (Instant::now(), Cpu::now());
            let n = kiln_bake::rewrite_floor(&floor_site).expect("floor");
            assert_eq!(n, pages);
            (t.elapsed(), cpu.since())
        };
        let parse = || {
            let (t, cpu) = (Instant::now(), Cpu::now());
            let n = kiln_bake::parse_floor(&parse_site).expect("parse floor");
            assert_eq!(n, pages);
            (t.elapsed(), cpu.since())
        };
        let full = || {
            let (t, cpu) = (Instant::now(), Cpu::now());
            let summary = bake(&db, &options);
            let elapsed = (t.elapsed(), cpu.since());
            // Every page, and the stylesheet.
            assert_eq!(summary.files_changed, pages + 1, "{summary}");
            // Each earlier round added two approved comments.
            assert_eq!(
                summary.comments,
                (comments + 2 * (round - 1)) as u64,
                "{summary}"
            );
            elapsed
        };
        // Take turns going first, so that none always meets the disk still
        // busy writing back another's 100 MB.
        let mut measured = [None; 3];
        for phase in (0..3).map(|i| (i + round) % 3) {
            settle();
            measured[phase] = Some(match phase {
                0 => floor(),
                1 => parse(),
                _ => full(),
            });
        }
        let [(floor, floor_cpu), (parsed, parse_cpu), (full, full_cpu)] =
            measured.map(Option::unwrap);
        floors.push(floor);
        parses.push(parsed);
        parse_ratios.push(parsed.as_secs_f64() / floor.as_secs_f64());
        fulls.push(full);
        ratios.push(full.as_secs_f64() / floor.as_secs_f64());

        // Re-bakes, like real approvals, come after the last bake's pages
        // were written back.
        settle();
        let t = Instant::now();
        let summary = bake(&db, &options);
        unchanged.push(t.elapsed());
        assert_eq!(summary.files_changed, 0, "{summary}");

        // One new comment, approved, on one page.
        let thread = format!("/posts/p{}/", round * 7 % pages);
        let new = NewComment {
            page_url: format!("{SITE}{thread}"),
            ..NewComment::sample(
                &thread,
                "Bench",
                &format!("A new comment in round {round}."),
            )
        };
        let approve_one = |store: &mut dyn Store, text: String| {
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
        approve_one(store.as_mut(), format!("A new comment in round {round}."));
        settle();
        let t = Instant::now();
        let summary = bake(&db, &options);
        one.push(t.elapsed());
        assert_eq!(summary.files_changed, 1, "{summary}");

        // The same, as the receiver's in-place publisher bakes when its
        // watch saw no one else write to the site: no walk of the tree.
        approve_one(store.as_mut(), format!("Another one in round {round}."));
        let vouched = BakeOptions {
            listing_unchanged: true,
            ..options.clone()
        };
        settle();
        let t = Instant::now();
        let summary = bake(&db, &vouched);
        one_vouched.push(t.elapsed());
        assert_eq!(summary.files_changed, 1, "{summary}");

        // The comment load alone, as a full bake reads it: with every
        // comment's likes counted (reactions on) and left out (off),
        // taking turns going first.
        let load = |likes: bool| {
            let mut source =
                store::open_source(db.as_path(), false, store::DEFAULT_SITE).expect("open source");
            if !likes {
                source.leave_out_likes();
            }
            let t = Instant::now();
            let threads = source.threads(None).expect("load");
            let elapsed = t.elapsed();
            let read: usize = threads.iter().map(|t| t.comments.len()).sum();
            assert_eq!(read, comments + 2 * round, "comments loaded");
            elapsed
        };
        let (mut counted, mut left_out) = (Duration::MAX, Duration::MAX);
        for turn in 0..10 {
            let likes = (turn + round) % 2 == 0;
            let took = load(likes);
            let fastest = if likes { &mut counted } else { &mut left_out };
            *fastest = took.min(*fastest);
        }
        loads_counted.push(counted);
        loads_left_out.push(left_out);
        eprintln!(
            "round {round}: floor {:.3} s ({floor_cpu}), parse floor {:.3} s ({parse_cpu}), {:.3}x; \
             full bake {:.3} s ({full_cpu}), {:.3}x; \
             unchanged re-bake {:.1} ms, one approval {:.1} ms, in place {:.1} ms; \
             comment load {:.1} ms, without likes {:.1} ms",
            floor.as_secs_f64(),
            parsed.as_secs_f64(),
            parse_ratios.last().unwrap(),
            full.as_secs_f64(),
            ratios.last().unwrap(),
            ms(*unchanged.last().unwrap()),
            ms(*one.last().unwrap()),
            ms(*one_vouched.last().unwrap()),
            ms(*loads_counted.last().unwrap()),
            ms(*loads_left_out.last().unwrap())
        );
        std::fs::remove_dir_all(&floor_site).ok();
        std::fs::remove_dir_all(&parse_site).ok();
        std::fs::remove_dir_all(&bake_site).ok();
    }
    let (floor, full) = (median(&mut floors), median(&mut fulls));
    ratios.sort_by(f64::total_cmp);
    parse_ratios.sort_by(f64::total_cmp);
    println!("pages: {pages}, comments: {comments}, rounds: {rounds} (medians)");
    println!(
        "floor (read + atomic rewrite, no rendering): {:.3} s",
        floor.as_secs_f64()
    );
    println!(
        "parse floor (the same, parsed for placeholders): {:.3} s ({:.3}x the floor, from {:.3}x to {:.3}x)",
        median(&mut parses).as_secs_f64(),
        parse_ratios[parse_ratios.len() / 2],
        parse_ratios[0],
        parse_ratios[parse_ratios.len() - 1]
    );
    println!(
        "full bake:                                   {:.3} s",
        full.as_secs_f64(),
    );
    println!(
        "full bake / floor, round by round:           {:.3}x (from {:.3}x to {:.3}x)",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
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
    println!(
        "comment load, likes counted / left out:      {:.1} ms / {:.1} ms",
        ms(median(&mut loads_counted)),
        ms(median(&mut loads_left_out))
    );
}

fn bake(db: &Path, options: &BakeOptions) -> kiln_bake::Summary {
    let mut source = store::open_source(db, false, store::DEFAULT_SITE).expect("open source");
    kiln_bake::bake(source.as_mut(), options).expect("bake")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes back everything the kernel holds dirty (`sync`), so that each
/// measurement starts from the same quiet disk instead of paying for the
/// writeback of the site copies and the measurements before it.
fn settle() {
    let synced = std::process::Command::new("sync").status();
    if !synced.as_ref().is_ok_and(|s| s.success()) {
        eprintln!("could not run sync: {synced:?}; timings will be noisier");
    }
}

/// The process's CPU time so far, user and system, from `/proc/self/stat`
/// (Linux; zero elsewhere). A full bake and the floor differ in both: the
/// bake parses and renders (user), and writes bigger pages (system).
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

impl Cpu {
    fn now() -> Cpu {
        let fields = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                // Fields after the command name, which is in parentheses.
                let rest = stat.get(stat.rfind(')')? + 2..)?.to_owned();
                let ticks: Vec<f64> = rest
                    .split(' ')
                    .skip(11)
                    .take(2)
                    .map(|f| f.parse().unwrap_or(0.0))
                    .collect();
                // Clock ticks are 1/100 s on Linux.
                Some(Cpu {
                    user: *ticks.first()? / 100.0,
                    system: *ticks.get(1)? / 100.0,
                })
            });
        fields.unwrap_or(Cpu {
            user: 0.0,
            system: 0.0,
        })
    }

    fn since(self) -> Cpu {
        let now = Cpu::now();
        Cpu {
            user: now.user - self.user,
            system: now.system - self.system,
        }
    }
}

impl std::fmt::Display for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cpu {:.2} s user, {:.2} s sys", self.user, self.system)
    }
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
            likes: 0,
            verified: false,
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
