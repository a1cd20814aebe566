//! `[sites]`: the origins whose pages may post comments and be sent back
//! to, the receiver's first line against forged forms and open redirects.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sites {
    /// Origins (`scheme://host[:port]`) whose pages may post comments and be
    /// redirected back to. Default: the local dev servers of Hugo (1313),
    /// Jekyll (4000), Astro (4321) and Pelican (8000) on 127.0.0.1 and localhost.
    pub origins: Vec<String>,
}

impl Default for Sites {
    fn default() -> Self {
        let mut origins = Vec::new();
        for host in ["127.0.0.1", "localhost"] {
            for port in [1313, 4000, 4321, 8000] {
                origins.push(format!("http://{host}:{port}"));
            }
        }
        Sites { origins }
    }
}

impl Sites {
    pub fn validate(&self) -> Result<()> {
        if self.origins.is_empty() {
            bail!("`sites.origins` is empty; list the origins your pages are served from, e.g. [\"https://example.org\"]");
        }
        for (i, origin) in self.origins.iter().enumerate() {
            let parsed = url::Url::parse(origin).ok();
            let ok = parsed.as_ref().is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
                    && !origin.ends_with('/')
            });
            if !ok {
                bail!("`sites.origins[{i}]` = {origin:?} is not an origin; write it as scheme://host[:port] with no path, e.g. \"https://example.org\"");
            }
        }
        Ok(())
    }

    /// Whether `url`'s origin is one of `origins`.
    pub fn allows_origin(&self, url: &url::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(&origin))
    }
}
