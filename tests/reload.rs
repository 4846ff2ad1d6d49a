//! Reload under load: a process sends in a loop while its policy folder flips between allow and deny (and
//! once gets a bad edit). Every send is decided by exactly one revision, allows and denies follow the
//! revision that was running, and the bad edit keeps the node serving on the old set.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::temp;

const ALLOW: &str = "@id(\"send-allowed\")\npermit (principal, action == Action::\"process.send\", resource);\n";
const DENY: &str = "@id(\"send-denied\")\nforbid (principal, action == Action::\"process.send\", resource);\n";
const BASE: &str =
    "@id(\"start\")\npermit (principal, action in [Action::\"process.spawn\", Action::\"process.host\"], resource);\n";
const BROKEN: &str = "permit (principal, action == Action::\"process.sned\", resource);\n";

const INDEX: &str = r#"version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: main
    kind: process.lua
    source: file://main.lua
    modules: [time]
"#;

/// Sends to itself (and takes the message back) every millisecond, counting how often the answer changes
/// between allowed and denied; stops 20 sends after the third change.
const MAIN: &str = r#"
local time = require("time")
local function main()
    local me, inbox = process.pid(), process.inbox()
    local last, flips, sent, denied, after = nil, 0, 0, 0, 0
    while after < 20 do
        local ok, err = process.send(me, "tick", sent)
        local allowed = ok == true
        if not allowed and err:kind() ~= "PERMISSION_DENIED" then error(tostring(err)) end
        if last ~= nil and allowed ~= last then flips = flips + 1 end
        last = allowed
        if allowed then sent = sent + 1; inbox:receive() else denied = denied + 1 end
        if flips >= 3 then after = after + 1 end
        time.sleep("1ms")
    end
    return { sent = sent, denied = denied, flips = flips }
end
return { main = main }
"#;

struct Node {
    child: Child,
    audit: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces `file` in one rename, as an editor's atomic save does.
fn save(dir: &Path, file: &str, text: &str) {
    let tmp = dir.join(format!(".{file}.swp"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join(file)).expect("rename");
}

fn records(audit: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    // The last line may be half written; whole lines only.
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

fn sends(records: &[Json]) -> Vec<&Json> {
    records.iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == "process.send").collect()
}

/// Waits (bounded) until the log satisfies `done`; the node writes as it goes.
fn wait_for(node: &mut Node, what: &str, done: impl Fn(&[Json]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if done(&records(&node.audit)) {
            return;
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            let mut err = String::new();
            node.child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("corral exited ({status}) while waiting for {what}: {err}");
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn revision_of(set: &str) -> String {
    let files = vec![("base.cedar".to_owned(), BASE.to_owned()), ("flip.cedar".to_owned(), set.to_owned())];
    corral_policy::PolicySet::from_files(&files).expect("the test's policies load").revision().to_owned()
}

#[test]
fn sends_under_a_flipping_policy_are_each_decided_by_one_revision() {
    let app = temp("reload-under-load");
    let policies = app.join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    std::fs::write(app.join("_index.yaml"), INDEX).expect("index");
    std::fs::write(app.join("main.lua"), MAIN).expect("main");
    // Every send is its own record (not counted into authz.summary), so each one's revision is in the log.
    std::fs::write(app.join("corral.toml"), "[root]\nactor = \"user:alice\"\n\n[audit]\nallows = \"each\"\n")
        .expect("toml");
    save(&policies, "base.cedar", BASE);
    save(&policies, "flip.cedar", ALLOW);
    let (allow, deny) = (revision_of(ALLOW), revision_of(DENY));

    let audit = app.join("audit.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--app", app.to_str().expect("utf-8 path"), "app:main"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("corral runs");
    let mut node = Node { child, audit };
    let decided_by = |revision: String, at_least: usize| {
        move |log: &[Json]| sends(log).iter().filter(|r| r["revision"] == revision.as_str()).count() >= at_least
    };

    wait_for(&mut node, "sends allowed by the first set", decided_by(allow.clone(), 5));
    save(&policies, "flip.cedar", DENY);
    wait_for(&mut node, "sends denied by the second set", decided_by(deny.clone(), 5));
    // A bad edit: rejected, recorded, and the node keeps deciding with the running set.
    save(&policies, "bad.cedar", BROKEN);
    wait_for(&mut node, "the bad edit to be rejected", |log| log.iter().any(|r| r["kind"] == "policy.reject"));
    let rejected_at = records(&node.audit).len();
    wait_for(&mut node, "sends after the rejection", |log| {
        log.iter().skip(rejected_at).filter(|r| r["kind"] == "authz.decision" && r["revision"] == deny.as_str()).count()
            >= 5
    });
    std::fs::remove_file(policies.join("bad.cedar")).expect("remove the bad edit");
    save(&policies, "flip.cedar", ALLOW);
    wait_for(&mut node, "sends allowed again", |log| {
        let sends = sends(log);
        let last_deny = sends.iter().rposition(|r| r["revision"] == deny.as_str());
        last_deny.is_some_and(|at| sends[at..].iter().filter(|r| r["revision"] == allow.as_str()).count() >= 5)
    });
    save(&policies, "flip.cedar", DENY);

    let status = node.child.wait().expect("corral exits");
    let mut out = String::new();
    node.child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    let mut err = String::new();
    node.child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    assert!(status.success(), "stderr: {err}");
    let result: Json = serde_json::from_str(out.trim()).expect("the result is JSON");
    assert_eq!(result["flips"], 3, "{result}");
    assert!(err.contains("bad.cedar"), "the rejection is reported on stderr: {err}");

    let log = records(&node.audit);
    let sends = sends(&log);
    // Each send names one of the two revisions, and its answer is that revision's answer.
    for send in &sends {
        match send["revision"].as_str() {
            Some(r) if r == allow => assert_eq!(
                (&send["decision"], &send["policies"]),
                (&"allow".into(), &serde_json::json!(["send-allowed"]))
            ),
            Some(r) if r == deny => assert_eq!(
                (&send["decision"], &send["policies"]),
                (&"deny".into(), &serde_json::json!(["send-denied"]))
            ),
            _ => panic!("a send decided by an unknown revision: {send}"),
        }
    }
    // The revisions run in four blocks (allow, deny, allow, deny), never interleaved.
    let mut blocks: Vec<&str> = sends.iter().filter_map(|s| s["revision"].as_str()).collect();
    blocks.dedup();
    assert_eq!(blocks, [allow.as_str(), deny.as_str(), allow.as_str(), deny.as_str()]);
    let reloads: Vec<&Json> = log.iter().filter(|r| r["kind"] == "policy.reload").collect();
    assert_eq!(reloads.len(), 3, "{reloads:?}");
    let rejects: Vec<&Json> = log.iter().filter(|r| r["kind"] == "policy.reject").collect();
    assert!(rejects.iter().all(|r| r["revision"] == deny.as_str()), "the kept revision: {rejects:?}");
    assert!(rejects[0]["problems"].to_string().contains("bad.cedar"));
    let _ = std::fs::remove_dir_all(&app);
}
