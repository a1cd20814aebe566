//! `kiln healthcheck`: asks a running receiver's `/healthz` and turns the
//! answer into an exit code, so that an image with no shell and no curl
//! (the Containerfile's `FROM scratch`) can still have a HEALTHCHECK, and
//! Compose a `test:` in exec form.
//!
//! It uses reqwest's blocking client, which the binary already carries (the
//! receiver and bake use it), rather than a hand-written HTTP exchange on a
//! TcpStream: no new code to parse responses, and the same timeouts and
//! error messages as every other HTTP call kiln makes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;

use crate::cli::HealthcheckArgs;

/// Checks `/healthz`; `Ok` with the line to print when it answered 200.
pub fn run(args: &HealthcheckArgs, config: Option<&std::path::Path>) -> Result<String> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let config = Config::load(config)?;
            healthz_url(config.listen_addr()?)
        }
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        // The receiver is local: an HTTP_PROXY meant for the outside world
        // must not carry the check elsewhere, and a redirect is no answer.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the HTTP client")?;
    let answer = client
        .get(&url)
        .send()
        .with_context(|| format!("{url} did not answer"))?;
    let status = answer.status();
    let body = answer.text().unwrap_or_default();
    let body = first_line(&body);
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}: {body}");
    }
    Ok(format!("{url} answered {status}: {body}"))
}

/// The `/healthz` URL of a receiver listening on `listen`. An unspecified
/// address (0.0.0.0, [::]) listens on every interface, loopback included,
/// so the check goes to loopback: the only one sure to be there.
pub fn healthz_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/healthz", SocketAddr::new(ip, listen.port()))
}

/// The body's first line, at most 200 characters: one line of output.
fn first_line(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None if line.is_empty() => "(empty body)".to_owned(),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_checked_on_loopback() {
        let url = |s: &str| healthz_url(s.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/healthz");
        assert_eq!(url("127.0.0.2:9000"), "http://127.0.0.2:9000/healthz");
        assert_eq!(url("[::1]:80"), "http://[::1]:80/healthz");
        assert_eq!(url("192.0.2.7:8080"), "http://192.0.2.7:8080/healthz");
    }

    #[test]
    fn the_answer_is_cut_to_one_line() {
        assert_eq!(first_line("draining\n"), "draining");
        assert_eq!(first_line("a\nb\n"), "a");
        assert_eq!(first_line(""), "(empty body)");
        let long = "x".repeat(300);
        assert_eq!(first_line(&long).chars().count(), 201);
    }
}
