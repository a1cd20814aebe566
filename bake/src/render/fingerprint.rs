//! The renderer's fingerprint: a hash of everything that shapes what it
//! renders, which the bake state keeps so that a re-bake can tell whether
//! the pages baked before still hold what this bake would write. It hashes
//! the serialized `RenderOptions`, so an option added later is part of it
//! without anyone having to remember it here.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::RenderOptions;
use crate::signing::Signer;

/// Everything the fingerprint covers.
#[derive(Serialize)]
struct Inputs<'a> {
    /// kiln's version, since the code shapes the output as much as the
    /// templates do.
    version: &'static str,
    /// Every template the renderer loaded, by name: the built-ins and the
    /// site's.
    templates: &'a BTreeMap<String, String>,
    /// The message catalogues, which hold the templates' words.
    catalogues: Vec<&'static str>,
    options: &'a RenderOptions,
}

/// The fingerprint of a renderer with these templates and options.
pub(super) fn fingerprint(
    templates: &BTreeMap<String, String>,
    options: &RenderOptions,
) -> Result<String> {
    let inputs = Inputs {
        version: env!("CARGO_PKG_VERSION"),
        templates,
        catalogues: crate::i18n::catalogues(),
        options,
    };
    // postcard prefixes every string and map with its length, so no two
    // different inputs serialize alike.
    let bytes = postcard::to_stdvec(&inputs).context("serializing the render options")?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Serializes a signer as a MAC of nothing under its key: it changes when
/// the key does, and the key itself never leaves the signer.
pub(super) fn key_mac<S: Serializer>(signer: &Signer, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&signer.sign("fingerprint", "", None))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::render::{FormLimits, FormTokens, Renderer};

    fn templates() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("thread.html".to_owned(), "{{ comments }}".to_owned()),
            ("comment.html".to_owned(), "{{ html }}".to_owned()),
        ])
    }

    fn tokens(key: &[u8], expires_at: i64) -> Option<FormTokens> {
        Some(FormTokens {
            signer: Signer::new(key),
            expires_at,
        })
    }

    #[test]
    fn every_option_changes_the_fingerprint() {
        let base = RenderOptions::default();
        // Every field named, with no `..`: an option added later does not
        // compile here until it has its case below.
        let RenderOptions {
            templates_dir: _,
            max_depth,
            receiver_url,
            limits,
            form_tokens,
            script,
            script_file,
            script_url,
            live,
            stylesheet_url,
            avatars,
            gravatar,
            theme,
            offer_notify,
            reactions,
            signin,
            lang,
        } = base.clone();
        assert_eq!(theme, super::super::Theme::Auto);
        let FormLimits {
            name,
            email,
            website,
            text,
        } = limits;
        assert!(form_tokens.is_none());
        let changed = [
            RenderOptions {
                max_depth: max_depth + 1,
                ..base.clone()
            },
            RenderOptions {
                lang: lang.replace("en", "de"),
                ..base.clone()
            },
            RenderOptions {
                receiver_url: receiver_url + "https://comments.example",
                ..base.clone()
            },
            RenderOptions {
                limits: FormLimits {
                    name: name + 1,
                    ..limits
                },
                ..base.clone()
            },
            RenderOptions {
                limits: FormLimits {
                    email: email + 1,
                    ..limits
                },
                ..base.clone()
            },
            RenderOptions {
                limits: FormLimits {
                    website: website + 1,
                    ..limits
                },
                ..base.clone()
            },
            RenderOptions {
                limits: FormLimits {
                    text: text + 1,
                    ..limits
                },
                ..base.clone()
            },
            RenderOptions {
                form_tokens: tokens(b"the first key", 2_000_000_000),
                ..base.clone()
            },
            // The key and the expiry each count.
            RenderOptions {
                form_tokens: tokens(b"the second key", 2_000_000_000),
                ..base.clone()
            },
            RenderOptions {
                form_tokens: tokens(b"the first key", 2_000_000_001),
                ..base.clone()
            },
            RenderOptions {
                script: !script,
                ..base.clone()
            },
            RenderOptions {
                stylesheet_url: stylesheet_url + "/kiln.css",
                ..base.clone()
            },
            RenderOptions {
                script_file: script_file + "kiln.js",
                ..base.clone()
            },
            RenderOptions {
                script_url: script_url + "/kiln.js",
                ..base.clone()
            },
            RenderOptions {
                live: !live,
                ..base.clone()
            },
            RenderOptions {
                reactions: !reactions,
                ..base.clone()
            },
            RenderOptions {
                avatars: !avatars,
                ..base.clone()
            },
            RenderOptions {
                gravatar: !gravatar,
                ..base.clone()
            },
            RenderOptions {
                theme: super::super::Theme::Dark,
                ..base.clone()
            },
            RenderOptions {
                offer_notify: !offer_notify,
                ..base.clone()
            },
            RenderOptions {
                signin: !signin,
                ..base.clone()
            },
        ];
        let templates = templates();
        let prints: BTreeSet<String> = std::iter::once(&base)
            .chain(&changed)
            .map(|opts| fingerprint(&templates, opts).unwrap())
            .collect();
        assert_eq!(prints.len(), changed.len() + 1, "every change tells apart");
        assert_eq!(
            fingerprint(&templates, &base).unwrap(),
            fingerprint(&templates, &base.clone()).unwrap(),
            "the same inputs, the same fingerprint"
        );
    }

    #[test]
    fn the_form_key_is_hashed_never_kept() {
        let key = b"a secret key that must not leak";
        let opts = RenderOptions {
            form_tokens: tokens(key, 2_000_000_000),
            ..RenderOptions::default()
        };
        let bytes = postcard::to_stdvec(&opts).unwrap();
        assert!(!bytes.windows(key.len()).any(|w| w == key));
    }

    #[test]
    fn every_template_changes_the_fingerprint_and_its_directory_does_not() {
        let opts = RenderOptions::default();
        let base = fingerprint(&templates(), &opts).unwrap();
        let mut edited = templates();
        edited.insert("comment.html".to_owned(), "{{ html | safe }}".to_owned());
        let mut added = templates();
        added.insert("extra.html".to_owned(), String::new());
        let mut renamed = templates();
        let text = renamed.remove("comment.html").unwrap();
        renamed.insert("comment2.html".to_owned(), text);
        for (what, templates) in [("edited", edited), ("added", added), ("renamed", renamed)] {
            assert_ne!(fingerprint(&templates, &opts).unwrap(), base, "{what}");
        }

        // Through the renderer: a directory counts by what it holds.
        let builtin = Renderer::new(opts.clone()).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let with_empty = Renderer::new(RenderOptions {
            templates_dir: Some(empty.path().to_owned()),
            ..opts.clone()
        })
        .unwrap();
        assert_eq!(with_empty.fingerprint(), builtin.fingerprint());
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("count.html"), "{{ count }} notes").unwrap();
        let overridden = Renderer::new(RenderOptions {
            templates_dir: Some(site.path().to_owned()),
            ..opts
        })
        .unwrap();
        assert_ne!(overridden.fingerprint(), builtin.fingerprint());
    }
}
