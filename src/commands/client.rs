//! The client commands: `corral deploy`, `apps`, `ps`, `spawn`, `send`, `call`, `stop` talk to a node's API
//! (`spec/node.md`, "A client") at `--node URL` (env `CORRAL_NODE`, default `http://127.0.0.1:7480`) with the
//! bearer token of `CORRAL_TOKEN`. They print a table on a terminal and the node's JSON otherwise (`--json`
//! forces it); exit 0 when the node did it, 1 when it refused (its error on stderr) or cannot be reached, 2
//! for bad usage.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Value as Json, json};

use crate::boot::{self, BAD_INPUT};

/// Where the node is and how to print.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// The node's base URL.
    #[arg(long = "node", env = "CORRAL_NODE", default_value = "http://127.0.0.1:7480")]
    pub url: String,
    /// Print the node's JSON even on a terminal.
    #[arg(long)]
    pub json: bool,
}

/// `corral deploy DIR [--name N]`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The app folder.
    dir: PathBuf,
    /// The app's name on the node (default: the folder's name).
    #[arg(long)]
    name: Option<String>,
}

/// `corral apps`.
#[derive(Args, Debug)]
pub struct AppsArgs {
    #[command(flatten)]
    node: NodeArgs,
}

/// `corral ps [--app A]`.
#[derive(Args, Debug)]
pub struct PsArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Only this app's processes.
    #[arg(long)]
    app: Option<String>,
}

/// `corral spawn ENTRY [ARG...] [--wait]`.
#[derive(Args, Debug)]
pub struct SpawnArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The host (default: the app's only host).
    #[arg(long)]
    host: Option<String>,
    /// A registry name for the process.
    #[arg(long)]
    name: Option<String>,
    /// Wait for its exit and print its result.
    #[arg(long)]
    wait: bool,
    /// With `--wait`, how long (e.g. `5s`).
    #[arg(long)]
    timeout: Option<String>,
    /// The entry id, `namespace:name`.
    entry: String,
    /// Arguments for `main(...)`, each a JSON value.
    args: Vec<String>,
}

/// `corral send DEST TOPIC [JSON]`.
#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// A PID or a registered name.
    dest: String,
    /// The topic.
    topic: String,
    /// The payload, a JSON value.
    payload: Option<String>,
}

/// `corral call DEST TOPIC [JSON] [--timeout D]`.
#[derive(Args, Debug)]
pub struct CallArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// A PID or a registered name.
    dest: String,
    /// The topic.
    topic: String,
    /// The payload, a JSON value.
    payload: Option<String>,
    /// How long to wait for the reply (e.g. `5s`).
    #[arg(long)]
    timeout: Option<String>,
}

/// `corral stop PID`.
#[derive(Args, Debug)]
pub struct StopArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// A PID or a registered name.
    dest: String,
}

/// A request's outcome: 0 done, 1 refused or unreachable, 2 usage.
type Code = u8;

/// `corral deploy`.
pub fn deploy(args: DeployArgs) -> Code {
    let name = match args.name.clone().or_else(|| folder_name(&args.dir)) {
        Some(n) => n,
        None => {
            boot::error(format_args!("cannot name the app after `{}`: give `--name`", args.dir.display()));
            return BAD_INPUT;
        }
    };
    let body = match pack(&args.dir) {
        Ok(b) => b,
        Err(e) => {
            boot::error(e);
            return BAD_INPUT;
        }
    };
    let url = format!("/v1/apps/{name}");
    request(&args.node, reqwest::Method::PUT, &url, Body::Bytes(body), |v| {
        let services = list(&v["services"]);
        format!(
            "app `{}` revision {} ({} entries{})",
            str_of(&v["name"]),
            &str_of(&v["revision"])[..12.min(str_of(&v["revision"]).len())],
            v["entries"].as_array().map_or(0, Vec::len),
            if services.is_empty() { String::new() } else { format!(", services: {services}") }
        )
    })
}

/// `corral apps`.
pub fn apps(args: AppsArgs) -> Code {
    request(&args.node, reqwest::Method::GET, "/v1/apps", Body::None, |v| {
        table(&v, &["name", "revision", "deployed_at", "processes"])
    })
}

/// `corral ps`.
pub fn ps(args: PsArgs) -> Code {
    let url = match &args.app {
        Some(app) => format!("/v1/processes?app={}", encode(app)),
        None => "/v1/processes".into(),
    };
    request(&args.node, reqwest::Method::GET, &url, Body::None, |v| {
        table(&v, &["pid", "entry", "actor", "status", "mailbox", "memory", "started_at"])
    })
}

/// `corral spawn`.
pub fn spawn(args: SpawnArgs) -> Code {
    let values =
        match args.args.iter().enumerate().map(|(i, a)| parse_json(a, &format!("argument {}", i + 1))).collect() {
            Ok(v) => v,
            Err(code) => return code,
        };
    let mut body = json!({"entry": args.entry, "args": Json::Array(values), "wait": args.wait});
    for (key, value) in [("host", &args.host), ("name", &args.name), ("timeout", &args.timeout)] {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    request(&args.node, reqwest::Method::POST, "/v1/processes", Body::Json(body), |v| match v.get("result") {
        Some(result) => format!("{} {}", str_of(&v["pid"]), result),
        None => str_of(&v["pid"]),
    })
}

/// `corral send`.
pub fn send(args: SendArgs) -> Code {
    let mut body = json!({"topic": args.topic});
    if let Some(payload) = &args.payload {
        match parse_json(payload, "the payload") {
            Ok(v) => body["payload"] = v,
            Err(code) => return code,
        }
    }
    let url = format!("/v1/processes/{}/messages", encode(&args.dest));
    request(&args.node, reqwest::Method::POST, &url, Body::Json(body), |_| "sent".into())
}

/// `corral call`.
pub fn call(args: CallArgs) -> Code {
    let mut body = json!({"topic": args.topic});
    if let Some(payload) = &args.payload {
        match parse_json(payload, "the payload") {
            Ok(v) => body["payload"] = v,
            Err(code) => return code,
        }
    }
    if let Some(timeout) = &args.timeout {
        body["timeout"] = json!(timeout);
    }
    let url = format!("/v1/processes/{}/call", encode(&args.dest));
    request(&args.node, reqwest::Method::POST, &url, Body::Json(body), |v| {
        v.get("reply").cloned().unwrap_or(Json::Null).to_string()
    })
}

/// `corral stop`.
pub fn stop(args: StopArgs) -> Code {
    let url = format!("/v1/processes/{}", encode(&args.dest));
    request(&args.node, reqwest::Method::DELETE, &url, Body::None, |_| "stopped".into())
}

enum Body {
    None,
    Json(Json),
    Bytes(Vec<u8>),
}

/// Sends one request and prints the answer: `human` renders a success on a terminal. Errors go to stderr as
/// `error: KIND: message` (or the problems, one `file:line: message` each).
fn request(node: &NodeArgs, method: reqwest::Method, path: &str, body: Body, human: impl Fn(Json) -> String) -> Code {
    let client = match reqwest::blocking::Client::builder().timeout(Duration::from_secs(600)).build() {
        Ok(c) => c,
        Err(e) => {
            boot::error(format_args!("cannot make an HTTP client: {e}"));
            return 1;
        }
    };
    let url = format!("{}{path}", node.url.trim_end_matches('/'));
    let mut builder = client.request(method, &url);
    if let Ok(token) = std::env::var("CORRAL_TOKEN") {
        builder = builder.bearer_auth(token);
    }
    builder = match body {
        Body::None => builder,
        Body::Json(v) => builder.json(&v),
        Body::Bytes(b) => builder.header("content-type", "application/gzip").body(b),
    };
    let response = match builder.send() {
        Ok(r) => r,
        Err(e) => {
            boot::error(format_args!("cannot reach the node at `{}`: {e}", node.url));
            return 1;
        }
    };
    let status = response.status();
    let text = response.text().unwrap_or_default();
    let value: Json =
        if text.is_empty() { Json::Null } else { serde_json::from_str(&text).unwrap_or(Json::String(text)) };
    if !status.is_success() {
        refused(status, &value);
        return 1;
    }
    if node.json || !std::io::stdout().is_terminal() {
        if !value.is_null() {
            boot::out(value);
        }
    } else {
        boot::out(human(value));
    }
    0
}

fn refused(status: reqwest::StatusCode, value: &Json) {
    if let Some(problems) = value.get("problems").and_then(Json::as_array) {
        for p in problems {
            let at = p["line"].as_u64().map(|l| format!(":{l}")).unwrap_or_default();
            boot::error(format_args!("{}{at}: {}", str_of(&p["file"]), str_of(&p["message"])));
        }
        boot::error(format_args!("{} problem(s); nothing changed", problems.len()));
    } else if let Some(error) = value.get("error") {
        boot::error(format_args!("{}: {} ({status})", str_of(&error["kind"]), str_of(&error["message"])));
    } else {
        boot::error(format_args!("the node answered {status}"));
    }
}

fn parse_json(text: &str, what: &str) -> Result<Json, Code> {
    serde_json::from_str(text).map_err(|e| {
        boot::error(format_args!("{what} `{text}` is not JSON: {e}"));
        BAD_INPUT
    })
}

fn str_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn list(v: &Json) -> String {
    v.as_array().map(|a| a.iter().map(str_of).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

/// Percent-encodes a path segment or query value (PIDs hold `{`, `|`, `}`, `@`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// An array of objects as aligned columns.
fn table(v: &Json, columns: &[&str]) -> String {
    let rows: Vec<Vec<String>> = v
        .as_array()
        .map(|a| a.iter().map(|row| columns.iter().map(|c| str_of(&row[*c])).collect()).collect())
        .unwrap_or_default();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut out = vec![line(columns.iter().map(|c| c.to_uppercase()).collect())];
    out.extend(rows.into_iter().map(line));
    out.join("\n")
}

fn folder_name(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    Some(dir.file_name()?.to_string_lossy().to_lowercase().replace(' ', "-"))
}

/// The app folder as a gzipped tar: its regular files, sorted, without hidden entries and audit logs
/// (`*.jsonl`). Errors: the folder cannot be read, naming the path.
pub fn pack(dir: &Path) -> Result<Vec<u8>, String> {
    let mut files = Vec::new();
    collect(dir, Path::new(""), &mut files).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    files.sort();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for relative in files {
        tar.append_path_with_name(dir.join(&relative), &relative)
            .map_err(|e| format!("cannot pack `{}`: {e}", relative.display()))?;
    }
    let gz = tar.into_inner().map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let relative = dir.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &relative, out)?;
        } else if kind.is_file() && relative.extension().is_none_or(|e| e != "jsonl") {
            out.push(relative);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_pids_are_encoded() {
        let rows = json!([{"name": "shop", "processes": 12}, {"name": "a", "processes": 3}]);
        assert_eq!(table(&rows, &["name", "processes"]), "NAME  PROCESSES\nshop  12\na     3");
        assert_eq!(encode("{shop@1a|shop:processes|5}"), "%7Bshop%401a%7Cshop:processes%7C5%7D");
    }
}
