//! Starting and stopping the real `archway-control-plane` and
//! `archway-data-plane` binaries. Each binds port 0 and prints the address it
//! got; the process is killed when its handle drops.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The folder this test program's profile builds into:
/// target/<profile>/deps/<test binary>, or target/<profile>/<binary>.
fn profile_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("current executable");
        let mut dir = exe.parent().expect("executable has a folder").to_path_buf();
        if dir.ends_with("deps") {
            dir.pop();
        }
        dir
    })
}

/// `cargo build --quiet` with `args`, in the profile this program was built
/// with (a no-op when the binaries are fresh).
fn cargo_build(args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet"]).args(args);
    if profile_dir().ends_with("release") {
        command.arg("--release");
    }
    let status = command
        .status()
        .expect("running cargo build for the binaries");
    assert!(status.success(), "building {args:?} failed");
}

/// Builds the planes' binaries (and archwayctl) once per process and
/// returns the folder they are in.
pub fn bin_dir() -> &'static Path {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo_build(&[
            "-p",
            "archway-control-plane",
            "-p",
            "archway-data-plane",
            "--bins",
        ])
    });
    profile_dir()
}

/// Builds the all-in-one `archway` once per process (only the tests that
/// run it pay for it) and returns its path.
pub fn all_in_one() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| cargo_build(&["-p", "archway", "--bin", "archway"]));
    profile_dir().join("archway")
}

/// A running Archway process, killed on drop.
pub struct Process {
    child: Child,
    /// The first address it printed.
    pub addr: SocketAddr,
    /// Every address it printed, in order (a node prints its admin one second).
    pub addrs: Vec<SocketAddr>,
    /// The first address was printed as `https://`.
    pub tls: bool,
    /// The rest of its standard output, line by line.
    pub stdout: Option<std::sync::mpsc::Receiver<std::io::Result<String>>>,
}

impl Process {
    /// Starts `binary` and waits for the `lines` address lines it prints.
    pub fn spawn(binary: &str, args: &[String], lines: usize) -> anyhow::Result<Self> {
        Self::spawn_with_env(binary, args, lines, &[])
    }

    pub fn spawn_with_env(
        binary: &str,
        args: &[String],
        lines: usize,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let path = bin_dir().join(binary);
        let logs = std::env::var_os("ARCHWAY_TEST_LOGS").is_some();
        let mut child = Command::new(&path)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Forward every line (the access log may go to stdout), and keep
            // draining so the process never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut addrs = Vec::new();
        let mut tls = false;
        while addrs.len() < lines {
            let line = match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Ok(line)) => line,
                other => {
                    let _ = child.kill();
                    bail!("{binary} did not print its address: {other:?}");
                }
            };
            // `... on http://ADDR`, or `https://ADDR` on a TLS listener.
            if addrs.is_empty() {
                tls = line.contains("https://");
            }
            let addr: SocketAddr = line
                .rsplit("://")
                .next()
                .and_then(|a| a.trim().parse().ok())
                .with_context(|| format!("{binary} printed '{line}'"))?;
            addrs.push(addr);
        }
        Ok(Self {
            child,
            addr: addrs[0],
            tls,
            addrs,
            stdout: Some(rx),
        })
    }

    /// The first address printed, with the scheme it was printed with.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process with SIGTERM, as an operator would, and waits (up to
    /// 15 s, then SIGKILL) for it to exit.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// Stops the process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The environment a test control plane starts with: known first tokens.
pub fn control_plane_env() -> [(&'static str, &'static str); 2] {
    [
        ("ARCHWAY_BOOTSTRAP_ADMIN_TOKEN", crate::TEST_ADMIN_TOKEN),
        ("ARCHWAY_BOOTSTRAP_NODE_TOKEN", crate::TEST_NODE_TOKEN),
    ]
}

/// `script -qec LINE /dev/null`, not yet run: util-linux's `script` (Debian's
/// bsdutils) runs the shell command `line` on a pty and copies what it
/// writes to `script`'s stdout, for a test of what a program does on a
/// terminal. No archwayctl variable leaks in from the test's environment.
pub fn on_a_pty(line: &str) -> Command {
    let mut command = Command::new("script");
    command.args(["-qec", line, "/dev/null"]);
    crate::ctl::without_archway_variables(&mut command);
    command
}

/// A control plane with its own data folder.
pub struct ControlPlane {
    pub process: Process,
    pub data_dir: PathBuf,
}

impl ControlPlane {
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_on(data_dir, "127.0.0.1:0")
    }

    /// Starts on a given address, e.g. the one a stopped control plane had,
    /// so nodes configured with it reconnect.
    pub fn start_on(data_dir: &Path, listen: &str) -> anyhow::Result<Self> {
        Self::start_with(data_dir, listen, &[])
    }

    /// Starts with extra command-line arguments.
    pub fn start_with(data_dir: &Path, listen: &str, extra: &[&str]) -> anyhow::Result<Self> {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            listen.into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let process =
            Process::spawn_with_env("archway-control-plane", &args, 1, &control_plane_env())?;
        Ok(Self {
            process,
            data_dir: data_dir.to_owned(),
        })
    }

    /// Starts serving its admin API over TLS only (`--tls-cert`,
    /// `--tls-key`) with a new PKI in `dir/pki`, its data in `dir/cp`.
    pub fn start_tls(dir: &Path) -> anyhow::Result<(crate::tls::Pki, Self)> {
        let pki = crate::tls::Pki::generate(&dir.join("pki"))?;
        let (cert, key) = (
            pki.cert.display().to_string(),
            pki.key.display().to_string(),
        );
        let cp = Self::start_with(
            &dir.join("cp"),
            "127.0.0.1:0",
            &["--tls-cert", &cert, "--tls-key", &key],
        )?;
        Ok((pki, cp))
    }

    pub fn url(&self) -> String {
        self.process.url()
    }
}

/// A data-plane node.
pub struct DataPlane {
    pub process: Process,
    pub node_id: String,
}

impl DataPlane {
    pub fn start(
        control_plane_url: &str,
        node_id: &str,
        state_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        Self::start_with_env(control_plane_url, node_id, state_dir, extra, &[])
    }

    /// Starts with extra arguments and environment variables.
    pub fn start_with_env(
        control_plane_url: &str,
        node_id: &str,
        state_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::spawn(control_plane_url, node_id, state_dir, extra, env, 2)
    }

    /// Starts with a private listener too (`--private-listen`), at
    /// [`DataPlane::private_addr`].
    pub fn start_with_private(
        control_plane_url: &str,
        node_id: &str,
        state_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let mut extra = extra.to_vec();
        extra.extend(["--private-listen", "127.0.0.1:0"]);
        Self::spawn(control_plane_url, node_id, state_dir, &extra, &[], 3)
    }

    /// `lines`: how many listening lines the node prints (2, or 3 with a
    /// private listener).
    fn spawn(
        control_plane_url: &str,
        node_id: &str,
        state_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        lines: usize,
    ) -> anyhow::Result<Self> {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--control-plane".into(),
            control_plane_url.into(),
            "--node-id".into(),
            node_id.into(),
            "--state-dir".into(),
            state_dir.display().to_string(),
            "--admin-listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut env = env.to_vec();
        env.push(("ARCHWAY_TOKEN", crate::TEST_NODE_TOKEN));
        Ok(Self {
            process: Process::spawn_with_env("archway-data-plane", &args, lines, &env)?,
            node_id: node_id.into(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// The private listener of a node started with [`DataPlane::start_with_private`].
    pub fn private_addr(&self) -> SocketAddr {
        self.process.addrs[2]
    }

    /// The admin listener: /metrics, /ready, /healthz.
    pub fn admin_addr(&self) -> SocketAddr {
        self.process.addrs[1]
    }
}

/// What `child` writes to its (piped) stdout until `done` holds for the
/// text so far, it closes stdout, or `within` passes, whichever is first;
/// then kills it (if still running) and reaps it. For programs run under
/// `script` on a pty, which a loaded machine may make slow to start.
pub fn stdout_until(mut child: Child, done: impl Fn(&str) -> bool, within: Duration) -> String {
    use std::io::Read;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buffer) {
            if tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + within;
    let mut bytes = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                bytes.extend(chunk);
                if done(&String::from_utf8_lossy(&bytes)) {
                    break;
                }
            }
            // Closed (it exited) or out of time.
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&bytes).into_owned()
}
