//! A build-hook endpoint for the tests of publishing (tests/suite/publish.rs,
//! and tests/suite/replicas.rs, where one change must make one call however
//! many receivers share the database): a real HTTP server on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A build-hook endpoint: records each request's headers and body, and
/// answers the first `failures` with 500, the rest with 204.
pub struct HookServer {
    pub url: String,
    pub calls: Arc<Mutex<Vec<(Instant, String, String)>>>,
}

impl HookServer {
    pub fn start(failures: usize) -> HookServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/dispatch", listener.local_addr().unwrap());
        let calls: Arc<Mutex<Vec<(Instant, String, String)>>> = Arc::default();
        let kept = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let n = {
                    let mut calls = kept.lock().unwrap();
                    calls.push((Instant::now(), head, String::from_utf8(body).unwrap()));
                    calls.len()
                };
                let status = if n <= failures {
                    "500 Internal Server Error"
                } else {
                    "204 No Content"
                };
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        HookServer { url, calls }
    }

    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}
