//! Sealing secrets at rest with AES-256-GCM: the one construction both
//! planes use for the IAM secret access keys they must keep recoverable
//! (nodes need them to check SigV4 signatures, so they cannot be hashed).
//!
//! A sealed value is nonce ‖ ciphertext ‖ tag, bound to a context string
//! (the access key id) as the AEAD's associated data, so sealed values
//! cannot be swapped between keys. Where the 32-byte key lives is each
//! plane's business: the control plane's master key, a node's seal key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the key must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("sealed value is too short")]
    TooShort,
    #[error("cannot open a sealed secret: it was sealed with another key or for another id")]
    WrongKey,
}

pub struct SealingKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256 takes 32 bytes");
        Self {
            key: LessSafeKey::new(unbound),
        }
    }

    /// From 64 hex characters (surrounding white space ignored).
    pub fn from_hex(hex: &str) -> Result<Self, SealError> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SealError::BadKey);
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| SealError::BadKey)?;
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// A new random key, and its 64 hex characters to store.
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source");
        let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
        (Self::from_bytes(&bytes), hex)
    }

    /// nonce ‖ ciphertext ‖ tag, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let (_, body) = out.split_at_mut(NONCE_LEN);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                body,
            )
            .expect("AES-GCM sealing does not fail for small inputs");
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// The plaintext, or an error when the value was not sealed by this key
    /// for this context (wrong key, tampering, swapped values).
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() <= NONCE_LEN {
            return Err(SealError::TooShort);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::TooShort)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| SealError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_their_context() {
        let key = SealingKey::from_bytes(&[7; 32]);
        let sealed = key.seal("AKIA1", b"secret");
        assert_eq!(key.open("AKIA1", &sealed).unwrap(), b"secret");
        assert!(key.open("AKIA2", &sealed).is_err(), "bound to its key id");
        let other = SealingKey::from_bytes(&[8; 32]);
        assert!(other.open("AKIA1", &sealed).is_err(), "needs the same key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open("AKIA1", &tampered).is_err());
        assert!(key.open("AKIA1", &sealed[..12]).is_err());
        assert_ne!(
            key.seal("AKIA1", b"secret"),
            sealed,
            "fresh nonce each time"
        );
    }

    #[test]
    fn hex_keys_round_trip() {
        let (key, hex) = SealingKey::generate();
        let again = SealingKey::from_hex(&format!(" {hex}\n")).unwrap();
        assert_eq!(again.open("x", &key.seal("x", b"v")).unwrap(), b"v");
        assert!(SealingKey::from_hex("abc").is_err());
        assert!(SealingKey::from_hex(&"g".repeat(64)).is_err());
    }
}
