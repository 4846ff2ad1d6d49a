//! `corral serve`: deploying, replacing and removing apps over HTTP; broken apps and hostile archives;
//! tokens and node policies (`spec/node.md`, "Apps", "Who is calling").

#[path = "support/node.rs"]
mod node;

use node::{DEPLOYER, Node, OBSERVER, copy_dir, tar_gz, tar_with, temp};
use std::path::Path;

const SHOP: &str = "tests/apps/node-shop";

#[test]
fn deploy_replace_and_remove() {
    let data = temp("deploy");
    let node = Node::start(&data, &[]);
    let (status, body) = node.deploy("shop", tar_gz(Path::new(SHOP)));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "shop");
    assert_eq!(body["entries"], serde_json::json!(["shop:add", "shop:echo", "shop:inbox"]));
    let first = body["revision"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 64);

    // The same files again: 200, same revision. A changed file: 200, a new revision, and spawns use it.
    let (status, again) = node.deploy("shop", tar_gz(Path::new(SHOP)));
    assert_eq!((status, again["revision"].as_str()), (200, Some(first.as_str())));
    let changed = temp("deploy-changed");
    copy_dir(&node::root().join(SHOP), &changed);
    std::fs::write(changed.join("lua/add.lua"), "local function main(a, b) return a * b end\nreturn { main = main }\n")
        .unwrap();
    let (status, replaced) = node.deploy("shop", tar_gz(&changed));
    assert_eq!(status, 200, "{replaced}");
    assert_ne!(replaced["revision"].as_str(), Some(first.as_str()));
    let (status, ran) =
        node.post("/v1/processes", serde_json::json!({"entry": "shop:add", "args": [3, 4], "wait": true}));
    assert_eq!((status, &ran["result"]["value"]), (200, &serde_json::json!(12)), "{ran}");

    let (status, apps) = node.get("/v1/apps", Some(DEPLOYER));
    assert_eq!(status, 200);
    assert_eq!(apps[0]["name"], "shop");
    assert_eq!(apps[0]["revision"], replaced["revision"]);

    let delete =
        |name: &str| node::answer(node.request(reqwest::Method::DELETE, &format!("/v1/apps/{name}"), Some(DEPLOYER)));
    assert_eq!(delete("shop").0, 204);
    assert_eq!(delete("shop").0, 404);
    assert_eq!(node.get("/v1/apps", Some(DEPLOYER)).1, serde_json::json!([]));
    assert!(!data.join("apps/shop").exists(), "the app's files are removed");
}

#[test]
fn a_broken_app_is_422_with_its_problems_and_the_old_revision_keeps_serving() {
    let data = temp("broken");
    let node = Node::start(&data, &[]);
    let (status, good) = node.deploy("shop", tar_gz(Path::new(SHOP)));
    assert_eq!(status, 201);
    let broken = temp("broken-app");
    copy_dir(&node::root().join(SHOP), &broken);
    std::fs::write(broken.join("lua/add.lua"), "local function main(a, b)\n  return a +\nend\n").unwrap();
    let (status, body) = node.deploy("shop", tar_gz(&broken));
    assert_eq!(status, 422, "{body}");
    let problem = &body["problems"][0];
    assert_eq!(problem["file"], "lua/add.lua", "{body}");
    assert!(problem["line"].as_u64().is_some(), "{body}");
    assert!(problem["message"].as_str().unwrap().contains("syntax error"), "{body}");
    let (_, apps) = node.get("/v1/apps", Some(DEPLOYER));
    assert_eq!(apps[0]["revision"], good["revision"]);
    let (status, ran) =
        node.post("/v1/processes", serde_json::json!({"entry": "shop:add", "args": [3, 4], "wait": true}));
    assert_eq!((status, &ran["result"]["value"]), (200, &serde_json::json!(7)), "{ran}");
}

#[test]
fn hostile_archives_are_refused_naming_the_entry() {
    let data = temp("hostile");
    let node = Node::start(&data, &["--config", node::root().join("tests/node/small.toml").to_str().unwrap()]);
    let cases = [
        ("../escape.lua", tar::EntryType::Regular, "`..`"),
        ("/tmp/corral-escape.lua", tar::EntryType::Regular, "absolute"),
        ("lua/link.lua", tar::EntryType::Symlink, "symbolic link"),
        ("lua/hard.lua", tar::EntryType::Link, "hard link"),
        ("lua/pipe", tar::EntryType::Fifo, "fifo"),
    ];
    for (name, kind, says) in cases {
        let (status, body) = node.deploy("shop", tar_with(Path::new(SHOP), name, kind, b""));
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["problems"][0]["file"], name, "{body}");
        assert!(body["problems"][0]["message"].as_str().unwrap().contains(says), "{body}");
    }
    assert!(!Path::new("/tmp/corral-escape.lua").exists());
    // tests/node/small.toml: max_archive_size 64KiB, max_archive_entries 32.
    let (status, body) = node.deploy("shop", vec![0u8; 65 << 10]);
    assert_eq!((status, &body["error"]["kind"]), (413, &serde_json::json!("LIMIT_EXCEEDED")), "{body}");
    let many = temp("hostile-many");
    copy_dir(&node::root().join(SHOP), &many);
    for i in 0..40 {
        std::fs::write(many.join(format!("f{i}.txt")), "x").unwrap();
    }
    let (status, body) = node.deploy("shop", tar_gz(&many));
    assert_eq!(status, 422, "{body}");
    assert!(body["problems"][0]["message"].as_str().unwrap().contains("32 entries"), "{body}");
    // A manifest whose source leaves the app folder (the node's own files): the loader refuses it.
    let escape = temp("hostile-escape");
    copy_dir(&node::root().join(SHOP), &escape);
    let manifest = std::fs::read_to_string(escape.join("_index.yaml")).unwrap();
    std::fs::write(escape.join("_index.yaml"), manifest.replace("file://lua/add.lua", "file://../../node.lock"))
        .unwrap();
    let (status, body) = node.deploy("shop", tar_gz(&escape));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["file"], "_index.yaml", "{body}");
    // Nothing was deployed, and the staging folders are gone.
    assert_eq!(node.get("/v1/apps", Some(DEPLOYER)).1, serde_json::json!([]));
    assert_eq!(std::fs::read_dir(data.join("staging")).unwrap().count(), 0);
}

#[test]
fn tokens_and_node_policies_decide_who_may_deploy() {
    let data = temp("auth");
    // Small bounds (64 KiB), so an oversized body still fits the socket buffers and its answer can be read.
    let node = Node::start(&data, &["--config", node::root().join("tests/node/small.toml").to_str().unwrap()]);
    let put = |token: Option<&str>, body: Vec<u8>| {
        node::answer(node.request(reqwest::Method::PUT, "/v1/apps/shop", token).body(body))
    };
    assert_eq!(put(None, tar_gz(Path::new(SHOP))).0, 401);
    assert_eq!(put(Some("not-a-token"), tar_gz(Path::new(SHOP))).0, 401);
    // 401 comes before 413: an unknown caller learns nothing about the bounds.
    assert_eq!(put(Some("not-a-token"), vec![0u8; 65 << 10]).0, 401);
    // 403 before 413, naming the action and the app; the record names the forbidding policy.
    let (status, body) = put(Some(OBSERVER), vec![0u8; 65 << 10]);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["kind"], "PERMISSION_DENIED");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("node.deploy") && message.contains("App::\"shop\""), "{message}");
    let denial = node.record(|r| r["kind"] == "authz.decision" && r["action"] == "node.deploy");
    assert_eq!(denial["decision"], "deny");
    assert_eq!(denial["principal"], "user:observer");
    assert_eq!(denial["policies"], serde_json::json!(["observers.never.deploy"]));
    assert!(!message.contains("observers.never.deploy"), "the message never shows policy text or ids");
    // The health route needs no token; the observer may list but sees nothing deployed.
    assert_eq!(node.get("/v1/health", None), (200, serde_json::json!({"status": "ok"})));
    assert_eq!(node.get("/v1/apps", Some(OBSERVER)), (200, serde_json::json!([])));
}

#[test]
fn two_apps_cannot_declare_one_namespace() {
    let data = temp("namespace");
    let node = Node::start(&data, &[]);
    assert_eq!(node.deploy("shop", tar_gz(Path::new(SHOP))).0, 201);
    let (status, body) = node.deploy("shop-two", tar_gz(Path::new(SHOP)));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["kind"], "ALREADY_EXISTS");
    assert!(body["error"]["message"].as_str().unwrap().contains("`shop`"), "{body}");
    let (status, body) = node.deploy("Bad/Name", tar_gz(Path::new(SHOP)));
    assert!(status == 400 || status == 404, "{status} {body}");
}
