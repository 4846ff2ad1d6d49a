//! The client commands against a real node: `corral deploy`, `apps`, `ps`, `spawn`, `send`, `stop`; JSON on a
//! pipe, exit 0 / 1 (refused) / 2 (usage) (`spec/node.md`, "A client").

#[path = "support/node.rs"]
mod node;

use std::process::{Command, Output};

use node::{DEPLOYER, Node, OBSERVER, temp};
use serde_json::Value;

fn client(node: &Node, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .env("CORRAL_NODE", &node.url)
        .env("CORRAL_TOKEN", token)
        .output()
        .expect("corral runs")
}

fn json(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn the_client_deploys_lists_spawns_sends_and_stops() {
    let node = Node::start(&temp("client"), &[]);
    let app = node::root().join("tests/apps/node-shop");
    let deployed = json(&client(&node, DEPLOYER, &["deploy", app.to_str().unwrap(), "--name", "shop"]));
    assert_eq!(deployed["name"], "shop");
    let apps = json(&client(&node, DEPLOYER, &["apps"]));
    assert_eq!(apps[0]["revision"], deployed["revision"]);

    let ran = json(&client(&node, DEPLOYER, &["spawn", "shop:add", "20", "22", "--wait"]));
    assert_eq!(ran["result"]["value"], 42);
    let spawned = json(&client(&node, DEPLOYER, &["spawn", "shop:inbox"]));
    let pid = spawned["pid"].as_str().unwrap();
    let listed = json(&client(&node, DEPLOYER, &["ps", "--app", "shop"]));
    assert!(listed.as_array().unwrap().iter().any(|p| p["pid"] == pid), "{listed}");

    // Refused: exit 1 with the node's error on stderr.
    let denied = client(&node, OBSERVER, &["send", pid, "ping", "1"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("PERMISSION_DENIED"));
    assert_eq!(client(&node, DEPLOYER, &["stop", pid]).status.code(), Some(0));
    let nobody = client(&node, "wrong", &["apps"]);
    assert_eq!(nobody.status.code(), Some(1));
    // Usage: exit 2, nothing sent.
    assert_eq!(client(&node, DEPLOYER, &["send", pid, "ping", "{not json"]).status.code(), Some(2));
    assert_eq!(client(&node, DEPLOYER, &["spawn"]).status.code(), Some(2));

    // A broken app: the problems on stderr, exit 1.
    let broken = temp("client-broken");
    node::copy_dir(&app, &broken);
    std::fs::write(broken.join("lua/add.lua"), "return {").unwrap();
    let refused = client(&node, DEPLOYER, &["deploy", broken.to_str().unwrap(), "--name", "shop"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("lua/add.lua"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The README's "Run it as a service" session, step by step.
#[test]
fn the_readme_session_works() {
    let root = node::root();
    let tokens = root.join("examples/node/tokens.toml");
    let policies = root.join("examples/node/policies");
    let node = Node::start(
        &temp("readme"),
        &["--tokens", tokens.to_str().unwrap(), "--policies", policies.to_str().unwrap(), "--log-format", "json"],
    );
    let token = "corral-demo-admin";
    let services = root.join("examples/services");
    let deployed = json(&client(&node, token, &["deploy", services.to_str().unwrap()]));
    assert_eq!(
        (&deployed["name"], &deployed["services"][0]),
        (&Value::from("services"), &Value::from("app:counter_service"))
    );
    let start = std::time::Instant::now();
    let first = loop {
        let listed = json(&client(&node, token, &["ps"]));
        if let Some(p) = listed.as_array().unwrap().iter().find(|p| p["names"][0] == "counter") {
            assert_eq!(p["actor"], "svc:counter");
            break p["pid"].as_str().unwrap().to_string();
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "no counter service: {listed}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(client(&node, token, &["send", "counter", "incr", "5"]).status.code(), Some(0));
    // The service started at 100 (its `input`); the send is in its mailbox before the call.
    let called = client(&node, token, &["call", "counter", "get"]);
    assert_eq!(called.status.code(), Some(0), "{}", String::from_utf8_lossy(&called.stderr));
    assert_eq!(json(&called)["reply"], Value::from(105), "the call's reply");
    assert_eq!(client(&node, token, &["stop", "counter"]).status.code(), Some(0));
    let start = std::time::Instant::now();
    loop {
        let apps = json(&client(&node, token, &["apps"]));
        let service = &apps[0]["services"][0];
        if service["state"] == "running" && service["pid"] != first.as_str() {
            assert_eq!(service["restarts"], 1, "{apps}");
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "not restarted: {apps}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // `--log-format json`: every stderr line is a JSON object.
    let logs = std::fs::read_to_string(&node.stderr).unwrap();
    assert!(logs.lines().count() > 0 && logs.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{logs}");
}
