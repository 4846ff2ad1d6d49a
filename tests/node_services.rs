//! `corral serve`: an app's services run while it is deployed, are restarted by a redeploy that changes
//! them, and stop with the app or the node (`spec/node.md`, "Services").

#[path = "support/node.rs"]
mod node;

use std::path::Path;
use std::time::{Duration, Instant};

use node::{DEPLOYER, Node, copy_dir, tar_gz, temp};
use serde_json::{Value, json};

/// Polls `GET /v1/apps` (bounded) until the app's first service is running; its PID.
fn running_pid(node: &Node, except: Option<&str>) -> String {
    let start = Instant::now();
    loop {
        let (_, apps) = node.get("/v1/apps", Some(DEPLOYER));
        let service = &apps[0]["services"][0];
        if service["state"] == "running" && service["pid"].is_string() && service["pid"].as_str() != except {
            return service["pid"].as_str().unwrap().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the service is not running: {apps}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn services_run_while_deployed_restart_on_change_and_stop_with_the_node() {
    let data = temp("services");
    let mut node = Node::start(&data, &[]);
    let (status, body) = node.deploy("svc", tar_gz(Path::new("tests/apps/node-svc")));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["services"], json!(["svc:ticker_service"]));
    let first = running_pid(&node, None);
    let (_, procs) = node.get("/v1/processes?app=svc", Some(DEPLOYER));
    let listed: Vec<&Value> = procs.as_array().unwrap().iter().filter(|p| p["pid"] == first.as_str()).collect();
    assert_eq!(listed[0]["actor"], "svc:ticker", "{procs}");

    // The same files again: the service keeps running. A changed source: it is restarted on the new code.
    assert_eq!(node.deploy("svc", tar_gz(Path::new("tests/apps/node-svc"))).0, 200);
    assert_eq!(running_pid(&node, None), first);
    let changed = temp("services-changed");
    copy_dir(&node::root().join("tests/apps/node-svc"), &changed);
    let source = std::fs::read_to_string(changed.join("ticker.lua")).unwrap();
    std::fs::write(changed.join("ticker.lua"), format!("-- v2\n{source}")).unwrap();
    assert_eq!(node.deploy("svc", tar_gz(&changed)).0, 200);
    let second = running_pid(&node, Some(&first));
    let stopped = node.record(|r| r["kind"] == "proc.exit" && r["pid"] == first.as_str());
    assert_eq!(stopped["reason"], "normal", "cancelled with its stop_timeout, it returned: {stopped}");

    // SIGTERM: the service is stopped (CANCEL, then it returns), the node exits 0.
    assert_eq!(node.terminate().code(), Some(0));
    let records = node.audit();
    let exit = records.iter().find(|r| r["kind"] == "proc.exit" && r["pid"] == second.as_str()).expect("stopped");
    assert_eq!(exit["reason"], "normal", "{exit}");
    assert!(
        records.iter().any(|r| r["kind"] == "proc.signal" && r["signal"] == "stop" && r["target"] == second.as_str())
    );
}
