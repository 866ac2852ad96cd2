//! The admin UI's browser tests: Node.js scripts in `admin-ui/e2e/` that
//! drive Debian's Chromium through playwright-core, run against the real
//! binaries this crate starts. `tests/run` installs Chromium and the UI's
//! npm packages and requires both (`ARCHWAY_TEST_REQUIRE_TOOLS`); a plain
//! `cargo test` without them skips, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium the scripts launch (`ARCHWAY_TEST_CHROMIUM`, else Debian's).
pub fn chromium() -> PathBuf {
    std::env::var_os("ARCHWAY_TEST_CHROMIUM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

pub fn admin_ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .join("admin-ui")
}

/// Where screenshots go: `target/ui-screenshots/<test>`, kept as artifacts.
pub fn screenshot_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .join("target/ui-screenshots")
        .join(test)
}

/// Whether Node.js, the UI's npm packages and Chromium are all here; when
/// one is missing, panics if it is required, else prints the skip.
pub fn available(what: &str) -> bool {
    if !crate::tools::available("node", &["--version"], what) {
        return false;
    }
    let chromium = chromium();
    if !crate::tools::available(&chromium.display().to_string(), &["--version"], what) {
        return false;
    }
    if !admin_ui_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        assert!(
            !crate::tools::required("node"),
            "admin-ui/node_modules is missing: run `npm --prefix admin-ui ci` (tests/run does)"
        );
        eprintln!(
            "skipped: admin-ui/node_modules is missing (npm --prefix admin-ui ci): {what} is not checked here"
        );
        return false;
    }
    true
}

/// Runs `admin-ui/e2e/<script>` with `env`, printing what it printed, and
/// fails with its output unless it exits 0.
pub fn run_script(script: &str, test: &str, env: &[(&str, String)]) -> anyhow::Result<String> {
    let dir = admin_ui_dir();
    let shots = screenshot_dir(test);
    std::fs::create_dir_all(&shots)?;
    let output = Command::new("node")
        .arg(dir.join("e2e").join(script))
        .current_dir(&dir)
        .env("SCREENSHOT_DIR", &shots)
        .env("ARCHWAY_TEST_CHROMIUM", chromium())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    anyhow::ensure!(
        output.status.success(),
        "{script} failed ({}); screenshots in {}",
        output.status,
        shots.display()
    );
    Ok(stdout)
}
