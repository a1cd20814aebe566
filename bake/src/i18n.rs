//! The words kiln shows readers, in their language. The catalogues are
//! Fluent files, `locales/<lang>/kiln.ftl`, compiled into the binary by
//! fluent-templates (which brings Fluent's plural rules); English is the
//! source, and a message a locale lacks is shown in English, never as its
//! key. Bake's templates, its fast path, the receiver's pages, mail and the
//! script's words all look their text up here, so each string has one home.
//! See docs/languages.md.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static CATALOGUES = {
        locales: "../locales",
        fallback_language: "en",
        // No Unicode isolation marks around placeables: they would land in
        // attributes, mail subjects and the script's messages.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The source language, and the one used when nothing else fits.
pub const DEFAULT: &str = "en";

/// Every locale kiln has a catalogue for, as the `lang` it is known by.
pub const LOCALES: &[&str] = &[
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ar", "ja", "zh-CN",
];

/// Locales whose catalogue may lack messages on purpose (shown in English
/// until translated). Every other locale must have every English message.
pub const PARTIAL: &[&str] = &[];

/// The known locale that best fits a language tag (`<html lang>`, a form's
/// `lang` field, `bake.lang`): `de-AT` → `de`, `zh`, `zh-Hans` or `zh-SG` →
/// `zh-CN`, `pt-BR` → `pt`; `None` when kiln has no catalogue for it.
pub fn negotiate(tag: &str) -> Option<&'static str> {
    let tag = tag.trim().replace('_', "-");
    let mut parts = tag.split('-');
    let language = parts.next()?.to_ascii_lowercase();
    if language == "zh" {
        // Traditional Chinese is not Simplified: no fallback to it.
        let traditional = tag
            .split('-')
            .skip(1)
            .any(|p| matches!(p.to_ascii_lowercase().as_str(), "hant" | "tw" | "hk" | "mo"));
        return (!traditional).then_some("zh-CN");
    }
    LOCALES.iter().copied().find(|l| *l == language)
}

/// [`negotiate`], or English.
pub fn locale(tag: &str) -> &'static str {
    negotiate(tag).unwrap_or(DEFAULT)
}

/// Whether a language is written right to left (`dir="rtl"`).
pub fn is_rtl(lang: &str) -> bool {
    let language = lang.split(['-', '_']).next().unwrap_or_default();
    ["ar", "he", "fa", "ur"]
        .iter()
        .any(|l| language.eq_ignore_ascii_case(l))
}

fn identifier(lang: &str) -> LanguageIdentifier {
    locale(lang).parse().expect("every locale is a valid tag")
}

/// An argument for a message: a number (which plural rules select on) or
/// text.
pub enum Arg<'a> {
    Number(f64),
    Text(Cow<'a, str>),
}

impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Number(n as f64)
    }
}

impl From<usize> for Arg<'_> {
    fn from(n: usize) -> Self {
        Arg::Number(n as f64)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Text(Cow::Owned(s))
    }
}

/// Message `key` in `lang` (any tag; see [`negotiate`]) with `args`; in
/// English when the locale lacks it. A key English lacks too is a bug in
/// kiln, shown as the key so that a test catches it.
pub fn text_with(lang: &str, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    lookup(&*CATALOGUES, lang, key, args)
}

/// [`text_with`] in any set of catalogues (the tests use one with gaps).
fn lookup(catalogues: &impl Loader, lang: &str, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Text(s) => FluentValue::from(s.as_ref()),
            };
            (Cow::Owned((*name).to_owned()), value)
        })
        .collect();
    let args = (!args.is_empty()).then_some(&args);
    let found = catalogues.try_lookup_complete(&identifier(lang), key, args);
    found
        .or_else(|| catalogues.try_lookup_complete(&identifier(DEFAULT), key, args))
        .unwrap_or_else(|| key.to_owned())
}

/// Message `key` in `lang`, without arguments.
pub fn text(lang: &str, key: &str) -> String {
    text_with(lang, key, &[])
}

/// Message `key` in `lang` for `count` things (its plural form).
pub fn count(lang: &str, key: &str, count: u64) -> String {
    text_with(lang, key, &[("count", count.into())])
}

/// A date in `lang`'s way: `23 Nov 2026`, `23. Nov. 2026`, `2026年11月23日`.
pub fn date(lang: &str, date: time::Date) -> String {
    let month = u8::from(date.month());
    text_with(
        lang,
        "date",
        &[
            ("day", Arg::Text(date.day().to_string().into())),
            ("month", text(lang, &format!("month-{month}")).into()),
            ("monthnum", Arg::Text(month.to_string().into())),
            ("year", Arg::Text(date.year().to_string().into())),
        ],
    )
}

/// The script's messages in `lang`, as the JSON object a thread carries in
/// `data-kiln-messages` (the `js-` keys, without that prefix, in camel
/// case: `js-delete-no` is `deleteNo`).
pub fn script_messages(lang: &str) -> String {
    let keys = message_keys(DEFAULT);
    let messages: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .filter_map(|k| match k.strip_prefix("js-") {
            Some(short) => Some((k, short)),
            // The page's own words the script shows again.
            None => (k == "comment-deleted").then_some((k, k.as_str())),
        })
        .map(|(key, short)| {
            let mut name = String::with_capacity(short.len());
            let mut upper = false;
            for c in short.chars() {
                match c {
                    '-' => upper = true,
                    c if upper => {
                        name.push(c.to_ascii_uppercase());
                        upper = false;
                    }
                    c => name.push(c),
                }
            }
            (name, text(lang, key).into())
        })
        .collect();
    serde_json::Value::Object(messages).to_string()
}

/// The ids of the messages `lang`'s own catalogue defines (not those it
/// falls back for), in file order.
pub fn message_keys(lang: &str) -> Vec<String> {
    let source = catalogue_source(lang).unwrap_or_default();
    source
        .lines()
        .filter_map(|line| {
            let (id, _) = line.split_once(" =")?;
            let plain = !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            plain.then(|| id.to_owned())
        })
        .collect()
}

macro_rules! sources {
    ($($lang:literal),* $(,)?) => {
        /// Every catalogue's text, in `LOCALES` order (the bake
        /// fingerprint covers them, like the templates).
        pub(crate) fn catalogues() -> Vec<&'static str> {
            LOCALES.iter().filter_map(|l| catalogue_source(l)).collect()
        }

        /// Each catalogue's text, for the completeness check and the
        /// script's keys.
        fn catalogue_source(lang: &str) -> Option<&'static str> {
            match lang {
                $($lang => Some(include_str!(concat!("../../locales/", $lang, "/kiln.ftl"))),)*
                _ => None,
            }
        }
    };
}
sources!["en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ar", "ja", "zh-CN"];

/// The tera function `t(key=…, lang=…, count=…, …)`: every other named
/// argument is passed to the message. Without `lang`, English.
pub fn register(tera: &mut tera::Tera) {
    tera.register_function(
        "t",
        |args: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
            let key = args
                .get("key")
                .and_then(|k| k.as_str())
                .ok_or_else(|| tera::Error::msg("t() needs key=\"…\""))?;
            let lang = args.get("lang").and_then(|l| l.as_str()).unwrap_or(DEFAULT);
            let mut message_args = Vec::new();
            for (name, value) in args {
                if name == "key" || name == "lang" {
                    continue;
                }
                let arg = match value {
                    tera::Value::Number(n) => Arg::Number(n.as_f64().unwrap_or_default()),
                    tera::Value::String(s) => Arg::Text(Cow::Borrowed(s.as_str())),
                    other => Arg::Text(Cow::Owned(other.to_string())),
                };
                message_args.push((name.as_str(), arg));
            }
            Ok(text_with(lang, key, &message_args).into())
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_parses_and_has_every_english_message() {
        let english = message_keys(DEFAULT);
        assert!(english.len() > 50, "{english:?}");
        let mut missing_by_locale = Vec::new();
        for lang in LOCALES {
            let source = catalogue_source(lang).expect("a catalogue for every locale");
            let parsed =
                fluent_templates::fluent_bundle::FluentResource::try_new(source.to_owned());
            assert!(parsed.is_ok(), "{lang}: {:?}", parsed.err().map(|e| e.1));
            let own = message_keys(lang);
            let missing: Vec<&String> = english.iter().filter(|k| !own.contains(k)).collect();
            let extra: Vec<&String> = own.iter().filter(|k| !english.contains(k)).collect();
            assert!(
                extra.is_empty(),
                "{lang} has messages English lacks: {extra:?}"
            );
            if !missing.is_empty() && !PARTIAL.contains(lang) {
                missing_by_locale.push(format!("{lang}: {missing:?}"));
            }
        }
        assert!(
            missing_by_locale.is_empty(),
            "missing messages:\n{}",
            missing_by_locale.join("\n")
        );
    }

    fluent_templates::static_loader! {
        // bake/tests/locales: German lacks `only-english` on purpose.
        static GAPPY = {
            locales: "./tests/locales",
            fallback_language: "en",
            customise: |bundle| bundle.set_use_isolating(false),
        };
    }

    #[test]
    fn a_missing_message_falls_back_to_english_never_to_the_key() {
        let gappy = |lang, key| lookup(&*GAPPY, lang, key, &[("name", "Ann".into())]);
        assert_eq!(gappy("de", "hello"), "Hallo");
        assert_eq!(gappy("de", "only-english"), "Only in English, Ann");
        assert_eq!(gappy("de-AT", "only-english"), "Only in English, Ann");
        // A language kiln has no catalogue for is English.
        assert_eq!(text("xx", "reply"), "Reply");
        assert_eq!(text("de", "reply"), "Antworten");
        assert_eq!(
            text("de", "no-such-message-in-any-locale"),
            "no-such-message-in-any-locale",
            "only a key English lacks too is shown as itself"
        );
        assert_eq!(text("en", "post"), "Post comment");
    }

    #[test]
    fn plural_forms_follow_each_language() {
        let cases: &[(&str, u64, &str)] = &[
            ("en", 0, "No comments yet"),
            ("en", 1, "1 comment"),
            ("en", 2, "2 comments"),
            ("ru", 1, "1 комментарий"),
            ("ru", 2, "2 комментария"),
            ("ru", 5, "5 комментариев"),
            ("ru", 21, "21 комментарий"),
            ("pl", 2, "2 komentarze"),
            ("pl", 5, "5 komentarzy"),
            ("ar", 0, "لا تعليقات بعد"),
            ("ar", 1, "تعليق واحد"),
            ("ar", 2, "تعليقان"),
            ("ar", 3, "3 تعليقات"),
            ("ar", 11, "11 تعليقًا"),
            ("ar", 100, "100 تعليق"),
            ("ja", 2, "2件のコメント"),
        ];
        for (lang, n, want) in cases {
            assert_eq!(count(lang, "count", *n), *want, "{lang} {n}");
        }
    }

    #[test]
    fn tags_find_their_locale() {
        for (tag, want) in [
            ("de", Some("de")),
            ("de-AT", Some("de")),
            ("DE_ch", Some("de")),
            ("zh-CN", Some("zh-CN")),
            ("zh-Hans", Some("zh-CN")),
            ("zh", Some("zh-CN")),
            ("zh-TW", None),
            ("pt-BR", Some("pt")),
            ("ar-EG", Some("ar")),
            ("tlh", None),
            ("", None),
        ] {
            assert_eq!(negotiate(tag), want, "{tag}");
        }
        assert!(is_rtl("ar") && is_rtl("he-IL") && is_rtl("fa") && !is_rtl("de"));
    }

    #[test]
    fn dates_follow_each_language() {
        let day = time::macros::date!(2026 - 11 - 23);
        assert_eq!(date("en", day), "23 Nov 2026");
        assert_eq!(date("de", day), "23. Nov. 2026");
        assert_eq!(date("ja", day), "2026年11月23日");
        assert_eq!(date("fr", day), "23 nov. 2026");
    }

    #[test]
    fn the_script_gets_its_messages_as_json() {
        let json: serde_json::Value = serde_json::from_str(&script_messages("de")).unwrap();
        assert_eq!(json["deleteNo"], "Nein");
        assert_eq!(
            json["postedPending"].as_str().unwrap().split('.').next(),
            Some("Gesendet")
        );
        assert!(json.get("reply").is_none());
    }
}
