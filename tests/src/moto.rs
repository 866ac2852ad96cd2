//! moto in server mode (one port serves every AWS service it emulates),
//! started by a test on a free loopback port and stopped when dropped; and
//! `tests/scripts/moto_client.py`, which sets up and reads back its
//! resources with botocore.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    pub addr: SocketAddr,
    child: Child,
}

impl Moto {
    /// Starts `python -m moto.server` (from [`crate::tools::python`]) and
    /// waits, bounded, until it accepts connections.
    pub async fn start() -> anyhow::Result<Self> {
        let addr = crate::unused_loopback_addr();
        let python = crate::tools::python();
        let logs = std::env::var_os("ARCHWAY_TEST_LOGS").is_some();
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(addr.port().to_string())
            .stdout(if logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(if logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "starting moto with {}: {e}; {}",
                    python.display(),
                    crate::tools::INSTALL_HINT
                )
            })?;
        let mut moto = Self { addr, child };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(moto);
            }
            if let Some(status) = moto.child.try_wait()? {
                anyhow::bail!(
                    "moto exited with {status} before listening; {}",
                    crate::tools::INSTALL_HINT
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("moto did not listen on {addr} within 20 s")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `moto_client.py COMMAND` with `args` on stdin; its JSON answer.
    pub fn client(
        &self,
        command: &str,
        args: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_client.py");
        let python = crate::tools::python();
        let mut child = Command::new(&python)
            .arg(script)
            .arg(self.url())
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(args.to_string().as_bytes())?;
        let out = child.wait_with_output()?;
        anyhow::ensure!(
            out.status.success(),
            "moto_client.py {command} failed under {}; {}",
            python.display(),
            crate::tools::INSTALL_HINT
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
