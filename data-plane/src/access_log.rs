//! Access-log writers. Each destination (stdout, stderr, a file) has one
//! writer thread fed through a bounded channel; the request path only
//! formats its line and hands it over without waiting. When a writer falls
//! behind, lines are dropped and counted rather than slowing requests.
//!
//! Writers live beside the tables, keyed by destination, so a configuration
//! swap keeps them (and their open files).

use archway_proto::access_log::{Destination, Template};
use opentelemetry::metrics::Counter;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

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
        let mut sinks = self.sinks.lock().expect("access log sinks lock");
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
    let out: Box<dyn Write + Send> = match destination {
        Destination::Stdout => Box::new(std::io::stdout()),
        Destination::Stderr => Box::new(std::io::stderr()),
        Destination::File(path) => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("access log file {path}: {e}"))?;
            }
            Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("access log file {path}: {e}"))?,
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

/// Writes lines as they come, flushing whenever the queue runs dry so a
/// quiet stage's lines are never held back.
fn write_lines(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = rx.recv() {
        let mut ok = writeln!(out, "{line}").is_ok();
        while let Ok(line) = rx.try_recv() {
            ok &= writeln!(out, "{line}").is_ok();
        }
        ok &= out.flush().is_ok();
        if !ok {
            tracing::warn!("writing access log lines failed");
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
        assert!(sinks.stage_log("$context.nope", "stdout").is_err());
        assert!(sinks.stage_log("$context.status", "file:relative").is_err());
    }
}
