//! What the command-line tests share: running the built `corral`, temp folders, copies of apps.

#![allow(dead_code, reason = "each test crate uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the built `corral` with `args` and waits for it.
pub fn corral(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral")).args(args).output().expect("corral runs")
}

/// A fresh, empty temp folder for one test.
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Copies an app folder (relative to the repository root) into a temp folder, so a test can change it.
pub fn copy_app(app: &str, name: &str) -> PathBuf {
    let to = temp(name);
    copy_dir(&root().join(app), &to);
    to
}

/// Copies a folder's files, without any `audit.jsonl`.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "audit.jsonl" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Bytes as text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits for `child` at most `deadline` (polling, not sleeping on it); past that it is killed and the test
/// fails with `what`: a hang is a failure, never a stuck test.
pub fn wait_or_kill(child: &mut Child, deadline: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
