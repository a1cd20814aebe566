//! `[publish]`: what runs after a change to what pages show (in-place
//! bakes, build hooks, a command), with its timing. Hook values may name
//! environment variables as `${NAME}`, read when a hook is called; they are
//! expanded here so validation and the publisher read them the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The `[publish]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Publish {
    /// Directories of the deployed site (what the web server serves) that the
    /// receiver re-bakes in place after every change. Default: none.
    pub in_place: Vec<PathBuf>,
    /// Where in-place bakes keep their state (`kiln.publish-N.state`).
    /// Default: beside the SQLite database (`kiln.sqlite3.publish-N.state`),
    /// or the working directory with PostgreSQL. Only the receiver that
    /// publishes writes it, so with several receivers `in_place` must be a
    /// directory that receiver's machine serves, or a shared one.
    pub state_dir: Option<PathBuf>,
    /// How often to look for changes made by other processes (`kiln approve`
    /// and friends), in milliseconds, with SQLite. Changes made through this
    /// receiver are seen at once, and with PostgreSQL every change announces
    /// itself. Default: 100.
    pub poll_ms: u64,
    /// Hooks and the command wait this long after the first change, so a
    /// burst of approvals makes one call. Default: 10000 (10 s).
    pub debounce_ms: u64,
    /// Attempts per hook call, the first included. Default: 5.
    pub hook_attempts: u32,
    /// Wait before the first retry, doubled for each further one.
    /// Default: 2000.
    pub retry_ms: u64,
    /// Build hooks, each `[[publish.hooks]]`. Default: none.
    pub hooks: Vec<Hook>,
    /// A command run with `sh -c` after changes, e.g.
    /// `"hugo && kiln bake public"`. Default: none.
    pub command: String,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            in_place: Vec::new(),
            state_dir: None,
            poll_ms: 100,
            debounce_ms: 10_000,
            hook_attempts: 5,
            retry_ms: 2_000,
            hooks: Vec::new(),
            command: String::new(),
        }
    }
}

/// One build hook. `url`, header values and `body` may name environment
/// variables as `${NAME}`; they are read when the hook is called, so secrets
/// stay out of the config file, and they are never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Hook {
    /// Shown in logs and on the admin page. Default: the URL's host.
    pub name: String,
    /// Where the POST goes; http(s). Required.
    pub url: String,
    /// Extra request headers, by name. Default: none.
    pub headers: BTreeMap<String, String>,
    /// The request body. Default: empty.
    pub body: String,
}

impl Hook {
    /// What logs and the admin page call the hook.
    pub fn label(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        // The host only: paths and queries of build hooks are often secret.
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "hook".into())
    }
}

impl Publish {
    /// Checks every key; errors name it. Whether the hooks' environment
    /// variables are set is checked when the receiver starts (the moderation
    /// commands read the same file but call no hook).
    pub fn validate(&self) -> Result<()> {
        self.check(false)
    }

    /// `validate`, and also that every variable the hooks name is set: what
    /// the receiver checks before it starts publishing.
    pub fn validate_with_environment(&self) -> Result<()> {
        self.check(true)
    }

    fn check(&self, environment: bool) -> Result<()> {
        let expand = |text: &str| {
            if environment {
                expand_env(text)
            } else {
                expand_with(text, |_| Some("x".into()))
            }
        };
        for (i, dir) in self.in_place.iter().enumerate() {
            if !dir.is_dir() {
                bail!(
                    "`publish.in_place[{i}]` = {} is not a directory; build the site first",
                    dir.display()
                );
            }
        }
        if let Some(dir) = &self.state_dir {
            if !dir.is_dir() {
                bail!(
                    "`publish.state_dir` = {} is not a directory; create it, or remove the key to keep the state beside the database",
                    dir.display()
                );
            }
        }
        if !(10..=60_000).contains(&self.poll_ms) {
            bail!("`publish.poll_ms` must be between 10 and 60000");
        }
        if self.debounce_ms > 3_600_000 {
            bail!("`publish.debounce_ms` must be at most 3600000 (an hour)");
        }
        if !(1..=20).contains(&self.hook_attempts) {
            bail!("`publish.hook_attempts` must be between 1 and 20");
        }
        if self.retry_ms > 600_000 {
            bail!("`publish.retry_ms` must be at most 600000 (ten minutes)");
        }
        for (i, hook) in self.hooks.iter().enumerate() {
            let key = format!("publish.hooks[{i}]");
            let url = expand(&hook.url).with_context(|| format!("`{key}.url`"))?;
            let ok = url::Url::parse(&url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                bail!("`{key}.url` is not an http(s) URL");
            }
            for (name, value) in &hook.headers {
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    bail!("`{key}.headers` has an invalid header name {name:?}");
                }
                let value = expand(value).with_context(|| format!("`{key}.headers.{name}`"))?;
                if reqwest::header::HeaderValue::from_str(&value).is_err() {
                    bail!("`{key}.headers.{name}` holds characters a header cannot carry");
                }
            }
            expand(&hook.body).with_context(|| format!("`{key}.body`"))?;
        }
        Ok(())
    }

    /// Whether any strategy is configured.
    pub fn is_on(&self) -> bool {
        !self.in_place.is_empty() || !self.hooks.is_empty() || !self.command.trim().is_empty()
    }
}

/// Replaces each `${NAME}` with the environment variable's value.
pub fn expand_env(template: &str) -> Result<String> {
    let mut missing = None;
    let out = expand_with(template, |name| {
        let value = std::env::var(name).ok().filter(|v| !v.is_empty());
        if value.is_none() && missing.is_none() {
            missing = Some(name.to_owned());
        }
        value
    })?;
    match missing {
        Some(name) => bail!("uses ${{{name}}}, which is not set in the environment"),
        None => Ok(out),
    }
}

/// Replaces each `${NAME}` with `lookup(NAME)` (nothing when `None`).
fn expand_with(template: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("has an unclosed ${{");
        };
        out.push_str(&lookup(&after[..end]).unwrap_or_default());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_reads_the_environment_and_names_missing_variables() {
        std::env::set_var("KILN_PUBLISH_TEST_SECRET", "s3cret");
        assert_eq!(
            expand_env("Bearer ${KILN_PUBLISH_TEST_SECRET}!").unwrap(),
            "Bearer s3cret!"
        );
        let err = expand_env("${KILN_PUBLISH_TEST_UNSET}").unwrap_err();
        assert!(err.to_string().contains("KILN_PUBLISH_TEST_UNSET"), "{err}");
        assert!(expand_env("${OPEN").is_err());
    }

    #[test]
    fn the_state_dir_must_be_a_directory_and_errors_name_the_key() {
        let err =
            super::super::validation_error("[publish]\nstate_dir = \"/nonexistent/kiln-state\"");
        assert!(err.contains("`publish.state_dir`"), "{err}");
        assert!(err.contains("/nonexistent/kiln-state"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::parse(&format!(
            "[publish]\nstate_dir = {:?}",
            dir.path().display().to_string()
        ))
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.publish.state_dir.as_deref(), Some(dir.path()));
    }
}
