//! What the node tests share: a `corral serve` on `127.0.0.1:0` over a fresh data folder, its address read
//! from the `listening on` line, an HTTP client, and archives made in memory.

#![allow(dead_code, reason = "each test crate uses a different part")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The deployer's token (`tests/node/tokens.toml`: `tenant-acme:deployer`, may do everything).
pub const DEPLOYER: &str = "acme-deployer-token";
/// The observer's token (`user:observer`: may inspect, is forbidden to deploy).
pub const OBSERVER: &str = "observer-token";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty temp folder for one test.
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-node-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running node; killed when dropped.
pub struct Node {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
    pub stderr: PathBuf,
}

/// The command that starts a node on `data` with the test tokens and node policies (unless `extra` names its
/// own `--tokens` or `--policies`), plus `extra` flags.
pub fn serve_command(data: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corral"));
    command.arg("serve").args(["--listen", "127.0.0.1:0", "--data"]).arg(data);
    if !extra.contains(&"--tokens") {
        command.arg("--tokens").arg(root().join("tests/node/tokens.toml"));
    }
    if !extra.contains(&"--policies") {
        command.arg("--policies").arg(root().join("tests/node/policies"));
    }
    command.args(extra).env("RUST_LOG", "info");
    command
}

impl Node {
    /// Starts a node on `data` and waits (at most 30 s) for its `listening on` line.
    pub fn start(data: &Path, extra: &[&str]) -> Node {
        let stderr = data.with_extension("stderr.log");
        let log = std::fs::File::create(&stderr).expect("stderr log");
        let mut child =
            serve_command(data, extra).stdout(Stdio::piped()).stderr(log).spawn().expect("corral serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no `listening on` line: {line:?}; stderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        Node { child, url: url.to_string(), data: data.to_path_buf(), stderr }
    }

    /// `METHOD url` with `token` (none: no header).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::blocking::RequestBuilder {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        let builder = client.request(method, format!("{}{path}", self.url));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `PUT /v1/apps/{name}` with `body` as the deployer.
    pub fn deploy(&self, name: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
        answer(self.request(reqwest::Method::PUT, &format!("/v1/apps/{name}"), Some(DEPLOYER)).body(body))
    }

    /// `GET path` as `token`.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        answer(self.request(reqwest::Method::GET, path, token))
    }

    /// `POST path` with a JSON body as the deployer.
    pub fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        answer(self.request(reqwest::Method::POST, path, Some(DEPLOYER)).json(&body))
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
        self.wait(Duration::from_secs(30))
    }

    /// Waits for the exit at most `deadline`; past it the node is killed and the test fails.
    pub fn wait(&mut self, deadline: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if start.elapsed() > deadline {
                let _ = self.child.kill();
                panic!("the node did not exit within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node's audit log, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        audit_of(&self.data)
    }

    /// The first record that `matches`, polling the log for at most 5 s: a record accepted before an answer
    /// reaches the file within `[audit] sync_interval`.
    pub fn record(&self, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Some(record) = self.audit().into_iter().find(|r| matches(r)) {
                return record;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "no such record in the audit log");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The records of `<data>/audit/audit.jsonl`.
pub fn audit_of(data: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data.join("audit/audit.jsonl")).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Sends and reads the answer: its status and JSON body (`null` when empty).
pub fn answer(builder: reqwest::blocking::RequestBuilder) -> (u16, serde_json::Value) {
    let response = builder.send().expect("the node answers");
    let status = response.status().as_u16();
    let mut text = String::new();
    let _ = response.take(64 << 20).read_to_string(&mut text);
    (status, if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).expect("JSON") })
}

/// A gzipped tar of the folder `dir` (relative to the repository root unless absolute).
pub fn tar_gz(dir: &Path) -> Vec<u8> {
    let dir = if dir.is_absolute() { dir.to_path_buf() } else { root().join(dir) };
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    builder.append_dir_all(".", &dir).expect("tar");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// A plain tar of `dir` with one more entry `name` written raw (the tar crate's builder refuses `..` and
/// absolute names, so the header is made by hand).
pub fn tar_with(dir: &Path, name: &str, kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", root().join(dir)).expect("tar");
    let mut out = builder.into_inner().expect("tar");
    out.truncate(out.len() - 1024); // the two zero blocks that end an archive
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

/// Copies a folder's files.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
