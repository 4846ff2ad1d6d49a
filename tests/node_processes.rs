//! `corral serve`: processes over HTTP (spawn with and without waiting, list, inspect, send, terminate) and
//! the metrics (`spec/node.md`, "Processes", "Observing it").

#[path = "support/node.rs"]
mod node;

use std::path::Path;
use std::time::{Duration, Instant};

use node::{DEPLOYER, Node, OBSERVER, answer, tar_gz, temp};
use serde_json::json;

fn shop(name: &str) -> Node {
    let node = Node::start(&temp(name), &[]);
    assert_eq!(node.deploy("shop", tar_gz(Path::new("tests/apps/node-shop"))).0, 201);
    node
}

/// Polls `GET /v1/processes/{pid}` (bounded) until it is 404: the process exited.
fn wait_gone(node: &Node, pid: &str) {
    let start = Instant::now();
    while node.get(&format!("/v1/processes/{}", encode(pid)), Some(DEPLOYER)).0 != 404 {
        assert!(start.elapsed() < Duration::from_secs(10), "`{pid}` did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn encode(pid: &str) -> String {
    pid.replace('{', "%7B").replace('}', "%7D").replace('|', "%7C").replace('@', "%40")
}

#[test]
fn spawn_and_wait_answers_the_result() {
    let node = shop("wait");
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:add", "args": [2, 40], "wait": true}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({"value": 42}));
    assert!(body["pid"].as_str().unwrap().starts_with("{shop@"), "the PID names its app: {body}");
    // A wrong argument makes it raise: the result is the error.
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:add", "args": ["x", {}], "wait": true}));
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["error"].is_string(), "{body}");
    // Waiting past the timeout: 504 with the PID, and the process keeps running.
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:inbox", "wait": true, "timeout": "50ms"}));
    assert_eq!(status, 504, "{body}");
    let pid = body["pid"].as_str().unwrap();
    let (status, info) = node.get(&format!("/v1/processes/{}", encode(pid)), Some(DEPLOYER));
    assert_eq!((status, &info["status"]), (200, &json!("running")), "{info}");
    // Unknown entries and bad bodies.
    assert_eq!(node.post("/v1/processes", json!({"entry": "nowhere:x"})).0, 404);
    assert_eq!(node.post("/v1/processes", json!({"entry": "shop:add", "wait": true, "timeout": "soon"})).0, 400);
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:add", "bogus": 1}));
    assert_eq!((status, &body["error"]["kind"]), (400, &json!("INVALID")), "{body}");
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:add", "args": [deep]}));
    assert_eq!((status, &body["error"]["kind"]), (400, &json!("INVALID")), "too deep for the parser: {body}");
}

#[test]
fn send_reaches_a_spawned_process_and_is_decided_by_the_node_policies() {
    let node = shop("send");
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:inbox"}));
    assert_eq!(status, 201, "{body}");
    let pid = body["pid"].as_str().unwrap().to_string();
    let (status, list) = node.get("/v1/processes?app=shop", Some(DEPLOYER));
    assert_eq!(status, 200);
    let me = list.as_array().unwrap().iter().find(|p| p["pid"] == pid.as_str()).expect("listed");
    assert_eq!((me["entry"].as_str(), me["actor"].as_str()), (Some("shop:inbox"), Some("tenant-acme:deployer")));

    // The observer may inspect but not send: 403 naming process.send; nothing delivered.
    let path = format!("/v1/processes/{}/messages", encode(&pid));
    let (status, body) =
        node::answer(node.request(reqwest::Method::POST, &path, Some(OBSERVER)).json(&json!({"topic": "ping"})));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("process.send"), "{body}");
    assert_eq!(node.get(&format!("/v1/processes/{}", encode(&pid)), Some(OBSERVER)).0, 200);

    let (status, body) = node.post(&path, json!({"topic": "ping", "payload": {"n": 1}}));
    assert_eq!(status, 202, "{body}");
    wait_gone(&node, &pid);
    let exit = node.record(|r| r["kind"] == "proc.exit" && r["pid"] == pid.as_str());
    assert_eq!(exit["reason"], "normal", "{exit}");

    // A cancel with a deadline: the inbox ignores CANCEL, so it is terminated once the deadline passes.
    let (_, body) = node.post("/v1/processes", json!({"entry": "shop:inbox"}));
    let pid = body["pid"].as_str().unwrap().to_string();
    let (status, body) = node.post(&format!("/v1/processes/{}/cancel", encode(&pid)), json!({"deadline": "20ms"}));
    assert_eq!(status, 202, "{body}");
    wait_gone(&node, &pid);
    let exit = node.record(|r| r["kind"] == "proc.exit" && r["pid"] == pid.as_str());
    assert_eq!(exit["reason"], "cancelled", "{exit}");
    assert_eq!(node.post("/v1/processes/nobody/cancel", json!({})).0, 404);

    // Listing an unknown app is 404; a terminate of a live process 204, then it is gone.
    assert_eq!(node.get("/v1/processes?app=nothere", Some(DEPLOYER)).0, 404);
    let (_, body) = node.post("/v1/processes", json!({"entry": "shop:inbox"}));
    let pid = body["pid"].as_str().unwrap().to_string();
    let (status, _) =
        node::answer(node.request(reqwest::Method::DELETE, &format!("/v1/processes/{}", encode(&pid)), Some(DEPLOYER)));
    assert_eq!(status, 204);
    wait_gone(&node, &pid);
}

/// The value of the series `name` (with its labels, as written) in a metrics text.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn metrics_exist_from_boot_and_move() {
    let node = Node::start(&temp("metrics"), &[]);
    let scrape = || node.request(reqwest::Method::GET, "/metrics", None).send().unwrap().text().unwrap();
    let before = scrape();
    assert!(series(&before, "corral_audit_records_total").is_some(), "{before}");
    for name in ["corral_spawns_total", "corral_messages_total", "corral_mailbox_overflows_total"] {
        assert_eq!(series(&before, name), Some(0.0), "{name} at zero from boot:\n{before}");
    }
    assert!(before.contains("corral_decision_seconds_bucket"), "{before}");
    assert_eq!(node.deploy("shop", tar_gz(Path::new("tests/apps/node-shop"))).0, 201);
    assert_eq!(node.post("/v1/processes", json!({"entry": "shop:add", "args": [1, 2], "wait": true})).0, 200);
    let after = scrape();
    assert_eq!(series(&after, "corral_spawns_total"), Some(1.0), "{after}");
    assert_eq!(series(&after, "corral_exits_total{reason=\"normal\"}"), Some(1.0), "{after}");
    let allowed = "corral_decisions_total{action=\"process.spawn\",decision=\"allow\",cached=\"false\"}";
    assert_eq!(series(&after, allowed), Some(1.0), "{after}");
    assert!(series(&after, "corral_http_requests_total{route=\"/v1/processes\",status=\"200\"}").is_some(), "{after}");
    assert_eq!(series(&after, "corral_processes{app=\"shop\",host=\"shop:processes\"}"), Some(0.0), "{after}");
    // The audit log was synced (every decision and lifecycle record above), and the time is counted.
    let syncs = series(&after, "corral_audit_sync_seconds_count").expect("the sync summary");
    assert!(syncs > series(&before, "corral_audit_sync_seconds_count").unwrap_or(0.0), "{after}");
    assert!(series(&after, "corral_audit_sync_seconds_sum").is_some_and(|s| s > 0.0), "{after}");
}

#[test]
fn call_waits_for_the_reply_and_is_decided_by_the_node_policies() {
    let node = shop("call");
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:echo"}));
    assert_eq!(status, 201, "{body}");
    let pid = body["pid"].as_str().unwrap().to_string();
    let path = format!("/v1/processes/{}/call", encode(&pid));
    // The reply comes back, and the callee saw the token's actor as the caller's.
    let (status, body) = node.post(&path, json!({"topic": "q", "payload": {"n": 1}}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reply"], json!({"echo": {"n": 1}, "actor": "tenant-acme:deployer"}));
    let decision =
        node.record(|r| r["kind"] == "authz.decision" && r["action"] == "process.call" && r["decision"] == "allow");
    assert_eq!((&decision["via"], &decision["principal"]), (&json!("api"), &json!("tenant-acme:deployer")));
    // A process that never answers the topic: 504 past the timeout, and the process keeps running.
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:inbox"}));
    assert_eq!(status, 201, "{body}");
    let silent = format!("/v1/processes/{}/call", encode(body["pid"].as_str().unwrap()));
    let (status, body) = node.post(&silent, json!({"topic": "other", "timeout": "50ms"}));
    assert_eq!((status, &body["error"]["kind"]), (504, &json!("TIMEOUT")), "{body}");
    // A target that exits before it answers: 503 UNAVAILABLE.
    let (status, body) = node.post(&silent, json!({"topic": "ping", "payload": "bye", "timeout": "5s"}));
    assert_eq!((status, &body["error"]["kind"]), (503, &json!("UNAVAILABLE")), "{body}");
    // The observer may inspect but not call: 403 naming the action.
    let (status, body) =
        answer(node.request(reqwest::Method::POST, &path, Some(OBSERVER)).json(&json!({"topic": "q"})));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("process.send"), "{body}");
    // Bad bodies: an unknown field, a timeout past the bound.
    assert_eq!(node.post(&path, json!({"topic": "q", "bogus": 1})).0, 400);
    assert_eq!(node.post(&path, json!({"topic": "q", "timeout": "1h"})).0, 400);
    assert_eq!(node.post("/v1/processes/nobody/call", json!({"topic": "q"})).0, 404);
    node.post(&format!("/v1/processes/{}/messages", encode(&pid)), json!({"topic": "stop"}));
}
