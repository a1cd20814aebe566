//! Avatars that cost readers nothing: a small identicon drawn inline from a
//! salted key, so a baked page shows who is who without a request to anyone
//! and without publishing anything that leads back to an email address.
//!
//! The key is an HMAC of the commenter's email address (trimmed and
//! lower-cased) under a random salt that only the receiver's database holds
//! (`avatar_salt`, made by migration 6). Without the salt, nobody can check a
//! guessed address against a key, and two sites never give one person the
//! same key. A comment without an address is keyed by its author's name
//! (under a separate label, so a name can never pose as an address's key);
//! one with neither gets the neutral avatar. Every caller that knows the
//! address (the export, the export API, a bake from the database, the
//! receiver's own pages) goes through [`AvatarKeys`], so they all agree.
//!
//! Gravatar is opt-in (`privacy.gravatar`): only then does the export carry
//! the unsalted SHA-256 Gravatar looks addresses up by, which anyone can test
//! guesses against, and only then does bake link to gravatar.com.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::export::{is_gravatar_hash, is_key, Comment, CommentStatus, KEY_LEN};

type HmacSha256 = Hmac<Sha256>;

/// The rendered size in CSS pixels; `style.css` sets the same.
const SIZE: u32 = 32;

/// Derives avatar keys (and, when enabled, Gravatar hashes) from addresses.
#[derive(Clone)]
pub struct AvatarKeys {
    /// Keyed with the salt once; cloned for each key, which skips hashing
    /// the key pads again.
    mac: HmacSha256,
    gravatar: bool,
}

impl fmt::Debug for AvatarKeys {
    // The salt must never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvatarKeys")
            .field("gravatar", &self.gravatar)
            .finish_non_exhaustive()
    }
}

impl AvatarKeys {
    /// Keys under `salt` (the database's `avatar_salt`). With `gravatar`,
    /// comments also get the hash Gravatar needs (`privacy.gravatar`).
    pub fn new(salt: &[u8], gravatar: bool) -> Self {
        AvatarKeys {
            mac: HmacSha256::new_from_slice(salt).expect("HMAC takes keys of any length"),
            gravatar,
        }
    }

    /// The avatar key of a comment by `author` with `email`: from the
    /// address when there is one, else from the name, else none.
    pub fn key(&self, email: Option<&str>, author: &str) -> Option<String> {
        if let Some(email) = email.and_then(normalized_email) {
            return Some(self.derive(b"email", email.as_bytes()));
        }
        let name = author.trim();
        (!name.is_empty()).then(|| self.derive(b"name", name.as_bytes()))
    }

    /// The Gravatar hash of `email`, when Gravatar is enabled.
    pub fn gravatar(&self, email: Option<&str>) -> Option<String> {
        if !self.gravatar {
            return None;
        }
        let email = normalized_email(email?)?;
        Some(hex(&Sha256::digest(email.as_bytes())))
    }

    /// Sets `comment.avatar` and `comment.gravatar` for a comment whose
    /// author gave `email`. A deleted marker gets neither.
    pub fn apply(&self, comment: &mut Comment, email: Option<&str>) {
        if comment.status == CommentStatus::Deleted {
            comment.avatar = None;
            comment.gravatar = None;
            return;
        }
        comment.avatar = self.key(email, &comment.author);
        comment.gravatar = self.gravatar(email);
    }

    /// [`AvatarKeys::apply`], remembering in `memo` what each address and
    /// name gave: people comment again, and an HMAC for every comment was
    /// half the time of loading 100,000 of them.
    pub fn apply_remembered(&self, comment: &mut Comment, email: Option<&str>, memo: &mut Memo) {
        if comment.status == CommentStatus::Deleted {
            return self.apply(comment, email);
        }
        let (avatar, gravatar) = match email.filter(|e| !e.trim().is_empty()) {
            Some(email) => match memo.by_email.get(email) {
                Some(known) => known.clone(),
                None => {
                    let found = (self.key(Some(email), ""), self.gravatar(Some(email)));
                    memo.by_email.insert(email.to_owned(), found.clone());
                    found
                }
            },
            None => match memo.by_name.get(&comment.author) {
                Some(known) => (known.clone(), None),
                None => {
                    let found = self.key(None, &comment.author);
                    memo.by_name.insert(comment.author.clone(), found.clone());
                    (found, None)
                }
            },
        };
        comment.avatar = avatar;
        comment.gravatar = gravatar;
    }

    fn derive(&self, label: &[u8], value: &[u8]) -> String {
        let mut mac = self.mac.clone();
        // Labelled and NUL-separated, so an address and a name never collide.
        mac.update(b"kiln-avatar-v1\0");
        mac.update(label);
        mac.update(b"\0");
        mac.update(value);
        hex(&mac.finalize().into_bytes()[..KEY_LEN / 2])
    }
}

/// What [`AvatarKeys::apply_remembered`] has worked out so far.
#[derive(Default)]
pub struct Memo {
    by_email: std::collections::HashMap<String, (Option<String>, Option<String>)>,
    by_name: std::collections::HashMap<String, Option<String>>,
}

/// An address as avatars key it: trimmed and lower-cased, or none if empty.
fn normalized_email(email: &str) -> Option<String> {
    let email = email.trim();
    (!email.is_empty()).then(|| email.to_lowercase())
}

/// The identicon of a key as inline SVG: a 5×5 grid mirrored left to right,
/// in one colour, drawn with presentation attributes only, so it needs no
/// style, script or request and works under any Content-Security-Policy.
/// Decorative: hidden from assistive technology, since the name follows.
/// `None` when `key` is not a key.
pub fn identicon(key: &str) -> Option<String> {
    if !is_key(key) {
        return None;
    }
    let bits = u64::from_str_radix(key, 16).ok()?;
    // Bits 0–14 fill the left three columns, row by row; the right two
    // mirror them. An empty grid would draw nothing: fill the middle column.
    let mut cells = bits & 0x7fff;
    if cells == 0 {
        cells = 0b100_100_100_100_100;
    }
    let hue = ((bits >> 15) & 0xffff) * 360 / 0x1_0000;
    let saturation = 45 + (bits >> 31) % 25;
    let lightness = 40 + (bits >> 40) % 16;
    // Built by pushing, not formatting: bake draws one for every comment
    // it places, and `write!` made this most of a thread's rendering time.
    let mut svg = String::with_capacity(320);
    svg.push_str(concat!(
        "<svg class=\"kiln-avatar\" width=\"",
        "32",
        "\" height=\"",
        "32",
        "\" viewBox=\"-.5 -.5 6 6\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"#"
    ));
    for byte in hsl_rgb(hue as u32, saturation as u32, lightness as u32) {
        push_hex(&mut svg, byte);
    }
    svg.push_str("\" d=\"");
    let digit = |n: u64| char::from(b'0' + n as u8);
    for row in 0..5 {
        let left = (cells >> (row * 3)) & 0b111;
        let on = |col: u64| {
            let col = if col > 2 { 4 - col } else { col };
            left & (1 << col) != 0
        };
        let mut col = 0;
        while col < 5 {
            if !on(col) {
                col += 1;
                continue;
            }
            let start = col;
            while col < 5 && on(col) {
                col += 1;
            }
            // M{start} {row}h{width}v1H{start}z
            svg.extend(['M', digit(start), ' ', digit(row), 'h', digit(col - start)]);
            svg.extend(['v', '1', 'H', digit(start), 'z']);
        }
    }
    svg.push_str("\"/></svg>");
    Some(svg)
}

/// The avatar of a comment that has no key (no address, no name): a grey
/// head and shoulders.
pub const NEUTRAL: &str = "<svg class=\"kiln-avatar\" width=\"32\" height=\"32\" \
    viewBox=\"-.5 -.5 6 6\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"#8a919c\" \
    d=\"M2.5.4a1.2 1.2 0 1 1 0 2.4a1.2 1.2 0 1 1 0-2.4zM.4 5a2.1 2.1 0 0 1 4.2 0z\"/></svg>";

/// Gravatar's picture for a hash, with Gravatar's own identicon for
/// addresses it does not know. It sends no referrer, so Gravatar learns the
/// reader's address but not which page they read; it loads lazily. `None`
/// when `hash` is not a Gravatar hash.
pub fn gravatar_img(hash: &str) -> Option<String> {
    is_gravatar_hash(hash).then(|| {
        format!(
            "<img class=\"kiln-avatar\" src=\"https://gravatar.com/avatar/{hash}?s={}&amp;d=identicon\" \
             width=\"{SIZE}\" height=\"{SIZE}\" alt=\"\" loading=\"lazy\" referrerpolicy=\"no-referrer\">",
            SIZE * 2
        )
    })
}

/// `hsl(h, s%, l%)` as `#rrggbb`; SVG's `fill` attribute takes both, but
/// hex is shorter and understood everywhere.
fn hsl_rgb(hue: u32, saturation: u32, lightness: u32) -> [u8; 3] {
    let (s, l) = (f64::from(saturation) / 100.0, f64::from(lightness) / 100.0);
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let h = f64::from(hue % 360) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [byte(r), byte(g), byte(b)]
}

fn push_hex(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(byte >> 4)]));
    out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        push_hex(&mut out, b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawn the same from one kiln version to the next: a change here
    /// would rewrite every baked page with a comment.
    #[test]
    fn identicons_are_stable() {
        assert_eq!(
            identicon("0123456789abcdef").unwrap(),
            "<svg class=\"kiln-avatar\" width=\"32\" height=\"32\" viewBox=\"-.5 -.5 6 6\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"#b46c31\" d=\"M0 0h5v1H0zM0 1h1v1H0zM2 1h1v1H2zM4 1h1v1H4zM0 2h5v1H0zM1 3h3v1H1zM2 4h1v1H2z\"/></svg>"
        );
        assert_eq!(
            identicon("fedcba9876543210").unwrap(),
            "<svg class=\"kiln-avatar\" width=\"32\" height=\"32\" viewBox=\"-.5 -.5 6 6\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"#be417b\" d=\"M1 1h1v1H1zM3 1h1v1H3zM0 3h1v1H0zM4 3h1v1H4zM0 4h2v1H0zM3 4h2v1H3z\"/></svg>"
        );
        assert!(identicon("0123456789abcdef")
            .unwrap()
            .contains(&format!("width=\"{SIZE}\" height=\"{SIZE}\"")));
    }

    const SALT: &[u8] = b"a salt of thirty-two random bytes";

    #[test]
    fn keys_are_deterministic_and_ignore_case_and_spaces() {
        let keys = AvatarKeys::new(SALT, false);
        let a = keys.key(Some("ann@example.org"), "Ann").unwrap();
        assert!(is_key(&a), "{a}");
        assert_eq!(
            keys.key(Some("  ANN@Example.org \n"), "Someone else"),
            Some(a.clone())
        );
        assert_eq!(
            AvatarKeys::new(SALT, true).key(Some("ann@example.org"), ""),
            Some(a)
        );
    }

    #[test]
    fn different_people_get_different_keys() {
        let keys = AvatarKeys::new(SALT, false);
        let ann = keys.key(Some("ann@example.org"), "Ann");
        let bob = keys.key(Some("bob@example.org"), "Ann");
        assert_ne!(ann, bob);
        // An address and a name never share a key, even when spelled alike.
        assert_ne!(
            keys.key(None, "ann@example.org"),
            keys.key(Some("ann@example.org"), "")
        );
        assert_ne!(keys.key(None, "Ann"), keys.key(None, "Bob"));
        assert_eq!(keys.key(None, " Ann "), keys.key(None, "Ann"));
        assert_eq!(keys.key(Some(" "), "  "), None, "nothing to key on");
    }

    #[test]
    fn another_salt_gives_other_keys() {
        let one = AvatarKeys::new(SALT, false).key(Some("ann@example.org"), "");
        let other = AvatarKeys::new(b"another salt", false).key(Some("ann@example.org"), "");
        assert_ne!(one, other);
        // Nor is the key a plain hash of the address anyone could compute.
        let plain = hex(&Sha256::digest(b"ann@example.org"));
        assert!(!plain.starts_with(one.as_deref().unwrap()));
    }

    #[test]
    fn gravatar_hashes_only_when_enabled() {
        let email = Some(" Ann@Example.org ");
        assert_eq!(AvatarKeys::new(SALT, false).gravatar(email), None);
        let hash = AvatarKeys::new(SALT, true).gravatar(email).unwrap();
        // What Gravatar looks up: SHA-256 of the trimmed, lower-cased address.
        assert_eq!(hash, hex(&Sha256::digest(b"ann@example.org")));
        assert!(is_gravatar_hash(&hash));
        assert_eq!(AvatarKeys::new(SALT, true).gravatar(None), None);
    }

    fn comment() -> Comment {
        Comment {
            id: 1,
            parent: None,
            status: CommentStatus::Approved,
            author: "Ann".into(),
            website: None,
            text: "hi".into(),
            created_at: crate::export::unix_to_rfc3339(0),
            avatar: None,
            gravatar: None,
            likes: 0,
            verified: false,
            html: None,
        }
    }

    #[test]
    fn deleted_markers_get_no_avatar() {
        let keys = AvatarKeys::new(SALT, true);
        let mut comment = comment();
        keys.apply(&mut comment, Some("ann@example.org"));
        assert!(comment.avatar.is_some() && comment.gravatar.is_some());
        comment.status = CommentStatus::Deleted;
        keys.apply(&mut comment, Some("ann@example.org"));
        assert_eq!((comment.avatar, comment.gravatar), (None, None));
    }

    #[test]
    fn identicons_are_small_deterministic_inline_svg_without_the_address() {
        let keys = AvatarKeys::new(SALT, false);
        let key = keys.key(Some("ann@example.org"), "Ann").unwrap();
        let svg = identicon(&key).unwrap();
        assert_eq!(identicon(&key).unwrap(), svg);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains("aria-hidden=\"true\""));
        assert!(!svg.contains("style") && !svg.contains("href") && !svg.contains("ann"));
        let other = identicon(&keys.key(Some("bob@example.org"), "").unwrap()).unwrap();
        assert_ne!(svg, other);
        // Worst case (every cell on, alternating runs) stays a few hundred bytes.
        for key in ["0000000000007fff", "0000000000005555", "ffffffffffffffff"] {
            let svg = identicon(key).unwrap();
            assert!(svg.len() < 400, "{} bytes: {svg}", svg.len());
        }
        assert!(identicon("0000000000000000")
            .unwrap()
            .contains("M2 0h1v1H2z"));
        for bad in ["", "xyz", "ABCDEF0123456789", "0123456789abcdef0"] {
            assert_eq!(identicon(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn gravatar_images_are_lazy_and_send_no_referrer() {
        let hash = hex(&Sha256::digest(b"ann@example.org"));
        let img = gravatar_img(&hash).unwrap();
        assert!(img.contains(&format!("src=\"https://gravatar.com/avatar/{hash}?")));
        for attr in [
            "alt=\"\"",
            "loading=\"lazy\"",
            "referrerpolicy=\"no-referrer\"",
            "d=identicon",
        ] {
            assert!(img.contains(attr), "{attr}: {img}");
        }
        assert_eq!(gravatar_img("\"><script>"), None);
    }

    #[test]
    fn remembered_keys_are_the_keys() {
        for gravatar in [false, true] {
            let keys = AvatarKeys::new(SALT, gravatar);
            let mut memo = Memo::default();
            let cases = [
                (Some("Ann@Example.org"), "Ann", CommentStatus::Approved),
                (Some("ann@example.org "), "Someone", CommentStatus::Approved),
                (Some("Ann@Example.org"), "Ann", CommentStatus::Approved),
                (Some("  "), "Bob", CommentStatus::Approved),
                (None, "Bob", CommentStatus::Approved),
                (None, "", CommentStatus::Approved),
                (Some("ann@example.org"), "Ann", CommentStatus::Deleted),
            ];
            for (email, author, status) in cases {
                let mut plain = Comment {
                    author: author.into(),
                    status,
                    ..comment()
                };
                let mut remembered = plain.clone();
                keys.apply(&mut plain, email);
                keys.apply_remembered(&mut remembered, email, &mut memo);
                assert_eq!(remembered, plain, "{email:?} {author:?}");
            }
        }
    }

    #[test]
    fn colours_convert() {
        assert_eq!(hsl_rgb(0, 100, 50), [0xff, 0, 0]);
        assert_eq!(hsl_rgb(120, 100, 50), [0, 0xff, 0]);
        assert_eq!(hsl_rgb(240, 100, 25), [0, 0, 0x80]);
        assert_eq!(hsl_rgb(0, 0, 50), [0x80, 0x80, 0x80]);
        assert_eq!(hex(&[0x0a, 0xff, 0x80]), "0aff80");
    }
}
