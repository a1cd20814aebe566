//! The admin password: hashed with argon2id (the `argon2` crate, RustCrypto's
//! maintained implementation, with its default OWASP-recommended cost) and
//! checked in constant time by that crate. `kiln admin set-password` hashes,
//! the admin page's login verifies; only the PHC string is ever stored.

use anyhow::{anyhow, bail, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 10;
/// Longest password accepted, in bytes: hashing is costly, and a login form
/// must not become a way to make the server hash megabytes.
pub const MAX_LEN: usize = 1024;

/// Hashes a new password into a PHC string (`$argon2id$v=19$...`), after
/// checking its length.
pub fn hash(password: &str) -> Result<String> {
    if password.chars().count() < MIN_LEN {
        bail!("the password is too short; use at least {MIN_LEN} characters");
    }
    if password.len() > MAX_LEN {
        bail!("the password is too long; use at most {MAX_LEN} bytes");
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| anyhow!("cannot encode the salt: {e}"))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed stored
/// hash is an error, not a mismatch, so it is noticed.
pub fn verify(phc: &str, password: &str) -> Result<bool> {
    if password.len() > MAX_LEN {
        return Ok(false);
    }
    let parsed = PasswordHash::new(phc)
        .map_err(|e| anyhow!("the stored admin password hash is malformed: {e}"))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify(&a, "correct horse battery").unwrap());
        assert!(!verify(&a, "correct horse batterY").unwrap());
        assert!(hash("short").unwrap_err().to_string().contains("at least"));
        assert!(verify("not a hash", "x").is_err());
    }
}
