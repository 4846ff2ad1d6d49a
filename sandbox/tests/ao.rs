//! AO processes (`models.md`, "AO processes") from the Rust side, on tokio's paused clock: handler errors and
//! unhandled messages are counted and audited in rate-limited records whose counts add up to every one of
//! them; a handler over its compute or memory limit still ends the process (the glue's `pcall` does not save
//! it); a sender's `From` never reaches a handler.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::Arc;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::Gate;
use corral_core::runtime::{Config, RootSpec};
use corral_core::value::Value;
use corral_core::{Exit, Runtime};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: tight
    kind: process.host
    memory_limit: 4MiB
    compute_limit: 2000000
  - name: driver
    kind: process.lua
    source: file://driver.lua
    modules: [time]
  - name: counter
    kind: process.lua
    source: file://counter.lua
    meta: {model: ao}
  - name: child
    kind: process.lua
    source: file://counter.lua
    meta: {model: ao}
"#;

const DRIVER: &str = r#"
local time = require("time")
local modes = {}

local function expect(cond, what)
    if not cond then error("assertion failed: " .. what, 2) end
end

local function wait_exit(pid)
    local events = process.events()
    local timer = time.after("10s")
    while true do
        local r = channel.select({ events:case_receive(), timer:case_receive() })
        expect(r.channel == events, "an EXIT of " .. pid)
        if r.value.kind == process.event.EXIT and r.value.from == pid then return r.value end
    end
end

-- 500 failing messages, 300 nobody takes, then a call the process answers: it survived all of them.
function modes.counts()
    local pid = process.spawn_monitored("app:counter", "app:procs")
    for _ = 1, 500 do process.send(pid, "Fail", { From = "forged" }) end
    for _ = 1, 300 do process.send(pid, "Nope", {}) end
    local from = process.call(pid, "Who", { From = "forged" }, "5s")
    expect(from == process.pid(), "the handler saw the real sender, got " .. tostring(from))
    process.terminate(pid)
    wait_exit(pid)
    return "ok"
end

-- A handler over its limit ends the process with the limit's reason, whatever the glue's pcall catches.
function modes.limit(action)
    local pid = process.spawn_monitored("app:counter", "app:tight")
    process.send(pid, action, {})
    local ev = wait_exit(pid)
    return ev.error
end

-- ao.spawn of an entry the policy forbids: nil, PERMISSION_DENIED naming the action, and nothing starts.
function modes.denied()
    local pid = process.spawn("app:counter", "app:procs")
    local answer = process.call(pid, "Spawn", { Module = "app:child" }, "5s")
    process.terminate(pid)
    return answer
end

return { main = function(mode, ...) return modes[mode](...) end }
"#;

const COUNTER: &str = r#"
Handlers.add("fail", "Fail", function() error("failed on purpose") end)
Handlers.add("who", "Who", function(msg) msg.reply(msg.From) end)
Handlers.add("spawn", "Spawn", function(msg)
    local pid, err = ao.spawn(msg.Module, { Name = "x" })
    msg.reply(pid or (err:kind() .. ": " .. err:message()))
end)
Handlers.add("spin", "Spin", function() while true do end end)
Handlers.add("hog", "Hog", function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 64) .. i end
end)
"#;

fn node(name: &str) -> (Runtime, Arc<MemoryAudit>) {
    node_with(name, "permit (principal, action, resource);")
}

fn node_with(name: &str, policy: &str) -> (Runtime, Arc<MemoryAudit>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ao-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("_index.yaml"), MANIFEST).unwrap();
    std::fs::write(dir.join("driver.lua"), DRIVER).unwrap();
    std::fs::write(dir.join("counter.lua"), COUNTER).unwrap();
    let app = Arc::new(App::load(&dir).unwrap());
    let set = PolicySet::from_files(&[("all.cedar".into(), policy.into())]).unwrap();
    let audit = Arc::new(MemoryAudit::new());
    let runtime = Runtime::new(Config {
        node: name.into(),
        app,
        gate: Gate::new(set, audit.clone()),
        launcher: Arc::new(Sandbox::new(false)),
    });
    (runtime, audit)
}

async fn run(runtime: &Runtime, mode: &str, args: Vec<Value>) -> Exit {
    let mut all = vec![Value::str(mode)];
    all.extend(args);
    let spec = RootSpec {
        entry: "app:driver".into(),
        host: "app:procs".into(),
        args: all,
        actor: Some(Arc::new(Actor::new("user:tester"))),
        scopes: Vec::new(),
    };
    let (_, exit) = runtime.start_root(spec).unwrap();
    exit.await.unwrap()
}

fn text(value: &Value) -> String {
    match value {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn handler_errors_and_unhandled_messages_are_counted_and_audited_within_bounds() {
    let (runtime, audit) = node("counts");
    let exit = run(&runtime, "counts", vec![]).await;
    assert_eq!(exit.result.as_ref().map(text), Ok("ok".to_string()), "{exit:?}");
    let snapshot = runtime.counters().snapshot();
    assert_eq!(snapshot.ao_handler_errors, 500);
    assert_eq!(snapshot.ao_unhandled, 300);
    let records = audit.records();
    let of = |kind: &str| records.iter().filter(|r| r["kind"] == kind).collect::<Vec<_>>();
    let errors = of("ao.error");
    let unhandled = of("ao.unhandled");
    let sum = |rs: &[&serde_json::Map<String, serde_json::Value>]| {
        rs.iter().map(|r| r["count"].as_u64().unwrap()).sum::<u64>()
    };
    assert_eq!(sum(&errors), 500, "every error is in a record's count: {errors:?}");
    assert_eq!(sum(&unhandled), 300, "every unhandled message is in a record's count");
    assert!(
        errors.len() <= 4 && unhandled.len() <= 4,
        "rate-limited: {} and {} records",
        errors.len(),
        unhandled.len()
    );
    let first = errors[0];
    assert_eq!(first["action"], "Fail");
    assert!(first["error"].as_str().unwrap().contains("failed on purpose"), "{first:?}");
    assert!(
        first["from"].as_str().unwrap().starts_with('{'),
        "from is the sender's PID, not the forged one: {first:?}"
    );
    assert_eq!(unhandled[0]["action"], "Nope");
    // The held-back counts were written before the process's exit record.
    let last_ao = records.iter().rposition(|r| r["kind"] == "ao.error" || r["kind"] == "ao.unhandled").unwrap();
    let counter_exit = records.iter().position(|r| r["kind"] == "proc.exit" && r["entry"] == "app:counter").unwrap();
    assert!(last_ao < counter_exit, "the flush comes before proc.exit");
}

#[tokio::test(start_paused = true)]
async fn a_handler_over_its_compute_limit_ends_the_process() {
    let (runtime, _) = node("compute");
    let exit = run(&runtime, "limit", vec![Value::str("Spin")]).await;
    let error = exit.result.as_ref().map(text).unwrap_or_default();
    assert!(error.starts_with("limit.compute:"), "{exit:?}");
    assert_eq!(runtime.counters().snapshot().ao_handler_errors, 0, "a limit kill is not a handler error");
}

#[tokio::test(start_paused = true)]
async fn a_handler_over_its_memory_limit_ends_the_process() {
    let (runtime, _) = node("memory");
    let exit = run(&runtime, "limit", vec![Value::str("Hog")]).await;
    let error = exit.result.as_ref().map(text).unwrap_or_default();
    assert!(error.starts_with("limit.memory:"), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn a_denied_ao_spawn_is_permission_denied_and_nothing_starts() {
    let policy = r#"permit (principal, action, resource);
forbid (principal, action == Action::"process.spawn", resource == Entry::"app:child");"#;
    let (runtime, audit) = node_with("denied", policy);
    let exit = run(&runtime, "denied", vec![]).await;
    let answer = exit.result.as_ref().map(text).unwrap_or_default();
    assert!(answer.starts_with("PERMISSION_DENIED") && answer.contains("process.spawn"), "{exit:?}");
    let records = audit.records();
    assert!(!records.iter().any(|r| r["kind"] == "proc.spawn" && r["entry"] == "app:child"), "the child never started");
    assert!(records.iter().any(|r| r["kind"] == "authz.decision" && r["decision"] == "deny"), "the denial is recorded");
}
