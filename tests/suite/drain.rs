//! Stopping a receiver without losing a request (issue 13's rolling
//! restarts): on SIGTERM a real `kiln serve` drains for `server.drain_ms`
//! (`/healthz` says 503 "draining", answers close their connections,
//! requests are still served), then stops accepting, finishes what is in
//! flight, and exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

const ORIGIN: &str = "http://blog.test";

/// What one request of the load stream came to.
#[derive(Debug)]
enum Outcome {
    /// Answered in full, with this status.
    Answered(u16),
    /// Refused at connect: never accepted, so safe to send elsewhere.
    NotAccepted,
    /// Anything else: accepted, then lost.
    Lost(String),
}

/// One GET of the load stream.
fn fetch(client: &reqwest::blocking::Client, url: &str) -> (Outcome, String) {
    match client.get(url).send() {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.text() {
                Ok(body) => (Outcome::Answered(status), body),
                Err(e) => (Outcome::Lost(format!("{url}: body: {e}")), String::new()),
            }
        }
        Err(e) if e.is_connect() => (Outcome::NotAccepted, String::new()),
        Err(e) => (Outcome::Lost(format!("{url}: {e:?}")), String::new()),
    }
}

/// A comment post's form body.
fn comment(text: &str) -> String {
    form_body(&[
        ("thread", "/posts/drain/"),
        ("url", &format!("{ORIGIN}/posts/drain/")),
        ("text", text),
    ])
}

#[test]
fn sigterm_drains_finishes_requests_in_flight_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::fresh(tmp.path());
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: ORIGIN,
        token: None,
        extra_env: &[("KILN_SERVER_DRAIN_MS", "1500")],
    });
    let url = receiver.url.clone();
    let addr = url.trim_start_matches("http://").to_owned();
    let client = http();
    let before = client.get(format!("{url}/healthz")).send().unwrap();
    assert_eq!(before.status(), 200);
    assert!(before.headers().get("connection").is_none());

    // A load stream, as a load balancer would send it: requests that use
    // the database, a health check between them, and no more requests
    // once the health check says the receiver is draining.
    let started = Arc::new(AtomicBool::new(false));
    let stream = std::thread::spawn({
        let (url, started) = (url.clone(), started.clone());
        move || {
            let client = http();
            let mut outcomes = Vec::new();
            loop {
                let (health, body) = fetch(&client, &format!("{url}/healthz"));
                let draining = matches!(health, Outcome::Answered(503)) && body == "draining\n";
                outcomes.push(health);
                if draining || !matches!(outcomes.last(), Some(Outcome::Answered(200))) {
                    return outcomes;
                }
                let (counts, _) = fetch(&client, &format!("{url}/api/counts?thread=/posts/drain/"));
                outcomes.push(counts);
                started.store(true, Ordering::SeqCst);
            }
        }
    });
    eventually("the load stream runs", Duration::from_secs(30), || {
        started.load(Ordering::SeqCst).then_some(())
    });

    // A slow request: headers and half its body before SIGTERM, the rest
    // only after the listener has closed.
    let body = comment("Sent slowly, across the shutdown.");
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /comments HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    slow.flush().unwrap();

    receiver.terminate();

    // Draining: still served, but telling everyone to go elsewhere.
    let health = eventually("/healthz says draining", Duration::from_secs(30), || {
        let response = client.get(format!("{url}/healthz")).send().unwrap();
        let status = response.status().as_u16();
        let close = response.headers().get("connection").cloned();
        let text = response.text().unwrap();
        if status == 503 {
            Ok((text, close))
        } else {
            Err(format!("{status} {text:?}"))
        }
    });
    assert_eq!(health.0, "draining\n");
    assert_eq!(health.1.unwrap(), "close");
    let mut posted = 0;
    for n in 0..3 {
        let response = client
            .post(format!("{url}/comments"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(comment(&format!("Posted while draining, {n}.")))
            .send()
            .expect("served while draining");
        assert_eq!(response.status(), 303, "a post while draining is stored");
        assert_eq!(response.headers().get("connection").unwrap(), "close");
        posted += 1;
    }

    let outcomes = stream.join().unwrap();
    let lost: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Lost(why) => Some(why.as_str()),
            Outcome::Answered(_) | Outcome::NotAccepted => None,
        })
        .collect();
    assert!(lost.is_empty(), "lost requests: {lost:?}");
    assert!(
        matches!(outcomes.last(), Some(Outcome::Answered(503))),
        "the stream left when the health check said so: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Answered(200)))
            .count()
            >= 2,
        "{outcomes:?}"
    );

    // After the drain the listener closes: a new connection is refused,
    // never accepted and dropped.
    eventually(
        "the listener closes",
        Duration::from_secs(30),
        || match TcpStream::connect(&addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(format!("{e}")),
            Ok(_) => Err("accepted".to_owned()),
        },
    );
    let mut receiver = receiver;
    assert!(
        receiver.exited().is_none(),
        "the receiver waits for the request in flight"
    );
    slow.write_all(rest.as_bytes()).unwrap();
    slow.flush().unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 303"),
        "the request in flight is answered in full: {answer}"
    );

    // The drain is announced once; the health checks that saw it are not
    // errors, however often a load balancer asked.
    let logs = receiver.logs();
    let status = receiver.wait_for_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(
        logs.matches("draining: /healthz answers 503").count(),
        1,
        "{logs}"
    );
    assert!(!logs.contains("ERROR"), "{logs}");
    assert_eq!(
        count_rows(&db, "comments"),
        posted + 1,
        "every post answered 303 is stored"
    );
}
