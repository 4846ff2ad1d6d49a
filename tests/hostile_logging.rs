//! Boundary class 9, "a closed stderr hangs the node": logging never blocks or panics, and `print` is bounded
//! in size and rate per process.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{root, temp, text, wait_or_kill};

/// Generous: the run takes well under a second; the bound only turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(60);

fn app() -> String {
    root().join("tests/apps/printer").to_str().unwrap().to_string()
}

/// `corral run app:flood` with stderr into a pipe that is closed after its first line (as `2>&1 | head -1`
/// does), also with `RUST_LOG=debug` (which used to panic): the node exits on its own, 0, with the root's
/// result on stdout.
#[test]
fn logging_a_closed_stderr_neither_hangs_nor_panics_the_node() {
    for log in ["", "debug"] {
        let dir = temp(&format!("closed-stderr{log}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["run", "--app", &app(), "--audit", dir.join("audit.jsonl").to_str().unwrap(), "app:flood"])
            .env("RUST_LOG", if log.is_empty() { "warn,corral::script=info" } else { log })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("corral runs");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "a first line");
        drop(stderr); // closes the read end: every later write to stderr fails (EPIPE)
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let status = wait_or_kill(&mut child, DEADLINE, &format!("RUST_LOG={log:?}: the node after its stderr closed"));
        let stdout = reader.join().unwrap();
        assert_eq!(status.code(), Some(0), "RUST_LOG={log:?}: exits normally, no panic (101)");
        assert_eq!(text(&stdout).trim(), "\"done\"", "RUST_LOG={log:?}");
    }
}

/// `stdout` closed early (`corral run ... | true`) does not turn a normal exit into a panic.
#[test]
fn logging_a_closed_stdout_keeps_the_exit_status() {
    let dir = temp("closed-stdout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--app", &app(), "--audit", dir.join("audit.jsonl").to_str().unwrap(), "app:limits"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral runs");
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A 10 000-byte line is cut to the 4 KiB bound and ends with `…`; of 1000 lines printed at once, the burst
/// (100 lines, the long one included) is printed, and the rest are counted in one `N lines dropped` line.
#[test]
fn logging_print_lines_are_cut_and_rate_limited() {
    let dir = temp("print-limits");
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--app", &app(), "--audit", dir.join("audit.jsonl").to_str().unwrap(), "app:limits"])
        .env("RUST_LOG", "warn,corral::script=info")
        .env("NO_COLOR", "1")
        .output()
        .expect("corral runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let long: Vec<&str> = stderr.lines().filter(|l| l.contains("xxxx")).collect();
    assert_eq!(long.len(), 1, "{stderr}");
    let xs = long[0].matches('x').count();
    assert_eq!(xs, 4096, "cut to the bound");
    assert!(long[0].contains("x…"), "ends with an ellipsis: {}", long[0]);
    let printed = stderr.lines().filter(|l| l.contains("corral::script") && l.contains(": n\t")).count();
    let summaries: Vec<u64> = stderr
        .lines()
        .filter_map(|l| l.split(" lines dropped").next().filter(|_| l.contains(" lines dropped")))
        .map(|head| head.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!((99..1000).contains(&printed), "the burst, not everything: {printed}");
    assert_eq!(printed as u64 + summaries.iter().sum::<u64>(), 1000, "every line printed or counted: {stderr}");
}
