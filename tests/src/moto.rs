//! moto in server mode (one port serves every AWS service it emulates),
//! started by a test on a free loopback port and stopped when dropped; and
//! `tests/scripts/moto_client.py`, which sets up and reads back its
//! resources with botocore.

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
        Self::start_with_env(&[]).await
    }

    /// As [`Moto::start`], with moto's settings in its environment, e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT=4`: after that many requests, moto
    /// checks every request's SigV4 signature against its IAM keys.
    pub async fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let addr = crate::unused_loopback_addr();
        let python = crate::tools::python();
        let logs = std::env::var_os("ARCHWAY_TEST_LOGS").is_some();
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(addr.port().to_string())
            .envs(env.iter().copied())
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
    /// Bounded by [`CLIENT_TIMEOUT`]: a botocore call that hangs (moto
    /// waiting on a lock, an import stalling) kills the script and fails
    /// the test rather than hanging it, and the wait does not block the
    /// test's runtime.
    pub async fn client(
        &self,
        command: &str,
        args: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_client.py");
        let python = crate::tools::python();
        let mut command_line = tokio::process::Command::new(&python);
        command_line.arg(script).arg(self.url()).arg(command);
        let out = run_bounded(command_line, args.to_string().as_bytes(), CLIENT_TIMEOUT)
            .await
            .map_err(|e| e.context(format!("moto_client.py {command}")))?;
        anyhow::ensure!(
            out.status.success(),
            "moto_client.py {command} failed under {}; {}",
            python.display(),
            crate::tools::INSTALL_HINT
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

/// How long one `moto_client.py` run may take.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `command` with `input` on its stdin and waits for its output at
/// most `limit`; past it the child is killed (`kill_on_drop`: the wait,
/// which owns it, is dropped) and the error says so.
pub async fn run_bounded(
    mut command: tokio::process::Command,
    input: &[u8],
    limit: Duration,
) -> anyhow::Result<std::process::Output> {
    use tokio::io::AsyncWriteExt;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input).await?;
    drop(stdin);
    tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| anyhow::anyhow!("did not finish within {limit:?}; killed"))?
        .map_err(Into::into)
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hung_client_is_killed_at_its_time_limit() {
        let mut command = tokio::process::Command::new("sh");
        command.arg("-c").arg("exec sleep 30");
        let started = std::time::Instant::now();
        let e = run_bounded(command, b"", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(e.to_string().contains("killed"), "{e}");
        let mut ok = tokio::process::Command::new("cat");
        ok.arg("-");
        let out = run_bounded(ok, b"{}", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(out.stdout, b"{}");
    }
}
