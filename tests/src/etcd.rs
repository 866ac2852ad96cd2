//! A real etcd cluster for tests (Debian's `etcd-server`), of one or more
//! members on free loopback ports, each in its own temporary data folder;
//! killed on drop. Members can be killed and started again on the same
//! ports and data, for the outage tests.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One member's ports and process.
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

pub struct EtcdCluster {
    members: Vec<Member>,
    dir: tempfile::TempDir,
}

/// Whether etcd is installed; skips (or fails, when `tests/run` guarantees
/// it) otherwise. See [`crate::tools::available`].
pub fn available(what: &str) -> bool {
    crate::tools::available("etcd", &["--version"], what)
}

impl EtcdCluster {
    /// A cluster of `size` members, all started and taking requests.
    pub fn start(size: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut members = Vec::new();
        for i in 0..size {
            members.push(Member {
                name: format!("m{i}"),
                client_port: crate::unused_loopback_addr().port(),
                peer_port: crate::unused_loopback_addr().port(),
                child: None,
            });
        }
        let mut cluster = Self { members, dir };
        for i in 0..size {
            cluster.spawn(i)?;
        }
        for i in 0..size {
            cluster.wait_serving(i)?;
        }
        Ok(cluster)
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.members[i].name)
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect();
        let data_dir = self.data_dir(i);
        let member = &self.members[i];
        let client = format!("http://127.0.0.1:{}", member.client_port);
        let peer = format!("http://127.0.0.1:{}", member.peer_port);
        let child = Command::new("etcd")
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial.join(",")])
            .args(["--initial-cluster-token", "archway-test"])
            .args(["--initial-cluster-state", "new"])
            // What deploy/README.md asks of a production cluster: one
            // admin write is one transaction, and imports are large.
            .args(["--max-txn-ops", "10000"])
            .args(["--max-request-bytes", "33554432"])
            // etcd's defaults (100 ms, 1 s): shorter elections flap on a
            // loaded 2-core machine.
            .args(["--heartbeat-interval", "100", "--election-timeout", "1000"])
            .args(["--logger", "zap", "--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting etcd (apt-get install etcd-server; tests/run installs it)")?;
        self.members[i].child = Some(child);
        Ok(())
    }

    fn wait_serving(&self, i: usize) -> anyhow::Result<()> {
        let port = self.members[i].client_port;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("etcd member {i} did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `etcd://…` naming every member, under `prefix` (e.g. "/t1").
    pub fn store_url(&self, prefix: &str) -> String {
        let hosts: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect();
        format!("etcd://{}{prefix}", hosts.join(","))
    }

    /// SIGKILLs every member: the cluster is down.
    pub fn kill_all(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts every stopped member again on its ports and data.
    pub fn restart_stopped(&mut self) -> anyhow::Result<()> {
        let stopped: Vec<usize> = (0..self.members.len())
            .filter(|i| self.members[*i].child.is_none())
            .collect();
        for &i in &stopped {
            self.spawn(i)?;
        }
        for &i in &stopped {
            self.wait_serving(i)?;
        }
        Ok(())
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}
