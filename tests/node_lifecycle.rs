//! `corral serve`: the data folder's lock, drain on SIGTERM, what a restart keeps, apps deployed at boot
//! (`spec/node.md`, "Starting it").

#[path = "support/node.rs"]
mod node;

use std::path::Path;
use std::time::Duration;

use node::{DEPLOYER, Node, copy_dir, serve_command, tar_gz, temp};
use serde_json::json;

const SHOP: &str = "tests/apps/node-shop";

#[test]
fn sigterm_drains_stops_every_process_and_writes_runtime_stop() {
    let data = temp("drain");
    let mut node = Node::start(&data, &[]);
    assert_eq!(node.deploy("shop", tar_gz(Path::new(SHOP))).0, 201);
    let (status, body) = node.post("/v1/processes", json!({"entry": "shop:inbox"}));
    assert_eq!(status, 201, "{body}");
    let pid = body["pid"].as_str().unwrap().to_string();
    let status = node.terminate();
    assert_eq!(status.code(), Some(0), "stderr: {}", std::fs::read_to_string(&node.stderr).unwrap_or_default());
    let records = node.audit();
    let exit =
        records.iter().find(|r| r["kind"] == "proc.exit" && r["pid"] == pid.as_str()).expect("the process was stopped");
    assert_eq!(exit["reason"], "shutdown");
    assert!(records.iter().any(|r| r["kind"] == "runtime.stop" && r["node"] == "shop"), "the app's runtime stopped");
    let last = records.last().unwrap();
    assert_eq!((&last["kind"], &last["node"]), (&json!("runtime.stop"), &json!("_node")), "{last}");
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["audit", "verify"])
        .arg(data.join("audit/audit.jsonl"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn a_restart_on_the_same_data_folder_keeps_the_apps() {
    let data = temp("restart");
    let mut node = Node::start(&data, &[]);
    let (_, deployed) = node.deploy("shop", tar_gz(Path::new(SHOP)));
    assert_eq!(node.terminate().code(), Some(0));
    let node = Node::start(&data, &[]);
    let (status, apps) = node.get("/v1/apps", Some(DEPLOYER));
    assert_eq!(status, 200);
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!((&apps[0]["name"], &apps[0]["revision"]), (&json!("shop"), &deployed["revision"]));
    let (status, ran) = node.post("/v1/processes", json!({"entry": "shop:add", "args": [5, 6], "wait": true}));
    assert_eq!((status, &ran["result"]["value"]), (200, &json!(11)), "{ran}");
    // One chain across both runs.
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["audit", "verify"])
        .arg(data.join("audit/audit.jsonl"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn a_second_node_on_a_locked_data_folder_exits_2_naming_it() {
    let data = temp("locked");
    let _first = Node::start(&data, &[]);
    let output = serve_command(&data, &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("`{}`", data.display())), "{stderr}");
    assert!(output.stdout.is_empty(), "no `listening on` line");
}

#[test]
fn apps_folders_are_deployed_at_boot_and_a_broken_one_stops_the_boot() {
    let apps = temp("boot-apps");
    copy_dir(&node::root().join(SHOP), &apps.join("shop"));
    let data = temp("boot-data");
    let node = Node::start(&data, &["--apps", apps.to_str().unwrap()]);
    let (_, listed) = node.get("/v1/apps", Some(DEPLOYER));
    assert_eq!(listed[0]["name"], "shop", "{listed}");
    drop(node);

    std::fs::write(apps.join("shop/lua/add.lua"), "return {").unwrap();
    let data = temp("boot-data-broken");
    let mut child = serve_command(&data, &["--apps", apps.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the node did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("app `shop`") && stderr.contains("lua/add.lua"), "{stderr}");
}

#[test]
fn sighup_reloads_the_node_policies() {
    let policies = temp("hup-policies");
    copy_dir(&node::root().join("tests/node/policies"), &policies);
    let data = temp("hup");
    let node = Node::start(&data, &["--policies", policies.to_str().unwrap()]);
    let deploy_as_observer = || {
        node::answer(
            node.request(reqwest::Method::PUT, "/v1/apps/shop", Some(node::OBSERVER)).body(tar_gz(Path::new(SHOP))),
        )
    };
    assert_eq!(deploy_as_observer().0, 403);
    // A bad edit keeps the running set; a good one replaces it.
    std::fs::write(policies.join("broken.cedar"), "permit (").unwrap();
    let hup = || std::process::Command::new("kill").args(["-HUP", &node.child.id().to_string()]).status().unwrap();
    assert!(hup().success());
    node.record(|r| r["kind"] == "policy.reject" && r["node"] == "_node");
    assert_eq!(deploy_as_observer().0, 403);
    std::fs::remove_file(policies.join("broken.cedar")).unwrap();
    std::fs::write(
        policies.join("node.cedar"),
        "@id(\"observer.deploys\")\npermit (principal == Actor::\"user:observer\", action, resource);\n",
    )
    .unwrap();
    assert!(hup().success());
    node.record(|r| r["kind"] == "policy.reload" && r["node"] == "_node");
    assert_eq!(deploy_as_observer().0, 201);
}
