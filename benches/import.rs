//! The import benchmark: a generated Disqus export of 1,000,000 comments
//! over 10,000 threads (a third of them replies, some spam, some deleted
//! with and without replies), imported by `kiln_receiver::import::run` into
//! a fresh SQLite file, as `kiln import disqus FILE` does. It prints the
//! file's size, the wall time and the process's peak resident memory. Run
//! on demand, never in the tests:
//!
//!     cargo bench --bench import
//!
//! `IMPORT_COMMENTS` and `IMPORT_THREADS` change the size.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use kiln_receiver::import::{self, Format, Options};
use kiln_receiver::store::{self, Mode};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let comments = env_usize("IMPORT_COMMENTS", 1_000_000);
    let threads = env_usize("IMPORT_THREADS", 10_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let xml = tmp.path().join("export.xml");
    eprintln!("writing a Disqus export of {comments} comments over {threads} threads...");
    write_export(&xml, comments, threads).expect("write the export");
    let size = std::fs::metadata(&xml).expect("export size").len();

    let db = tmp.path().join("kiln.sqlite3");
    let mut store = store::open(&db, Mode::ReadWrite).expect("open store");
    let started = Instant::now();
    let report = import::run(
        store.as_mut(),
        Some(Format::Disqus),
        &xml,
        &Options::default(),
        false,
    )
    .expect("import");
    let took = started.elapsed();
    println!(
        "import of {} MB ({comments} comments): {:.1} s, {} stored, peak RSS {} MB",
        size / 1_000_000,
        took.as_secs_f64(),
        report.added_total(),
        peak_rss_kb() / 1024
    );
    for (status, n) in &report.added {
        println!("  {status}: {n}");
    }
    println!(
        "  skipped: {}, unplaced: {}",
        report.skipped.len(),
        report.unplaced.len()
    );
}

/// The process's peak resident set (VmHWM), in kB; 0 where /proc is absent.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn write_export(path: &Path, comments: usize, threads: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        r#"<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">"#
    )?;
    for t in 0..threads {
        writeln!(
            out,
            "<thread dsq:id=\"t{t}\"><id/><link>https://blog.example/posts/{t}/</link>\
             <title>Post {t}</title><isDeleted>false</isDeleted></thread>"
        )?;
    }
    for c in 0..comments {
        let thread = c % threads;
        // Every third comment answers the one `threads` before it, which is
        // on the same thread: chains grow several levels deep.
        let parent = if c % 3 == 2 && c >= threads {
            format!("<parent dsq:id=\"{}\"/>", c - threads)
        } else {
            String::new()
        };
        let spam = c % 97 == 0;
        let deleted = c % 89 == 0;
        let (day, second) = (c / 86_400 % 28 + 1, c % 86_400);
        writeln!(
            out,
            "<post dsq:id=\"{c}\"><id/><message><![CDATA[<p>Comment {c} with a \
             <a href=\"https://example.org/{c}\">link</a> &amp; <b>some</b> words \
             about post {thread}.</p>]]></message>\
             <createdAt>2020-01-{day:02}T{:02}:{:02}:{:02}Z</createdAt>\
             <isDeleted>{deleted}</isDeleted><isSpam>{spam}</isSpam>\
             <author><name>Reader {}</name><email>reader{}@example.org</email>\
             <isAnonymous>false</isAnonymous></author><ipAddress>192.0.2.1</ipAddress>\
             <thread dsq:id=\"t{thread}\"/>{parent}</post>",
            second / 3600,
            second / 60 % 60,
            second % 60,
            c % 5000,
            c % 5000,
        )?;
    }
    writeln!(out, "</disqus>")?;
    out.flush()
}
