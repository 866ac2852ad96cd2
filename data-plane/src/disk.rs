//! The last applied configuration on disk, so a node restarted while the
//! control plane is down serves what it served before.
//!
//! Written as a new file, fsynced, renamed over the old one, then the folder
//! fsynced: a crash leaves either the old snapshot or the new one, never a
//! torn file. The file is readable by its owner only: it holds the IAM
//! secret access keys the node checks signatures with.

use crate::received::ReceivedConfig;
use archway_proto::v1::NodeSnapshot;
use prost::Message;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE_NAME: &str = "snapshot.pb";

#[derive(Debug, Clone)]
pub struct SnapshotFile {
    dir: PathBuf,
}

impl SnapshotFile {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The saved snapshot, or None when there is none yet.
    pub fn load(&self) -> anyhow::Result<Option<NodeSnapshot>> {
        let path = self.path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(
                NodeSnapshot::decode(bytes.as_slice())
                    .map_err(|e| anyhow::anyhow!("decoding {}: {e}", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        }
    }

    /// Saves `config` durably. Encodes the fields of `NodeSnapshot` directly
    /// from the map so a large configuration is not copied first.
    pub fn save(&self, config: &ReceivedConfig) -> std::io::Result<()> {
        use prost::encoding;
        fs::create_dir_all(&self.dir)?;
        let mut buf = Vec::new();
        encoding::uint64::encode(1, &config.version, &mut buf);
        for resource in config.resources.values() {
            encoding::message::encode(2, resource, &mut buf);
        }
        encoding::string::encode(3, &config.epoch, &mut buf);

        let tmp = self.dir.join(format!("{FILE_NAME}.tmp"));
        // The snapshot holds IAM secret access keys: owner only. A leftover
        // temporary file goes first, so its mode cannot carry over.
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

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::ConfigResource;

    #[test]
    fn round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::new(dir.path());
        assert!(file.load().unwrap().is_none());
        let mut config = ReceivedConfig {
            epoch: "e1".into(),
            version: 4,
            ..Default::default()
        };
        config.resources.insert(
            "api/a".into(),
            ConfigResource {
                name: "api/a".into(),
                resource: None,
            },
        );
        file.save(&config).unwrap();
        config.version = 5;
        file.save(&config).unwrap();
        let loaded = ReceivedConfig::from_snapshot(file.load().unwrap().unwrap());
        assert_eq!(loaded.version, 5);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "secrets inside: owner only");
        }
        assert_eq!(loaded.epoch, "e1");
        assert!(loaded.resources.contains_key("api/a"));
        assert!(!dir.path().join("snapshot.pb.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"\xff\xff\xff").unwrap();
        assert!(SnapshotFile::new(dir.path()).load().is_err());
    }
}
