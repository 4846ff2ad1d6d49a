//! Load on a node (issue 11): `corral serve` with the audit log on, one app (`benches/node_apps/loadtest`)
//! whose counter service counts `incr` messages and answers `echo` and `get` calls, and N concurrent clients,
//! each sending then calling a fixed number of times over HTTP with a bearer token. Prints requests per
//! second and p50 / p99 latency for send and for call, and checks that no message was lost: the service's
//! count equals the number of sends the node accepted (`202`).
//!
//! Run: `cargo bench --bench node_load` (release). `CORRAL_NODE_CLIENTS` (default 8) and `CORRAL_NODE_OPS`
//! (per client and operation, default 2000) change the load. A figure, not a test: it asserts only that
//! nothing was lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The token of `examples/node/tokens.toml`: `node:admin`, whom the example node policies permit everything.
const TOKEN: &str = "corral-demo-admin";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Serve {
    child: Child,
    url: String,
    data: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn serve() -> Serve {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = std::env::temp_dir().join(format!("corral-node-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("corral.toml");
    let node = root.join("examples/node");
    std::fs::write(
        &config,
        format!(
            "[node]\ntokens = {:?}\npolicies = {:?}\n",
            node.join("tokens.toml").display().to_string(),
            node.join("policies").display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(data.join("data"))
        .arg("--apps")
        .arg(root.join("benches/node_apps"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_string();
    Serve { child, url, data }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn report(what: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    let rate = latencies.len() as f64 / wall.as_secs_f64();
    println!(
        "{what:<5} {:>8} requests  {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs",
        latencies.len(),
        rate,
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
    );
}

fn main() {
    let clients = env_usize("CORRAL_NODE_CLIENTS", 8);
    let ops = env_usize("CORRAL_NODE_OPS", 2000);
    let node = serve();
    let http = reqwest::blocking::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    // The service registers `counter` once it runs: wait for it (bounded).
    let get = |http: &reqwest::blocking::Client| -> Option<u64> {
        let response = http
            .post(format!("{}/v1/processes/counter/call", node.url))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"topic": "get", "timeout": "10s"}))
            .send()
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<serde_json::Value>().ok()?["reply"].as_u64()
    };
    let started = Instant::now();
    while get(&http).is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "the counter service never answered");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("node load: {clients} clients x {ops} sends then {ops} calls each, audit log on ({})", node.url);

    for (what, path, body) in [
        ("send", "messages", serde_json::json!({"topic": "incr", "payload": 1})),
        ("call", "call", serde_json::json!({"topic": "echo", "payload": "ping", "timeout": "10s"})),
    ] {
        let wall = Instant::now();
        let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..clients)
                .map(|_| {
                    let (http, body, url) =
                        (http.clone(), body.clone(), format!("{}/v1/processes/counter/{path}", node.url));
                    scope.spawn(move || {
                        let mut latencies = Vec::with_capacity(ops);
                        let mut refused = 0;
                        for _ in 0..ops {
                            let at = Instant::now();
                            let response = http.post(&url).bearer_auth(TOKEN).json(&body).send().unwrap();
                            let status = response.status().as_u16();
                            let text = response.text().unwrap_or_default();
                            latencies.push(at.elapsed());
                            match (what, status) {
                                ("send", 202) => {}
                                ("call", 200) => assert!(text.contains("ping"), "the echo: {text}"),
                                (_, 429) => refused += 1,
                                _ => panic!("{what}: {status} {text}"),
                            }
                        }
                        (latencies, refused)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let wall = wall.elapsed();
        let refused: usize = results.iter().map(|(_, r)| r).sum();
        let latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
        let accepted = latencies.len() - refused;
        report(what, latencies, wall);
        if what == "send" {
            let counted = get(&http).expect("the count");
            println!(
                "send  accepted {accepted}, refused (429, mailbox full) {refused}, counted by the service {counted}"
            );
            assert_eq!(counted as usize, accepted, "a message the node accepted was lost");
            println!("send  no message lost");
        }
    }
}
