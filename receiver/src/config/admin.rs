//! `[admin]`: the admin page's sessions and its limits on password guessing.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The admin page (`/admin`). Its password is set with `kiln admin set-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// How long a login lasts, in hours. Default: 12.
    pub session_hours: u64,
    /// Failed logins allowed from one IP address within
    /// `login_window_minutes` before further attempts get 429. Default: 5.
    pub login_failures_per_ip: u32,
    /// Failed logins allowed from all addresses together within the window,
    /// against guessing from many addresses. Default: 50.
    pub login_failures_global: u32,
    /// The window failed logins are counted in, in minutes. Default: 15.
    pub login_window_minutes: u64,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            session_hours: 12,
            login_failures_per_ip: 5,
            login_failures_global: 50,
            login_window_minutes: 15,
        }
    }
}

impl Admin {
    pub fn validate(&self) -> Result<()> {
        if !(1..=24 * 90).contains(&self.session_hours) {
            bail!("`admin.session_hours` must be between 1 and 2160 (90 days)");
        }
        if self.login_failures_per_ip == 0 {
            bail!("`admin.login_failures_per_ip` must be at least 1");
        }
        if self.login_failures_global < self.login_failures_per_ip {
            bail!("`admin.login_failures_global` must be at least `admin.login_failures_per_ip`");
        }
        if !(1..=24 * 60).contains(&self.login_window_minutes) {
            bail!("`admin.login_window_minutes` must be between 1 and 1440 (a day)");
        }
        Ok(())
    }
}
