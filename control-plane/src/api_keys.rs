//! API key values: generated from the OS's secure random source, checked
//! when imported, and stored only as HMAC-SHA256 under a secret the control
//! plane creates once and shares with nodes (which hash what clients send
//! the same way). A keyed hash rather than a password hash: it is checked on
//! every request, and a 40-character random value needs no stretching.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const GENERATED_LENGTH: usize = 40;

/// A new random key value (40 characters, about 238 bits).
pub fn generate() -> String {
    crate::secrets::random_string(ALPHABET, GENERATED_LENGTH)
}

/// A fresh 32-byte secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).expect("the OS random source");
    secret
}

/// Why an imported value is refused, if it is.
pub fn check_value(value: &str) -> Result<(), String> {
    if !(20..=128).contains(&value.len()) {
        return Err(format!("must be 20 to 128 characters, got {}", value.len()));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!("has '{bad}'; use A-Z, a-z, 0-9, '-' and '_'"));
    }
    Ok(())
}

pub fn hash(secret: &[u8], value: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_long_distinct_and_valid() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), GENERATED_LENGTH);
        assert_ne!(a, b);
        assert!(check_value(&a).is_ok());
    }

    #[test]
    fn imported_values_are_checked() {
        assert!(check_value("short").is_err());
        assert!(check_value(&"x".repeat(129)).is_err());
        assert!(check_value("abcdefghij klmnopqrst").is_err());
        assert!(check_value("abcdefghij_klmnopqrst").is_ok());
    }

    #[test]
    fn hashes_depend_on_the_secret() {
        assert_eq!(hash(b"s1", "v"), hash(b"s1", "v"));
        assert_ne!(hash(b"s1", "v"), hash(b"s2", "v"));
        assert_eq!(hash(b"s1", "v").len(), 32);
    }
}
