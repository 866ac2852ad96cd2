//! The master key, and the secrets sealed with it.
//!
//! IAM secret access keys must be recoverable (nodes need them to check
//! SigV4 signatures), so they cannot be hashed like API keys and admin
//! tokens. They are sealed with AES-256-GCM under a master key that lives
//! outside the store: a copy of the sled folder alone reveals no secret.
//! Each sealed value is bound to its access key id (the AEAD's associated
//! data), so sealed values cannot be swapped between keys.
//!
//! The master key comes from `ARCHWAY_MASTER_KEY` (64 hex characters) or a
//! file (`--master-key-file`, default DATA_DIR/master.key, created with
//! mode 0600 on first start). Production deployments should mount it from a
//! secret store, away from the data folder.

use anyhow::Context;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::path::Path;

pub struct MasterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256 takes 32 bytes");
        Self {
            key: LessSafeKey::new(unbound),
        }
    }

    /// From 64 hex characters.
    pub fn from_hex(hex: &str) -> anyhow::Result<Self> {
        let hex = hex.trim();
        anyhow::ensure!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "the master key must be 64 hex characters (32 bytes)"
        );
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// Reads the key from `path`, creating it (0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Self::from_hex(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).expect("the OS random source");
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                create_private(path, &hex)
                    .with_context(|| format!("creating the master key {}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new master key");
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// nonce ‖ ciphertext ‖ tag, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let mut out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut out,
            )
            .expect("AES-GCM sealing does not fail for small inputs");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// The plaintext, or an error when the value was not sealed by this key
    /// for this context (wrong master key, tampering, swapped values).
    pub fn open(&self, context: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(sealed.len() > NONCE_LEN, "sealed value is too short");
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).context("bad nonce")?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| {
                anyhow::anyhow!("cannot open a sealed secret: is this the store's master key?")
            })?;
        Ok(plain.to_vec())
    }
}

/// Writes a file only its owner can read (tokens), replacing any, and
/// syncs it.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    write_owner_only(path, contents, false)
}

/// Like [`write_private`], but fails if the file exists: for the master
/// key, which two starting control planes must never both create (the
/// second would replace a key the first already sealed secrets with).
pub fn create_private(path: &Path, contents: &str) -> std::io::Result<()> {
    write_owner_only(path, contents, true)
}

fn write_owner_only(path: &Path, contents: &str, new_only: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if new_only {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols)
/// with the OS's secure random source.
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the OS random source");
        // Rejection sampling keeps every symbol equally likely.
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_their_context() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let sealed = key.seal("AKIA1", b"secret");
        assert_eq!(key.open("AKIA1", &sealed).unwrap(), b"secret");
        assert!(key.open("AKIA2", &sealed).is_err(), "bound to its key id");
        let other = MasterKey::from_bytes(&[8; 32]);
        assert!(
            other.open("AKIA1", &sealed).is_err(),
            "needs the same master key"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open("AKIA1", &tampered).is_err());
        assert_ne!(
            key.seal("AKIA1", b"secret"),
            sealed,
            "fresh nonce each time"
        );
    }

    #[test]
    fn creates_a_private_key_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(b.open("x", &a.seal("x", b"v")).unwrap(), b"v");
        assert!(MasterKey::from_hex("abc").is_err());
    }
}
