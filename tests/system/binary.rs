//! The real `cookie-lab` binary on a free port, for tests of what only the
//! process shows: its log, its exit status, its handling of signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::common::BIN;

/// A running server, its log lines collected as they come.
pub(crate) struct RunningBinary {
    child: Child,
    pub(crate) addr: String,
    /// Lines logged before it said it was listening.
    startup: Vec<String>,
    lines: Receiver<String>,
}

impl RunningBinary {
    /// Starts `cookie-lab --addr 127.0.0.1:0 --data-dir DIR EXTRA…` with
    /// logging on and no key or store settings from the environment, and
    /// waits until it logs that it listens.
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(Command::new(BIN), data_dir, extra)
    }

    /// The same, under an open-file limit of `limit` descriptors (soft and
    /// hard, so the server can't raise it): `sh -c 'ulimit -n N; exec …'`.
    pub(crate) fn start_with_file_limit(data_dir: &Path, limit: u32, extra: &[&str]) -> Self {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(BIN);
        Self::spawn(command, data_dir, extra)
    }

    fn spawn(mut command: Command, data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env_remove("COOKIE_LAB_KEYS")
            .env_remove("COOKIE_LAB_REVOCATIONS")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut startup = Vec::new();
        let addr = loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the server logs that it is listening");
            startup.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().to_owned();
            }
        };
        Self {
            child,
            addr,
            startup,
            lines,
        }
    }

    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub(crate) fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every log line so far, start-up included (after the process ended,
    /// all of them: its stderr thread ends with it).
    pub(crate) fn log(&self) -> Vec<String> {
        let mut log = self.startup.clone();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            log.push(line);
        }
        log
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
