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
use archway_proto::sealing::SealingKey;
use std::path::Path;

/// The control plane's master key: the shared AES-256-GCM construction
/// (`archway_proto::sealing`), loaded from where the operator keeps it.
#[derive(Debug)]
pub struct MasterKey {
    key: SealingKey,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            key: SealingKey::from_bytes(bytes),
        }
    }

    /// From 64 hex characters.
    pub fn from_hex(hex: &str) -> anyhow::Result<Self> {
        let key = SealingKey::from_hex(hex)
            .map_err(|_| anyhow::anyhow!("the master key must be 64 hex characters (32 bytes)"))?;
        Ok(Self { key })
    }

    /// Reads the key from `path`, creating it (0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Self::from_hex(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key, hex) = SealingKey::generate();
                create_private(path, &hex)
                    .with_context(|| format!("creating the master key {}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new master key");
                Ok(Self { key })
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// nonce ‖ ciphertext ‖ tag, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        self.key.seal(context, plaintext)
    }

    /// The plaintext, or an error when the value was not sealed by this key
    /// for this context (wrong master key, tampering, swapped values).
    pub fn open(&self, context: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.key.open(context, sealed).map_err(|_| {
            anyhow::anyhow!("cannot open a sealed secret: is this the store's master key?")
        })
    }
}

/// Creates a file only its owner can read, failing if it exists, and
/// syncs it: for the master key (two starting control planes must never
/// both create one, or the second would replace a key the first already
/// sealed secrets with), token files and the store identity, none of which
/// is ever overwritten.
pub fn create_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
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
