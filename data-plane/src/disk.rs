//! The last applied configuration on disk, so a node restarted while the
//! control plane is down serves what it served before.
//!
//! Written as a new file, fsynced, renamed over the old one, then the folder
//! fsynced: a crash leaves either the old snapshot or the new one, never a
//! torn file. The file is readable by its owner only.
//!
//! IAM secret access keys, and the secrets and session tokens of outbound
//! credentials, are not in it in clear: each is sealed (AES-256-GCM, bound
//! to its access key id or the credential's name, see
//! `archway_proto::sealing`)
//! with the node's seal key, which lives apart from the snapshot
//! (`--seal-key-file`, or `ARCHWAY_SEAL_KEY`). A copy of the snapshot alone
//! (a backup, a support bundle) reveals no secret. A snapshot whose secrets
//! do not open with the node's key (the key was replaced) is still served;
//! its access keys have no secret until the control plane sends them again,
//! which it does at once: the content digest then differs from its own.

use crate::received::ReceivedConfig;
use anyhow::Context;
use archway_proto::sealing::SealingKey;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{ConfigResource, NodeSnapshot};
use prost::Message;
use smallvec::{SmallVec, smallvec};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FILE_NAME: &str = "snapshot.pb";
/// The default seal key file, inside the state directory.
pub const SEAL_KEY_FILE: &str = "seal.key";

#[derive(Debug, Clone)]
pub struct SnapshotFile {
    dir: PathBuf,
    seal: Arc<SealingKey>,
}

impl SnapshotFile {
    pub fn new(dir: &Path, seal: Arc<SealingKey>) -> Self {
        Self {
            dir: dir.to_owned(),
            seal,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The saved configuration, or None when there is none yet.
    pub fn load(&self) -> anyhow::Result<Option<ReceivedConfig>> {
        Ok(self.load_checked()?.map(|(config, _)| config))
    }

    /// [`SnapshotFile::load`], and whether the file held an IAM secret in
    /// clear (saved by a node from before sealing): the caller saves it
    /// again at once so the secret leaves the disk.
    pub fn load_checked(&self) -> anyhow::Result<Option<(ReceivedConfig, bool)>> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        };
        let snapshot = NodeSnapshot::decode(bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("decoding {}: {e}", path.display()))?;
        let mut unopened = 0usize;
        let mut in_clear = false;
        let resources = snapshot
            .resources
            .into_iter()
            .map(|mut r| {
                if let Some(body) = &mut r.resource {
                    for (id, field) in sealed_fields(body) {
                        in_clear |= !field.is_empty();
                        if let Some(sealed) = snapshot.sealed_secrets.get(&id) {
                            match self.seal.open(&id, sealed) {
                                Ok(plain) => *field = String::from_utf8_lossy(&plain).into(),
                                Err(_) => unopened += 1,
                            }
                        }
                    }
                }
                (r.name.clone(), r)
            })
            .collect();
        if unopened > 0 {
            tracing::error!(
                path = %path.display(),
                unopened,
                "the node's seal key does not open the saved secrets (was --seal-key-file replaced?); those access keys and outbound credentials fail until the control plane sends them again"
            );
        }
        let config = ReceivedConfig::new(
            snapshot.epoch,
            snapshot.version,
            snapshot.store_id,
            resources,
        );
        Ok(Some((config, in_clear)))
    }

    /// Saves `config` durably. Encodes the fields of `NodeSnapshot` directly
    /// from the map so a large configuration is not copied first; only
    /// access keys and outbound credentials are copied, to leave their
    /// secrets out.
    pub fn save(&self, config: &ReceivedConfig) -> std::io::Result<()> {
        use prost::encoding;
        fs::create_dir_all(&self.dir)?;
        let mut buf = Vec::new();
        let mut sealed = BTreeMap::new();
        encoding::uint64::encode(1, &config.version, &mut buf);
        for resource in config.resources.values() {
            match &resource.resource {
                Some(body @ (Body::AccessKey(_) | Body::OutboundCredential(_))) => {
                    let mut body = body.clone();
                    for (id, field) in sealed_fields(&mut body) {
                        if !field.is_empty() {
                            sealed.insert(id.clone(), self.seal.seal(&id, field.as_bytes()));
                            field.clear();
                        }
                    }
                    let bare = ConfigResource {
                        name: resource.name.clone(),
                        resource: Some(body),
                    };
                    encoding::message::encode(2, &bare, &mut buf);
                }
                _ => encoding::message::encode(2, resource, &mut buf),
            }
        }
        encoding::string::encode(3, &config.epoch, &mut buf);
        encoding::string::encode(4, &config.store_id, &mut buf);
        encoding::btree_map::encode(
            encoding::string::encode,
            encoding::string::encoded_len,
            encoding::bytes::encode,
            encoding::bytes::encoded_len,
            5,
            &sealed,
            &mut buf,
        );

        let tmp = self.dir.join(format!("{FILE_NAME}.tmp"));
        // Owner only. A leftover temporary file goes first, so its mode
        // cannot carry over.
        let _ = fs::remove_file(&tmp);
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?
        };
        file.write_all(&buf)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, self.path())?;
        File::open(&self.dir)?.sync_all()
    }
}

/// The secret fields of a resource with the id each is sealed under on
/// disk: an access key's secret (under its id), an outbound credential's
/// secret and session token; none for other resources. Loading and saving
/// both walk this one list.
fn sealed_fields(body: &mut Body) -> SmallVec<[(String, &mut String); 2]> {
    match body {
        Body::AccessKey(key) => {
            smallvec![(key.access_key_id.clone(), &mut key.secret_access_key)]
        }
        Body::OutboundCredential(c) => {
            let (secret_id, token_id) = outbound_seal_ids(&c.name);
            smallvec![
                (secret_id, &mut c.secret_access_key),
                (token_id, &mut c.session_token)
            ]
        }
        _ => SmallVec::new(),
    }
}

/// The ids an outbound credential's secret and session token are sealed
/// under (and bound to): never an access key id, which has no `/`.
fn outbound_seal_ids(name: &str) -> (String, String) {
    (
        format!("outbound/{name}"),
        format!("outbound/{name}/session"),
    )
}

/// Where a node's seal key comes from.
#[derive(Debug, Clone)]
pub enum SealKeySource {
    /// 64 hex characters (`ARCHWAY_SEAL_KEY`).
    Hex(String),
    /// A file of 64 hex characters, created (mode 0600) when missing.
    File(PathBuf),
}

impl SealKeySource {
    pub fn load(&self) -> anyhow::Result<SealingKey> {
        match self {
            Self::Hex(hex) => SealingKey::from_hex(hex).context("ARCHWAY_SEAL_KEY"),
            Self::File(path) => load_or_create_key(path),
        }
    }
}

fn load_or_create_key(path: &Path) -> anyhow::Result<SealingKey> {
    match fs::read_to_string(path) {
        Ok(text) => {
            SealingKey::from_hex(&text).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex) = SealingKey::generate();
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut file = {
                use std::os::unix::fs::OpenOptionsExt;
                // create_new: two nodes starting on one folder must not
                // both make a key.
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .with_context(|| format!("creating the seal key {}", path.display()))?
            };
            file.write_all(format!("{hex}\n").as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new seal key for the saved snapshot");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::AccessKey;

    fn key(byte: u8) -> Arc<SealingKey> {
        Arc::new(SealingKey::from_bytes(&[byte; 32]))
    }

    fn access_key(id: &str, secret: &str) -> ConfigResource {
        ConfigResource {
            name: format!("accesskey/{id}"),
            resource: Some(Body::AccessKey(AccessKey {
                access_key_id: id.into(),
                secret_access_key: secret.into(),
                enabled: true,
                ..Default::default()
            })),
        }
    }

    fn secret_of(config: &ReceivedConfig, id: &str) -> String {
        match &config.resources[&format!("accesskey/{id}")].resource {
            Some(Body::AccessKey(k)) => k.secret_access_key.clone(),
            _ => panic!("not an access key"),
        }
    }

    #[test]
    fn round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::new(dir.path(), key(1));
        assert!(file.load().unwrap().is_none());
        let mut resources = std::collections::HashMap::new();
        resources.insert(
            "api/a".to_owned(),
            ConfigResource {
                name: "api/a".into(),
                resource: None,
            },
        );
        let mut config = ReceivedConfig::new("e1".into(), 4, "store-1".into(), resources);
        file.save(&config).unwrap();
        config.version = 5;
        file.save(&config).unwrap();
        let loaded = file.load().unwrap().unwrap();
        assert_eq!(loaded.version, 5);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "owner only");
        }
        assert_eq!(loaded.epoch, "e1");
        assert_eq!(loaded.store_id, "store-1");
        assert!(loaded.resources.contains_key("api/a"));
        assert_eq!(loaded.digest(), config.digest());
        assert!(!dir.path().join("snapshot.pb.tmp").exists());
    }

    #[test]
    fn saved_snapshots_hold_no_iam_secret_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::new(dir.path(), key(1));
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let resources = [access_key("AKIAEXAMPLE000000001", secret)]
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let config = ReceivedConfig::new("e".into(), 1, "s".into(), resources);
        file.save(&config).unwrap();
        let raw = fs::read(file.path()).unwrap();
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret must not be on disk in clear"
        );
        let loaded = file.load().unwrap().unwrap();
        assert_eq!(secret_of(&loaded, "AKIAEXAMPLE000000001"), secret);
        assert_eq!(loaded.digest(), config.digest());
    }

    #[test]
    fn saved_snapshots_hold_no_outbound_secret_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::new(dir.path(), key(1));
        let (secret, token) = (
            "oUtBoUnD/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "a-session-token-value",
        );
        let credential = ConfigResource {
            name: "outboundcredential/invoker".into(),
            resource: Some(Body::OutboundCredential(
                archway_proto::v1::OutboundCredential {
                    name: "invoker".into(),
                    access_key_id: "AKIAOUTBOUND00000001".into(),
                    secret_access_key: secret.into(),
                    session_token: token.into(),
                    ..Default::default()
                },
            )),
        };
        let resources = [credential.clone()]
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let config = ReceivedConfig::new("e".into(), 1, "s".into(), resources);
        file.save(&config).unwrap();
        let raw = fs::read(file.path()).unwrap();
        for clear in [secret, token] {
            assert!(
                !raw.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{clear} must not be on disk in clear"
            );
        }
        let (loaded, in_clear) = file.load_checked().unwrap().unwrap();
        assert!(!in_clear);
        assert_eq!(loaded.digest(), config.digest());
        // Another node's key opens nothing: the credential has no secret.
        let other = SnapshotFile::new(dir.path(), key(2))
            .load()
            .unwrap()
            .unwrap();
        assert_ne!(other.digest(), config.digest());
    }

    #[test]
    fn a_snapshot_with_secrets_in_clear_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::new(dir.path(), key(1));
        // As a node from before sealing wrote it.
        let old = NodeSnapshot {
            version: 2,
            resources: vec![access_key("AKIAEXAMPLE000000001", "in-clear")],
            ..Default::default()
        };
        fs::write(file.path(), old.encode_to_vec()).unwrap();
        let (loaded, in_clear) = file.load_checked().unwrap().unwrap();
        assert!(in_clear);
        assert_eq!(secret_of(&loaded, "AKIAEXAMPLE000000001"), "in-clear");
        file.save(&loaded).unwrap();
        assert!(
            !file.load_checked().unwrap().unwrap().1,
            "sealed once saved"
        );
    }

    #[test]
    fn a_foreign_seal_key_leaves_secrets_empty_and_the_digest_different() {
        let dir = tempfile::tempdir().unwrap();
        let resources = [access_key("AKIAEXAMPLE000000001", "s3cret")]
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let config = ReceivedConfig::new("e".into(), 1, "s".into(), resources);
        SnapshotFile::new(dir.path(), key(1)).save(&config).unwrap();
        let loaded = SnapshotFile::new(dir.path(), key(2))
            .load()
            .unwrap()
            .unwrap();
        assert_eq!(secret_of(&loaded, "AKIAEXAMPLE000000001"), "");
        assert_ne!(
            loaded.digest(),
            config.digest(),
            "so the control plane sends the secrets again"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"\xff\xff\xff").unwrap();
        assert!(SnapshotFile::new(dir.path(), key(1)).load().is_err());
    }

    #[test]
    fn the_seal_key_file_is_created_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SEAL_KEY_FILE);
        let source = SealKeySource::File(path.clone());
        let a = source.load().unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = source.load().unwrap();
        assert_eq!(b.open("x", &a.seal("x", b"v")).unwrap(), b"v");
        std::fs::write(&path, "not a key").unwrap();
        assert!(source.load().is_err());
    }
}
