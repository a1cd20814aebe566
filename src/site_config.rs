//! What a site's own generator configuration says about where the site is
//! served, for `kiln init`: the public URL (Hugo's `baseURL`, Jekyll's `url`
//! and `baseurl`, Pelican's `SITEURL`) and the dev server's address. A
//! reader on `localhost` and one on `127.0.0.1` come from two origins, and
//! the receiver accepts comments only from the origins it is told.

use std::path::Path;

use anyhow::{Context, Result};

use crate::init::Ssg;

/// Where a site is read from, as `kiln.toml` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `sites.origins`: the dev server under both loopback names, then the
    /// public origin if the configuration names one.
    pub origins: Vec<String>,
    /// `bake.site_url`: the public URL with its base path, or else the dev
    /// server's.
    pub site_url: String,
    /// Where `site_url` came from, for the comment above it.
    pub from: String,
}

/// Reads `site`'s configuration for `ssg`. A missing file is no error (a
/// fresh site may have none yet); an unreadable or unparsable one is.
pub fn served(ssg: Ssg, site: &Path) -> Result<Served> {
    let (dev_host, dev_port, public, from) = match ssg {
        Ssg::Hugo => {
            let (url, file) = hugo_base_url(site)?;
            ("localhost".to_owned(), 1313, url, file)
        }
        Ssg::Jekyll => jekyll(site)?,
        Ssg::Pelican => pelican(site)?,
        // Astro's config is JavaScript; its dev server's address is known.
        Ssg::Astro => ("localhost".to_owned(), 4321, None, String::new()),
    };
    let mut origins = Vec::new();
    let loopback = matches!(
        dev_host.as_str(),
        "localhost" | "127.0.0.1" | "0.0.0.0" | "::1"
    );
    let dev_url = if loopback {
        for host in ["localhost", "127.0.0.1"] {
            origins.push(format!("http://{host}:{dev_port}"));
        }
        format!("http://localhost:{dev_port}")
    } else {
        let url = format!("http://{dev_host}:{dev_port}");
        origins.push(url.clone());
        url
    };
    let public = public.and_then(|raw| public_url(&raw));
    match public {
        Some((origin, url)) => {
            if !origins.contains(&origin) {
                origins.push(origin);
            }
            Ok(Served {
                origins,
                site_url: url,
                from,
            })
        }
        None => Ok(Served {
            origins,
            site_url: dev_url,
            from: String::new(),
        }),
    }
}

/// `raw` as (origin, URL without a trailing slash), if it is an absolute
/// http(s) URL of a real site. The reserved example domains (RFC 2606) are
/// placeholders, such as the `https://example.org/` `hugo new site` writes.
fn public_url(raw: &str) -> Option<(String, String)> {
    let url = url::Url::parse(raw.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let placeholder = ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || host.ends_with(".example")
        || host == "example";
    if !matches!(url.scheme(), "http" | "https") || placeholder {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Some((origin.clone(), format!("{origin}{path}")))
}

/// Hugo's `baseURL` (any case, as Hugo reads keys) from the first config
/// file Hugo would read, and that file's name.
fn hugo_base_url(site: &Path) -> Result<(Option<String>, String)> {
    for name in [
        "hugo.toml",
        "hugo.yaml",
        "hugo.yml",
        "hugo.json",
        "config.toml",
        "config.yaml",
        "config.yml",
        "config.json",
    ] {
        let path = site.join(name);
        if !path.is_file() {
            continue;
        }
        let config = read_config(&path)?;
        let url = key(&config, "baseurl").and_then(|v| v.as_str().map(str::to_owned));
        return Ok((url, format!("{name}'s baseURL")));
    }
    Ok((None, String::new()))
}

/// Jekyll's `url` + `baseurl`, and `jekyll serve`'s `host` and `port`.
fn jekyll(site: &Path) -> Result<(String, u16, Option<String>, String)> {
    for name in ["_config.yml", "_config.yaml", "_config.toml"] {
        let path = site.join(name);
        if !path.is_file() {
            continue;
        }
        let config = read_config(&path)?;
        let text = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let host = text("host").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = match config.get("port") {
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("{}: `port` is not a port number", path.display()))?,
            None => 4000,
        };
        let url = text("url").filter(|u| !u.is_empty()).map(|u| {
            format!(
                "{}{}",
                u.trim_end_matches('/'),
                text("baseurl").unwrap_or_default()
            )
        });
        return Ok((host, port, url, format!("{name}'s url and baseurl")));
    }
    Ok(("127.0.0.1".to_owned(), 4000, None, String::new()))
}

/// Pelican's `SITEURL` (from `publishconf.py`, where sites keep the public
/// one, else `pelicanconf.py`), and `pelican --listen`'s `BIND` and `PORT`.
fn pelican(site: &Path) -> Result<(String, u16, Option<String>, String)> {
    let read = |name: &str| -> Result<String> {
        let path = site.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    };
    let (conf, publish) = (read("pelicanconf.py")?, read("publishconf.py")?);
    let host = python_setting(&conf, "BIND")
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = python_setting(&conf, "PORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let (url, from) = match python_setting(&publish, "SITEURL").filter(|u| !u.is_empty()) {
        Some(url) => (Some(url), "publishconf.py's SITEURL"),
        None => (
            python_setting(&conf, "SITEURL").filter(|u| !u.is_empty()),
            "pelicanconf.py's SITEURL",
        ),
    };
    Ok((host, port, url, from.to_owned()))
}

/// The value of a top-level `NAME = "text"` (or `'text'`, or a number) in a
/// Pelican settings file; the last assignment wins, as in Python. Anything
/// computed is not read: kiln does not run the site's Python.
fn python_setting(source: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in source.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim();
        let value = value.split_once(" #").map_or(value, |(v, _)| v.trim_end());
        let quoted = ['"', '\''].iter().find_map(|q| {
            value
                .strip_prefix(*q)
                .and_then(|v| v.strip_suffix(*q))
                .filter(|v| !v.contains(*q))
        });
        found = match quoted {
            Some(text) => Some(text.to_owned()),
            None if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() => {
                Some(value.to_owned())
            }
            None => None,
        };
    }
    found
}

/// A TOML, YAML or JSON configuration file as JSON values, by extension.
fn read_config(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str(&text).map_err(anyhow::Error::from),
        Some("json") => serde_json::from_str(&text).map_err(anyhow::Error::from),
        _ => serde_norway::from_str(&text).map_err(anyhow::Error::from),
    }
    .with_context(|| format!("cannot parse {}", path.display()))?;
    Ok(match value {
        serde_json::Value::Object(map) => map,
        // An empty YAML file is null: no settings.
        _ => serde_json::Map::new(),
    })
}

/// A top-level key, ignoring case.
fn key<'a>(
    config: &'a serde_json::Map<String, serde_json::Value>,
    lower: &str,
) -> Option<&'a serde_json::Value> {
    config
        .iter()
        .find(|(k, _)| k.to_ascii_lowercase() == lower)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_settings_are_read_only_when_literal() {
        let conf = "SITEURL = ''\n# SITEURL = 'https://no.example'\nPORT = 8080  # dev\nBIND='0.0.0.0'\nSITEURL = \"https://blog.test/x\"\nRELATIVE = SITEURL + '/a'\n";
        assert_eq!(
            python_setting(conf, "SITEURL").as_deref(),
            Some("https://blog.test/x")
        );
        assert_eq!(python_setting(conf, "PORT").as_deref(), Some("8080"));
        assert_eq!(python_setting(conf, "BIND").as_deref(), Some("0.0.0.0"));
        assert_eq!(python_setting(conf, "RELATIVE"), None);
        assert_eq!(
            python_setting("SITEURL = os.environ['X']\n", "SITEURL"),
            None
        );
    }

    #[test]
    fn placeholders_and_relative_urls_are_not_public_urls() {
        assert_eq!(
            public_url("https://blog.test/notes/"),
            Some(("https://blog.test".into(), "https://blog.test/notes".into()))
        );
        for raw in [
            "https://example.org/",
            "http://www.example.com",
            "/",
            "",
            "ftp://a.test/",
        ] {
            assert_eq!(public_url(raw), None, "{raw}");
        }
    }
}
