//! Logs carry no ANSI colour codes when stderr is not a terminal (the
//! journal, a file, a pipe to a log shipper), in every binary: the control
//! plane, a data-plane node and the all-in-one. On a terminal (a pty from
//! util-linux's `script`) they are coloured, unless NO_COLOR is set.

use archway_e2e::process::{all_in_one, bin_dir, on_a_pty, stdout_until};
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
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let lines = logs_of(
        &all_in_one(),
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

/// What `program` writes to a terminal up to its first INFO line (at most
/// 30 s: a loaded machine may be slow to start it): run under `script`,
/// which gives it a pty and copies the pty's output to stdout. `timeout`
/// ends it should `script` be killed before it.
fn on_a_terminal(program: &std::path::Path, args: &[&str], no_color: Option<&str>) -> String {
    let line = format!("timeout 60 {} {}", program.display(), args.join(" "));
    let mut command = on_a_pty(&line);
    command
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let child = command
        .spawn()
        .expect("util-linux's script (Debian's bsdutils) gives the program a terminal");
    let info_line = |text: &str| {
        text.find("INFO")
            .is_some_and(|at| text[at..].contains('\n'))
    };
    stdout_until(child, info_line, Duration::from_secs(30))
}

#[test]
fn on_a_terminal_logs_are_coloured_unless_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let control_plane = format!("http://{}", archway_e2e::unused_loopback_addr());
    let runs = [
        (
            bin_dir().join("archway-control-plane"),
            vec![
                "--listen".to_owned(),
                "127.0.0.1:0".to_owned(),
                "--data-dir".to_owned(),
                dir.path().join("cp").display().to_string(),
            ],
        ),
        (
            bin_dir().join("archway-data-plane"),
            vec![
                "--listen".to_owned(),
                "127.0.0.1:0".to_owned(),
                "--admin-listen".to_owned(),
                "127.0.0.1:0".to_owned(),
                "--control-plane".to_owned(),
                control_plane,
                "--node-id".to_owned(),
                "n1".to_owned(),
                "--token".to_owned(),
                archway_e2e::TEST_NODE_TOKEN.to_owned(),
                "--state-dir".to_owned(),
                dir.path().join("node").display().to_string(),
            ],
        ),
    ];
    for (program, args) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let coloured = on_a_terminal(program, &args, None);
        assert!(
            coloured.contains("INFO") && coloured.contains('\u{1b}'),
            "{} colours its logs on a terminal: {coloured:?}",
            program.display()
        );
        let plain = on_a_terminal(program, &args, Some("1"));
        assert!(
            plain.contains("INFO") && !plain.contains('\u{1b}'),
            "{} honours NO_COLOR: {plain:?}",
            program.display()
        );
    }
}
