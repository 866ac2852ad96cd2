//! Running `archwayctl` as a script would: from an empty folder (so no
//! all-in-one token file is found), with no `ARCHWAY_*` variable and no
//! terminal on stdin, so what a test sees depends only on its arguments.

use crate::process::bin_dir;
use std::process::{Command, Output, Stdio};

/// What a run of archwayctl left: success, stdout, stderr.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            ok: output.status.success(),
            stdout: crate::text(&output.stdout),
            stderr: crate::text(&output.stderr),
        }
    }
}

impl Run {
    /// Asserts a refusal: the run failed, its stderr is one message that
    /// starts with `error:` (no noise before it, no second error), and it
    /// says each of `needles`. Returns stderr for more checks.
    pub fn assert_refused(&self, needles: &[&str]) -> &str {
        let err = self.assert_failed(needles);
        assert!(err.starts_with("error: "), "starts with 'error: ': {err}");
        err
    }

    /// As [`Run::assert_refused`], for a command that prints what it would
    /// do (a prune's deletions) before its one `error:`.
    pub fn assert_failed(&self, needles: &[&str]) -> &str {
        let err = &self.stderr;
        assert!(!self.ok, "should fail: {}{err}", self.stdout);
        assert_eq!(err.matches("error:").count(), 1, "'error:' once: {err}");
        for needle in needles {
            assert!(err.contains(needle), "says '{needle}': {err}");
        }
        err
    }
}

/// The variables archwayctl reads; a test's environment must not leak in.
const ARCHWAY_VARIABLES: &[&str] = &[
    "ARCHWAY_TOKEN",
    "ARCHWAY_TOKEN_FILE",
    "ARCHWAY_SERVER",
    "ARCHWAY_CA_FILE",
];

/// archwayctl with exactly `args` (no --server or --token added), not yet
/// run: for a test that adds to the command (an `--ca-file`) first.
pub fn command(args: &[&str]) -> (Command, tempfile::TempDir) {
    let cwd = tempfile::tempdir().expect("a temporary folder");
    let mut command = Command::new(bin_dir().join("archwayctl"));
    command
        .args(args)
        .current_dir(cwd.path())
        .stdin(Stdio::null());
    without_archway_variables(&mut command);
    (command, cwd)
}

/// Removes archwayctl's variables from `command`'s environment, so what a
/// test sees depends only on its arguments.
pub(crate) fn without_archway_variables(command: &mut Command) {
    for var in ARCHWAY_VARIABLES {
        command.env_remove(var);
    }
}

/// Runs archwayctl with exactly `args` (no --server or --token added).
pub fn ctl_raw(args: &[&str]) -> Run {
    let (mut command, _cwd) = command(args);
    command.output().expect("running archwayctl").into()
}

/// archwayctl against `server` with `token`.
pub fn ctl_as(server: &str, token: &str, args: &[&str]) -> Run {
    let mut all = vec!["--server", server, "--token", token];
    all.extend_from_slice(args);
    ctl_raw(&all)
}

/// archwayctl against `server` with the test admin token; panics with its
/// output unless it succeeds, and returns its stdout.
pub fn ctl(server: &str, args: &[&str]) -> String {
    let run = ctl_as(server, crate::TEST_ADMIN_TOKEN, args);
    assert!(
        run.ok,
        "archwayctl {args:?} failed: {}{}",
        run.stderr, run.stdout
    );
    run.stdout
}

/// As [`ctl`], parsing its stdout as JSON.
pub fn ctl_json(server: &str, args: &[&str]) -> serde_json::Value {
    let out = ctl(server, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// archwayctl against `server` with the test admin token, success or not.
pub fn ctl_run(server: &str, args: &[&str]) -> Run {
    ctl_as(server, crate::TEST_ADMIN_TOKEN, args)
}

/// archwayctl against `server` with the test admin token, which must be
/// refused as [`Run::assert_refused`] checks; returns its stderr.
pub fn ctl_refused(server: &str, args: &[&str], needles: &[&str]) -> String {
    ctl_run(server, args).assert_refused(needles).to_owned()
}
