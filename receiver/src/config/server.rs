//! `[server]`: where the receiver listens, how browsers reach it, and the
//! secrets it holds (the export token, the signing key).

use std::net::SocketAddr;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use super::check_base_url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address and port to listen on. Default: `127.0.0.1:8080`.
    pub listen: String,
    /// The URL readers' browsers reach the receiver at; forms post to
    /// `{public_url}/comments`. Default: empty, meaning `http://{listen}`.
    pub public_url: String,
    /// Bearer token for `GET /api/export`. Default: empty, which disables the
    /// export API. Set it from the environment (`KILN_SERVER_EXPORT_TOKEN`)
    /// rather than in a file you commit.
    pub export_token: String,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    /// Default: 131072 (128 KiB).
    pub max_body_bytes: usize,
    /// The key that signs links in emails (and other tokens). Default: empty,
    /// meaning a random key created once and kept in the database. Set it
    /// (32+ characters, from `KILN_SERVER_SECRET`) to share it between hosts.
    pub secret: String,
    /// On SIGTERM or Ctrl-C, how long to keep serving before the listener
    /// closes, in milliseconds: `/healthz` answers 503 "draining" and every
    /// response carries `Connection: close`, so a load balancer moves
    /// traffic elsewhere. Requests in flight always finish. Default: 0.
    pub drain_ms: u64,
}

/// `server.drain_ms`' largest value: ten minutes.
const MAX_DRAIN_MS: u64 = 600_000;

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            export_token: String::new(),
            max_body_bytes: 128 * 1024,
            secret: String::new(),
            drain_ms: 0,
        }
    }
}

impl Server {
    /// Checks every key of the section on its own; `Config::validate` checks
    /// `max_body_bytes` against `[limits]` too.
    pub fn validate(&self) -> Result<()> {
        self.listen_addr()?;
        if !self.public_url.is_empty() {
            check_base_url("server.public_url", &self.public_url)?;
        }
        if self.max_body_bytes < 1024 {
            bail!("`server.max_body_bytes` must be at least 1024");
        }
        if self.drain_ms > MAX_DRAIN_MS {
            bail!(
                "`server.drain_ms` = {} is more than ten minutes ({MAX_DRAIN_MS}); a load balancer needs a few health checks' time, usually a few seconds",
                self.drain_ms
            );
        }
        if !self.secret.is_empty() && self.secret.len() < 32 {
            bail!("`server.secret` is shorter than 32 characters; use a long random value, or leave it empty to let kiln keep one in the database");
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.listen.parse().map_err(|_| {
            anyhow!(
                "`server.listen` = {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )
        })
    }
}
