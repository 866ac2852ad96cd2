//! Access-log writers. Each destination (stdout, stderr, a file) has one
//! writer thread fed through a bounded channel; the request path only
//! formats its line and hands it over without waiting. When a writer falls
//! behind, lines are dropped and counted rather than slowing requests.
//!
//! Writers live beside the tables, keyed by destination, so a configuration
//! swap keeps them (and their open files).

use crate::lock::LockOrRecover;
use archway_proto::access_log::{Destination, Template};
use opentelemetry::metrics::Counter;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Lines buffered per destination before new ones are dropped.
const QUEUE: usize = 8192;

#[derive(Debug, Default)]
pub struct AccessLogSinks {
    sinks: Mutex<HashMap<Destination, SyncSender<String>>>,
    dropped: Option<Counter<u64>>,
}

/// A stage's access log: its format and where its lines go.
#[derive(Debug)]
pub struct StageAccessLog {
    pub template: Template,
    sink: SyncSender<String>,
    dropped: Option<Counter<u64>>,
}

impl StageAccessLog {
    pub fn write(&self, line: String) {
        match self.sink.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if let Some(dropped) = &self.dropped {
                    dropped.add(1, &[]);
                }
            }
        }
    }
}

impl AccessLogSinks {
    pub fn new(dropped: Counter<u64>) -> Self {
        Self {
            sinks: Mutex::default(),
            dropped: Some(dropped),
        }
    }

    /// The access log for `format` and `destination`, starting the writer
    /// for that destination if needed. A file is opened here, so a path the
    /// node cannot write refuses the configuration with the reason.
    pub fn stage_log(&self, format: &str, destination: &str) -> Result<StageAccessLog, String> {
        let template = Template::parse(format).map_err(|e| format!("access log format: {e}"))?;
        let destination =
            Destination::parse(destination).map_err(|e| format!("access log destination: {e}"))?;
        let mut sinks = self.sinks.lock_or_recover();
        let sink = match sinks.get(&destination) {
            Some(sink) => sink.clone(),
            None => {
                let sink = start_writer(&destination)?;
                sinks.insert(destination, sink.clone());
                sink
            }
        };
        Ok(StageAccessLog {
            template,
            sink,
            dropped: self.dropped.clone(),
        })
    }
}

fn start_writer(destination: &Destination) -> Result<SyncSender<String>, String> {
    let out = match destination {
        Destination::Stdout => Output::Stream(Box::new(std::io::stdout())),
        Destination::Stderr => Output::Stream(Box::new(std::io::stderr())),
        Destination::File(path) => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("access log file {path}: {e}"))?;
            }
            Output::File(
                LogFile::open(path.into()).map_err(|e| format!("access log file {path}: {e}"))?,
            )
        }
    };
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || write_lines(rx, out))
        .map_err(|e| format!("starting the access log writer: {e}"))?;
    Ok(tx)
}

/// How often a file writer checks whether its path still names its file.
const REOPEN_CHECK: Duration = Duration::from_secs(1);

enum Output {
    Stream(Box<dyn Write + Send>),
    File(LogFile),
}

/// An access-log file that follows its path: when logrotate moves the file
/// away (or it is deleted), the next check opens a new one at the path, so
/// lines never keep going to a rotated file. (copytruncate rotation needs
/// nothing: the file is opened for appending.)
struct LogFile {
    path: PathBuf,
    file: File,
    /// (device, inode) of the open file.
    identity: (u64, u64),
    checked: Instant,
}

impl LogFile {
    fn open(path: PathBuf) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let meta = file.metadata()?;
        Ok(Self {
            path,
            file,
            identity: (meta.dev(), meta.ino()),
            checked: Instant::now(),
        })
    }

    /// Reopens when the path names another file, or none; at most once per
    /// [`REOPEN_CHECK`].
    fn follow_path(&mut self) {
        if self.checked.elapsed() < REOPEN_CHECK {
            return;
        }
        self.checked = Instant::now();
        let same = std::fs::metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if !same {
            match LogFile::open(self.path.clone()) {
                Ok(reopened) => {
                    tracing::info!(path = %self.path.display(), "access log file reopened");
                    *self = reopened;
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "reopening the access log file")
                }
            }
        }
    }
}

impl Output {
    fn sink(&mut self) -> &mut dyn Write {
        match self {
            Output::Stream(out) => out,
            Output::File(log) => &mut log.file,
        }
    }
}

/// Writes lines as they come, one write per batch, never holding lines
/// back when the queue runs dry; file writers also follow their path.
fn write_lines(rx: Receiver<String>, mut out: Output) {
    let mut batch = String::with_capacity(64 * 1024);
    loop {
        match rx.recv_timeout(REOPEN_CHECK) {
            Ok(line) => {
                batch.push_str(&line);
                batch.push('\n');
                while batch.len() < 64 * 1024
                    && let Ok(line) = rx.try_recv()
                {
                    batch.push_str(&line);
                    batch.push('\n');
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if let Output::File(log) = &mut out {
            log.follow_path();
        }
        if !batch.is_empty() {
            let sink = out.sink();
            if sink
                .write_all(batch.as_bytes())
                .and_then(|()| sink.flush())
                .is_err()
            {
                tracing::warn!("writing access log lines failed");
            }
            batch.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lines_to_a_file_and_refuses_bad_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/access.log");
        let sinks = AccessLogSinks::default();
        let log = sinks
            .stage_log("$context.requestId", &format!("file:{}", path.display()))
            .unwrap();
        log.write("one".into());
        log.write("two".into());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text == "one\ntwo\n" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "got {text:?}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // logrotate moves the file away: new lines go to a new file at the path.
        let rotated = dir.path().join("logs/access.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        std::thread::sleep(REOPEN_CHECK + std::time::Duration::from_millis(200));
        log.write("three".into());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text == "three\n" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "got {text:?}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "one\ntwo\n");
        assert!(sinks.stage_log("$context.nope", "stdout").is_err());
        assert!(sinks.stage_log("$context.status", "file:relative").is_err());
    }
}
