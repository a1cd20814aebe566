//! A submission as the reader typed it, and the checks that turn it into a
//! comment the store accepts. Browser forms and JSON clients share these
//! checks, so both get the same limits and the same field-named errors.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::store::NewComment;

/// Longest thread id accepted: ids are chosen by the site, usually a path.
pub const MAX_THREAD: usize = 500;
/// Longest page URL accepted.
pub const MAX_URL: usize = 2_000;

/// The fields of the comment form, exactly as received, so an error page can
/// show the reader everything they typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Submission {
    pub thread: String,
    pub url: String,
    pub parent: String,
    pub name: String,
    pub email: String,
    pub website: String,
    pub text: String,
    /// The page's title, from a hidden field of the baked form. Optional.
    pub title: String,
    /// The name of the site the form is on, from an optional hidden field:
    /// the page's origin decides the site, and this must agree with it.
    pub site: String,
    /// The language of the form (its hidden `lang` field), which the
    /// receiver answers in; read only through [`Submission::lang`].
    pub lang: String,
}

/// One problem with one field. `field` is the form field's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    /// In English (the API's language).
    pub message: String,
    /// The catalogue message (`locales/*/kiln.ftl`) that says the same to a
    /// reader in their language, with its arguments; empty when there is
    /// none and `message` is shown as is.
    #[serde(skip)]
    pub key: &'static str,
    #[serde(skip)]
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            code,
            message: message.into(),
            key: "",
            args: Vec::new(),
        }
    }

    /// The same error with the catalogue message that says it.
    fn keyed(mut self, key: &'static str, args: &[(&'static str, String)]) -> Self {
        self.key = key;
        self.args = args.to_vec();
        self
    }

    /// The message in `lang` (a locale of `kiln_bake::i18n::LOCALES`); a
    /// `label` argument names the field in that language too.
    pub fn localized(&self, lang: &str) -> String {
        use kiln_bake::i18n;
        if self.key.is_empty() {
            return self.message.clone();
        }
        let label = i18n::text(lang, &format!("field-{}", self.field));
        let mut args: Vec<(&str, i18n::Arg<'_>)> = vec![("label", label.into())];
        for (name, value) in &self.args {
            args.push((name, value.as_str().into()));
        }
        i18n::text_with(lang, self.key, &args)
    }
}

/// A submission that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub comment: NewComment,
    /// The page URL without its fragment: where the reader goes back to.
    pub page: url::Url,
}

impl Submission {
    /// Assigns one decoded form field; unknown fields are ignored so that
    /// later form versions keep working against this receiver.
    pub fn set(&mut self, field: &str, value: String) {
        let slot = match field {
            "thread" => &mut self.thread,
            "url" => &mut self.url,
            "parent" => &mut self.parent,
            "name" => &mut self.name,
            "email" => &mut self.email,
            "website" => &mut self.website,
            "text" => &mut self.text,
            "title" => &mut self.title,
            "site" => &mut self.site,
            "lang" => &mut self.lang,
            _ => return,
        };
        *slot = value;
    }

    /// The locale the reader's form is in: its `lang` field when kiln has a
    /// catalogue for it (`de-AT` is `de`), else English. Never the field
    /// as sent.
    pub fn lang(&self) -> &'static str {
        kiln_bake::i18n::locale(&self.lang)
    }

    /// Runs every check and reports every problem, in form order.
    pub fn check(
        &self,
        config: &Config,
        remote_addr: Option<String>,
    ) -> Result<Checked, Vec<FieldError>> {
        let limits = &config.limits;
        let mut errors = Vec::new();

        let thread = self.thread.trim();
        if thread.is_empty() {
            errors.push(FieldError::new(
                "thread",
                "required",
                "The thread id is missing. Reload the page and try again.",
            ));
        } else if thread.len() > MAX_THREAD {
            errors.push(FieldError::new(
                "thread",
                "too_long",
                format!("The thread id is longer than {MAX_THREAD} bytes."),
            ));
        } else if has_control(thread) {
            errors.push(FieldError::new(
                "thread",
                "invalid",
                "The thread id contains control characters.",
            ));
        }

        let page = match check_page_url(&self.url, config) {
            Ok(page) => Some(page),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        // The page's origin says which site's thread this is; a form that
        // names its site must name that one.
        let site = page
            .as_ref()
            .and_then(|page| config.sites.site_of(page))
            .unwrap_or(crate::config::DEFAULT_SITE)
            .to_owned();
        let named = self.site.trim();
        if page.is_some() && !named.is_empty() && named != site {
            errors.push(FieldError::new(
                "site",
                "mismatch",
                format!("This form names the site {named:?}, but its page is on the site {site:?}. Reload the page and try again."),
            ));
        }

        let parent = match self.parent.trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    errors.push(FieldError::new(
                        "parent",
                        "invalid",
                        "The comment you are replying to is not a valid comment id.",
                    ));
                    None
                }
            },
        };

        let name = self.name.trim();
        if let Err(e) = check_length("name", "Name", name, limits.name) {
            errors.push(e);
        } else if let Err(e) = check_characters("name", "Name", name) {
            errors.push(e);
        }

        let email = self.email.trim();
        if let Err(e) = check_length("email", "Email", email, limits.email) {
            errors.push(e);
        } else if let Err(e) = check_characters("email", "Email", email) {
            errors.push(e);
        } else if !email.is_empty() && !looks_like_email(email) {
            errors.push(
                FieldError::new(
                    "email",
                    "invalid",
                    "Email must look like name@example.org, or be left empty.",
                )
                .keyed("error-email-invalid", &[]),
            );
        }

        let website = self.website.trim();
        if let Err(e) = check_length("website", "Website", website, limits.website) {
            errors.push(e);
        } else if let Err(e) = check_characters("website", "Website", website) {
            // Checked before parsing: the URL parser drops tabs and line
            // breaks, so `is_web_url` passes a value that is stored as typed.
            errors.push(e);
        } else if !website.is_empty() && !is_web_url(website) {
            errors.push(
                FieldError::new(
                    "website",
                    "invalid",
                    "Website must be an http:// or https:// address, or be left empty.",
                )
                .keyed("error-website-invalid", &[]),
            );
        }

        let text = self.text.trim();
        if text.is_empty() {
            errors.push(
                FieldError::new("text", "required", "Please write a comment before posting.")
                    .keyed("error-text-required", &[]),
            );
        } else if let Err(e) = check_length("text", "Comment", text, limits.text) {
            errors.push(e);
        } else if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            errors.push(FieldError::new(
                "text",
                "invalid",
                "Comment contains control characters; remove them and post again.",
            ));
        }

        match (errors.is_empty(), page) {
            (true, Some(page)) => Ok(Checked {
                comment: NewComment {
                    site,
                    thread: thread.to_owned(),
                    page_url: page.to_string(),
                    page_title: page_title(&self.title),
                    parent,
                    author: name.to_owned(),
                    email: non_empty(email),
                    website: non_empty(website),
                    // Keep the reader's line breaks, but one kind of them:
                    // CR LF and a lone CR (a line break to HTML and to
                    // Markdown) both become LF.
                    text: text.replace("\r\n", "\n").replace('\r', "\n"),
                    remote_addr,
                    identity_subject: None,
                },
                page,
            }),
            _ => Err(errors),
        }
    }
}

/// The longest page title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 300;

/// The page title as kept: whitespace runs (and control and direction
/// characters) become one space, and it is cut at [`MAX_TITLE_CHARS`]. Never an error: the
/// field is hidden, so a reader could not fix it.
fn page_title(raw: &str) -> String {
    let mut title = String::new();
    // Direction overrides would reorder the mail the title is shown in.
    for word in raw
        .split(|c: char| c.is_whitespace() || c.is_control() || is_bidi_control(c))
        .filter(|w| !w.is_empty())
    {
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    match title.char_indices().nth(MAX_TITLE_CHARS) {
        Some((cut, _)) => title[..cut].trim_end().to_owned(),
        None => title,
    }
}

/// The page URL must be http(s) on a configured origin, without userinfo:
/// it is where the reader is sent back to, so anything else would be an
/// open redirect.
pub fn check_page_url(raw: &str, config: &Config) -> Result<url::Url, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(
            "url",
            "required",
            "The page address is missing. Reload the page and try again.",
        ));
    }
    if raw.len() > MAX_URL {
        return Err(FieldError::new(
            "url",
            "too_long",
            format!("The page address is longer than {MAX_URL} bytes."),
        ));
    }
    let mut url = match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            return Err(FieldError::new(
                "url",
                "invalid",
                "The page address is not an http(s) URL.",
            ))
        }
    };
    // `http://user@site/` has the configured origin but shows a reader
    // something else first; no page of a site needs credentials in its URL.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(
            "url",
            "invalid",
            "The page address must not contain a user name or password.",
        ));
    }
    if !config.allows_origin(&url) {
        return Err(FieldError::new(
            "url",
            "origin_not_allowed",
            "This page's site is not one this comment service accepts comments for.",
        ));
    }
    url.set_fragment(None);
    Ok(url)
}

fn check_length(
    field: &'static str,
    label: &str,
    value: &str,
    limit: usize,
) -> Result<(), FieldError> {
    let chars = value.chars().count();
    if chars > limit {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{label} is {chars} characters long; the limit is {limit}. Please shorten it."),
        )
        .keyed(
            "error-too-long",
            &[("chars", chars.to_string()), ("limit", limit.to_string())],
        ));
    }
    Ok(())
}

/// The one rule for the characters of a name, an e-mail address and a
/// website, wherever one is written (a submission, a commenter's edit, an
/// admin's edit all come through [`Submission::check`]). None of them has a
/// use for a control character, and a line break in one can forge lines in
/// the moderators' plain-text mail (`Website: …\r\nApprove: …`). Nor for
/// a bidirectional embedding, override or isolate ([`is_bidi_control`]):
/// `\u{202e}gnp.exe` shows as `exe.png`.
///
/// They are refused rather than stripped: a stripped name would be stored
/// different from what the reader typed without telling them, and the
/// form shows them the error with their text. Nobody types these by
/// accident, and a name in Arabic or Hebrew needs none of them.
fn check_characters(field: &'static str, label: &str, value: &str) -> Result<(), FieldError> {
    if has_control(value) {
        return Err(FieldError::new(
            field,
            "invalid",
            format!(
                "{label} must not contain control characters such as line breaks or tabs; \
                 remove them and post again."
            ),
        )
        .keyed("error-control", &[]));
    }
    if value.chars().any(is_bidi_control) {
        return Err(FieldError::new(
            field,
            "invalid",
            format!(
                "{label} must not contain invisible text-direction characters \
                 (U+202A to U+202E, U+2066 to U+2069); remove them and post again."
            ),
        ));
    }
    Ok(())
}

/// The bidirectional embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069): they reorder the text that follows them, up to the end
/// of the paragraph wherever the text is shown without `<bdi>` (plain-text
/// mail, a terminal). The marks U+200E, U+200F and U+061C are allowed: they
/// reorder nothing but neutral characters next to them, right-to-left
/// writers use them to place punctuation, and `<bdi>` keeps them inside
/// the name.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name for plain text (mail, the pages behind mail links), where no
/// `<bdi>` can isolate it: inside a first-strong isolate (U+2068 … U+2069),
/// Unicode's own `<bdi>`, so a right-to-left name cannot reorder the words
/// around it, and without any direction control of its own (names stored
/// before they were refused), so nothing in it can end the isolate early.
pub fn isolated_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 6);
    out.push('\u{2068}');
    out.extend(name.chars().filter(|c| !is_bidi_control(*c)));
    out.push('\u{2069}');
    out
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A deliberately loose check: one `@` with something on both sides and no
/// spaces. Real validation of an address is sending mail to it.
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
        }
        None => false,
    }
}

/// An absolute http(s) URL with a host; no credentials.
pub fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none()
    })
}

/// Decodes an `application/x-www-form-urlencoded` body strictly: a field
/// whose bytes are not UTF-8 is an error naming that field, never a silent
/// replacement character.
pub fn parse_form(body: &[u8]) -> Result<Submission, FieldError> {
    let mut submission = Submission::default();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = String::from_utf8(percent_decode(key)).map_err(|_| {
            FieldError::new(
                "body",
                "invalid_utf8",
                "The form contains a field name that is not valid UTF-8 text.",
            )
        })?;
        let field: &'static str = match key.as_str() {
            "thread" => "thread",
            "url" => "url",
            "parent" => "parent",
            "name" => "name",
            "email" => "email",
            "website" => "website",
            "text" => "text",
            "title" => "title",
            "site" => "site",
            "lang" => "lang",
            _ => continue,
        };
        let value = String::from_utf8(percent_decode(value)).map_err(|_| {
            FieldError::new(
                field,
                "invalid_utf8",
                format!("The {field} field is not valid UTF-8 text; re-enter it and post again."),
            )
        })?;
        submission.set(field, value);
    }
    Ok(submission)
}

/// Reads a JSON submission: an object of strings (the parent may be a number);
/// other members are ignored, as unknown form fields are.
pub fn parse_json(bytes: &[u8]) -> Result<Submission, FieldError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        FieldError::new(
            "body",
            "invalid_utf8",
            "The request body is not valid UTF-8.",
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        FieldError::new(
            "body",
            "invalid_json",
            format!("The request body is not valid JSON: {e}."),
        )
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(FieldError::new(
            "body",
            "invalid_json",
            "The request body must be a JSON object.",
        ));
    };
    let mut submission = Submission::default();
    for field in JSON_FIELDS {
        let value = match map.get(field) {
            None | Some(serde_json::Value::Null) => continue,
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) if field == "parent" => n.to_string(),
            Some(_) => {
                return Err(FieldError::new(
                    field,
                    "invalid_type",
                    format!("`{field}` must be a string."),
                ))
            }
        };
        submission.set(field, value);
    }
    Ok(submission)
}

/// The comment's fields a JSON client may send: the form's, `title` too
/// (kiln.js sends the form's fields as JSON).
const JSON_FIELDS: [&str; 10] = [
    "thread", "url", "parent", "name", "email", "website", "text", "title", "site", "lang",
];

/// Whether a form body ticks the reply-notification box (`notify`). It is
/// read beside `Submission`, not in it: it is a choice about mail, not part
/// of the comment, and an error page shows the form without it.
pub fn form_wants_notify(body: &[u8]) -> bool {
    body.split(|&b| b == b'&').any(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        percent_decode(key) == b"notify" && is_yes(&String::from_utf8_lossy(&percent_decode(value)))
    })
}

/// Whether a form body has `field` with something other than whitespace in
/// it (the honeypot, `crate::abuse::HONEYPOT_FIELD`).
pub fn form_has_filled(body: &[u8], field: &str) -> bool {
    form_value(body, field).is_some_and(|v| !v.trim().is_empty())
}

/// The first value of `field` in a form body (lossily decoded), read beside
/// `Submission` for fields that are not part of the comment: the honeypot
/// and the form token.
pub fn form_value(body: &[u8], field: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (percent_decode(key) == field.as_bytes())
            .then(|| String::from_utf8_lossy(&percent_decode(value)).into_owned())
    })
}

/// The `notify` field of a JSON submission: a boolean, or a form's words for
/// one ("on", "true", "1", "yes" and their opposites).
pub fn json_wants_notify(value: Option<&serde_json::Value>) -> Result<bool, FieldError> {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if is_yes(s) => Ok(true),
        Some(Value::String(s))
            if matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "" | "off" | "false" | "0" | "no"
            ) =>
        {
            Ok(false)
        }
        Some(_) => Err(FieldError::new(
            "notify",
            "invalid_type",
            "`notify` must be true or false.",
        )),
    }
}

fn is_yes(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "on" | "true" | "1" | "yes"
    )
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found while writing the `json` fuzz target: `title` was read from
    /// forms only, so a comment posted by kiln.js (which sends the form's
    /// fields as JSON) reached the moderators' mail without its page title.
    #[test]
    fn a_json_submission_keeps_the_page_title() {
        let s = parse_json(br#"{"text": "x", "title": "Hello & welcome"}"#).unwrap();
        assert_eq!(s.title, "Hello & welcome");
        let err = parse_json(br#"{"text": "x", "title": 5}"#).unwrap_err();
        assert_eq!((err.field, err.code), ("title", "invalid_type"));
    }

    #[test]
    fn json_fields_must_be_strings() {
        let err = parse_json(br#"{"text": 5}"#).unwrap_err();
        assert_eq!((err.field, err.code), ("text", "invalid_type"));
        assert_eq!(
            parse_json(br#"{"parent": 7, "text": "x"}"#).unwrap().parent,
            "7"
        );
        let err = parse_json(b"{\"text\": \"\xff\"}").unwrap_err();
        assert_eq!((err.field, err.code), ("body", "invalid_utf8"));
    }

    #[test]
    fn form_decoding_is_strict_about_utf8() {
        let s =
            parse_form(b"name=Ann+B%C3%A9&text=line1%0D%0Aline2&extra=1&thread=%2Fa%2F").unwrap();
        assert_eq!(s.name, "Ann Bé");
        assert_eq!(s.text, "line1\r\nline2");
        assert_eq!(s.thread, "/a/");
        let err = parse_form(b"text=%FF%FE").unwrap_err();
        assert_eq!((err.field, err.code), ("text", "invalid_utf8"));
        // A stray percent sign is kept literally, as browsers never send one
        // unencoded but people typing URLs by hand do.
        assert_eq!(parse_form(b"text=100%").unwrap().text, "100%");
        assert_eq!(parse_form(b"text=%4").unwrap().text, "%4");
    }

    #[test]
    fn page_titles_are_tidied_and_cut_never_refused() {
        assert_eq!(page_title("  A\n\ttitle \u{7} here "), "A title here");
        assert_eq!(page_title(""), "");
        let long = "é".repeat(MAX_TITLE_CHARS + 50);
        assert_eq!(page_title(&long).chars().count(), MAX_TITLE_CHARS);
        let form = parse_form(b"text=x&title=Hello+%26+welcome").unwrap();
        assert_eq!(form.title, "Hello & welcome");
    }

    #[test]
    fn the_notify_box_is_read_from_forms_and_json() {
        assert!(form_wants_notify(b"text=x&notify=on"));
        assert!(form_wants_notify(b"notify=1"));
        assert!(!form_wants_notify(b"text=notify%3Don"));
        assert!(!form_wants_notify(b"text=x"));
        assert!(json_wants_notify(Some(&serde_json::json!(true))).unwrap());
        assert!(!json_wants_notify(None).unwrap());
        let err = json_wants_notify(Some(&serde_json::json!(5))).unwrap_err();
        assert_eq!((err.field, err.code), ("notify", "invalid_type"));
    }

    fn config() -> Config {
        let mut config = Config::default();
        config.sites.origins = vec!["http://127.0.0.1:1".to_owned()];
        config
    }

    fn submission() -> Submission {
        Submission {
            thread: "/a/".into(),
            url: "http://127.0.0.1:1/a/".into(),
            text: "Hello".into(),
            ..Submission::default()
        }
    }

    /// Found by the `form` and `json` fuzz targets: only CR LF became LF,
    /// so `\r\r\n` was stored as `\r\n` and a lone CR stayed a CR.
    #[test]
    fn line_breaks_are_stored_as_one_kind() {
        let typed = Submission {
            text: "one\r\r\ntwo\rthree\r\nfour\n".into(),
            ..submission()
        };
        let checked = typed.check(&config(), None).unwrap();
        assert_eq!(checked.comment.text, "one\n\ntwo\nthree\nfour");
    }

    /// The fields a check refused, with their codes.
    fn refused(submission: &Submission) -> Vec<(&'static str, &'static str)> {
        match submission.check(&config(), None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn control_characters_are_refused_in_name_email_and_website() {
        assert_eq!(refused(&submission()), []);
        for bad in [
            "a\r\nb",
            "a\nb",
            "a\tb",
            "a\u{0}b",
            "a\u{85}b",
            "a\u{1b}[31mb",
        ] {
            let name = Submission {
                name: format!("Ann {bad}"),
                ..submission()
            };
            let email = Submission {
                email: format!("ann{bad}@example.org"),
                ..submission()
            };
            let website = Submission {
                website: format!("https://example.org/{bad}"),
                ..submission()
            };
            assert_eq!(refused(&name), [("name", "invalid")], "{bad:?}");
            assert_eq!(refused(&email), [("email", "invalid")], "{bad:?}");
            assert_eq!(refused(&website), [("website", "invalid")], "{bad:?}");
        }
        let forged = Submission {
            website: "https://example.org/\r\n\r\nApprove: https://evil.example/approve".into(),
            ..submission()
        };
        let errors = forged.check(&config(), None).unwrap_err();
        assert!(
            errors[0].message.starts_with("Website must not"),
            "{errors:?}"
        );
        // Line breaks around a value are trimmed, as any whitespace is.
        let padded = Submission {
            website: " https://example.org/\r\n".into(),
            ..submission()
        };
        assert_eq!(
            padded
                .check(&config(), None)
                .unwrap()
                .comment
                .website
                .as_deref(),
            Some("https://example.org/")
        );
    }

    #[test]
    fn direction_overrides_are_refused_in_name_email_and_website() {
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}']
            .into_iter()
            .chain(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'])
        {
            let name = Submission {
                name: format!("{c}gnp.exe"),
                ..submission()
            };
            let email = Submission {
                email: format!("a{c}b@example.org"),
                ..submission()
            };
            let website = Submission {
                website: format!("https://example.org/{c}x"),
                ..submission()
            };
            assert_eq!(refused(&name), [("name", "invalid")], "{c:?}");
            assert_eq!(refused(&email), [("email", "invalid")], "{c:?}");
            assert_eq!(refused(&website), [("website", "invalid")], "{c:?}");
        }
        // Right-to-left names, and the marks that place their punctuation.
        for name in [
            "\u{645}\u{62d}\u{645}\u{62f}",
            "\u{5d3}\u{5e0}\u{5d4} (\u{200f})",
            "A\u{200e}B\u{61c}",
        ] {
            let ok = Submission {
                name: name.into(),
                ..submission()
            };
            assert_eq!(refused(&ok), [], "{name:?}");
        }
        assert_eq!(page_title("\u{202e}gnp.exe \u{2066}x\u{2069}"), "gnp.exe x");
    }

    #[test]
    fn names_in_plain_text_are_isolated() {
        assert_eq!(isolated_name("Ann"), "\u{2068}Ann\u{2069}");
        assert_eq!(
            isolated_name("\u{202e}gnp\u{2069}.exe"),
            "\u{2068}gnp.exe\u{2069}"
        );
    }

    #[test]
    fn page_urls_with_userinfo_are_refused() {
        let config = config();
        assert!(check_page_url("http://127.0.0.1:1/a/", &config).is_ok());
        for raw in [
            "http://user@127.0.0.1:1/a/",
            "http://user:pw@127.0.0.1:1/a/",
            "http://:pw@127.0.0.1:1/a/",
        ] {
            let err = check_page_url(raw, &config).unwrap_err();
            assert_eq!((err.field, err.code), ("url", "invalid"), "{raw}");
        }
    }

    #[test]
    fn the_form_language_is_checked_and_the_readers_errors_speak_it() {
        let mut s = Submission::default();
        for (sent, lang) in [
            ("de", "de"),
            ("de-AT", "de"),
            ("zh-Hans", "zh-CN"),
            ("", "en"),
            ("tlh", "en"),
            ("../de", "en"),
        ] {
            s.lang = sent.into();
            assert_eq!(s.lang(), lang, "{sent:?}");
        }
        let long = check_length("name", "Name", "Annabelle", 3).unwrap_err();
        assert_eq!(long.localized("en"), long.message);
        assert_eq!(
            long.localized("de"),
            "Name ist 9 Zeichen lang; erlaubt sind 3. Bitte kürzen Sie den Text."
        );
        let control = check_characters("website", "Website", "a\tb").unwrap_err();
        assert_eq!(control.localized("en"), control.message);
        assert!(control.localized("fr").starts_with("Site web ne doit pas"));
        // An error without a catalogue message is shown as it is.
        let bidi = check_characters("name", "Name", "\u{202e}x").unwrap_err();
        assert_eq!(bidi.localized("ru"), bidi.message);
    }

    #[test]
    fn web_urls_only() {
        assert!(is_web_url("https://example.org/me"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https://user:pw@example.org/"));
        assert!(!is_web_url("example.org"));
    }
}
