//! Logs carry no ANSI colour codes when stderr is not a terminal (the
//! journal, a file, a pipe to a log shipper), in every binary: the control
//! plane, a data-plane node and the all-in-one. (That a terminal gets
//! colours unless NO_COLOR is set is unit-tested beside each logger.)

use archway_e2e::process::bin_dir;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `program` with stderr piped, collects its log lines until one of
/// them contains `until` (at most 30 s), stops it, and returns them.
fn logs_of(program: &std::path::Path, args: &[&str], until: &str) -> Vec<String> {
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.contains(until);
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l.contains(until)),
        "{} logged '{until}': {lines:?}",
        program.display()
    );
    lines
}

fn assert_plain(lines: &[String]) {
    for line in lines {
        assert!(!line.contains('\u{1b}'), "an escape code in {line:?}");
    }
    assert!(
        lines.iter().any(|l| l.contains(" INFO ")),
        "the level is there, uncoloured: {lines:?}"
    );
}

#[test]
fn control_plane_logs_are_plain_text_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cp");
    let lines = logs_of(
        &bin_dir().join("archway-control-plane"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "store open",
    );
    assert_plain(&lines);
}

#[test]
fn data_plane_logs_are_plain_text_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("node");
    // No control plane there: the node logs its retries.
    let control_plane = format!("http://{}", archway_e2e::unused_loopback_addr());
    let lines = logs_of(
        &bin_dir().join("archway-data-plane"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--control-plane",
            &control_plane,
            "--node-id",
            "n1",
            "--token",
            archway_e2e::TEST_NODE_TOKEN,
            "--state-dir",
            state.to_str().unwrap(),
        ],
        "INFO",
    );
    assert_plain(&lines);
}

#[test]
fn all_in_one_logs_are_plain_text_in_a_pipe() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "archway", "--bin", "archway"]);
    if bin_dir().ends_with("release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success(), "building archway");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let lines = logs_of(
        &bin_dir().join("archway"),
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--node-admin-listen",
            "127.0.0.1:0",
            "--echo-listen",
            "127.0.0.1:0",
        ],
        "store open",
    );
    assert_plain(&lines);
}
