//! `process.call` and its reply (`models.md`, "Call and reply"), from Lua, on tokio's paused clock: the reply
//! reaches the caller once; a late reply is dropped, counted and never seen by a later call; a target that
//! exits first is `UNAVAILABLE`; a call is decided as `process.send` plus `process.call`; and the hostile
//! cases (100 000 unanswered calls, a huge reply, garbage references, a caller that dies waiting) leave the
//! pending-call table empty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::{Caller, Gate};
use corral_core::runtime::{Config, MAX_PENDING_NODE_CALLS, RootSpec};
use corral_core::value::Value;
use corral_core::{ErrorKind, Exit, Runtime};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;

const CALLER: &str = r#"
local time = require("time")

local function expect(cond, what)
    if not cond then error("assertion failed: " .. what, 2) end
end

local function kind(value, err)
    expect(value == nil, "expected an error, got " .. tostring(value))
    return err:kind(), err:message()
end

local modes = {}

-- A call gets the reply; the replier sees true, then false for a second reply either way.
function modes.reply()
    local server = process.spawn("app:server", "app:procs")
    local answer = process.call(server, "add", { 1, 2 })
    expect(answer == 3, "the reply is the value: " .. tostring(answer))
    local report = process.listen("report")
    local seen = report:receive()
    expect(seen.first == true and seen.second == false and seen.via_process == false, "true, then false twice")
    expect(seen.plain_reply_to == nil, "a plain send has no reply reference")
    expect(seen.plain_reply == "INVALID", "msg:reply of a plain send is INVALID: " .. tostring(seen.plain_reply))
    -- process.reply answers too, and several payload shapes come back whole
    local t = process.call(server, "echo", { a = { 1, 2 }, b = "x" })
    expect(type(t) == "table" and t.a[2] == 2 and t.b == "x", "a table reply is copied whole")
    expect(process.call(server, "nothing") == nil, "a reply of nil is nil")
    process.send(server, "stop")
    return "ok"
end

-- A call times out; the reply that comes later is dropped and a later call gets its own answer.
function modes.late()
    local slow = process.spawn("app:slow", "app:procs")
    local k = kind(process.call(slow, "first", nil, "100ms"))
    expect(k == "TIMEOUT", "TIMEOUT after the timeout, got " .. k)
    process.send(slow, "go")
    local report = process.listen("report")
    expect(report:receive() == true, "the late reply returns true to the replier")
    local second = process.call(slow, "second", nil, "1s")
    expect(second == "second", "a later call gets its own reply, not the late one: " .. tostring(second))
    process.send(slow, "stop")
    return "ok"
end

-- The target exits without replying: UNAVAILABLE naming its exit.
function modes.exits()
    local ender = process.spawn("app:ender", "app:procs")
    local k, message = kind(process.call(ender, "please", nil, "1h"))
    expect(k == "UNAVAILABLE", "UNAVAILABLE, got " .. k)
    expect(string.find(message, "exited before it replied", 1, true), message)
    expect(string.find(message, "(error: ", 1, true), message)
    expect(string.find(message, "ended without a reply", 1, true), message)
    return "ok"
end

-- A call to a process that is not alive, to an unknown name, to itself, and bad arguments.
function modes.args()
    local ender = process.spawn("app:ender", "app:procs")
    process.send(ender, "please")
    process.monitor(ender)
    process.events():receive()
    expect(kind(process.call(ender, "t")) == "NOT_FOUND", "a dead pid is NOT_FOUND")
    expect(kind(process.call("nobody", "t")) == "NOT_FOUND", "an unknown name is NOT_FOUND")
    expect(kind(process.call(process.pid(), "t")) == "INVALID", "calling oneself is INVALID")
    expect(kind(process.call(ender, "@t")) == "INVALID", "a reserved topic is INVALID")
    expect(kind(process.call(ender, "t", nil, "soon")) == "INVALID", "a bad timeout is INVALID")
    expect(kind(process.call(ender, "t", function() end)) == "INVALID", "a function payload is INVALID")
    for _, garbage in ipairs({ "1", 1, {}, true, process.inbox() }) do
        expect(kind(process.reply(garbage, 1)) == "INVALID", "a garbage reference is INVALID")
    end
    expect(kind(process.reply(nil, 1)) == "INVALID", "no reference is INVALID")
    local co = coroutine.create(function() return process.call(ender, "t") end)
    local _, v, err = coroutine.resume(co)
    expect(v == nil and err:kind() == "INVALID", "a call from a coroutine has no process context")
    return "ok"
end

-- A huge reply is refused and leaves the call open for a smaller one.
function modes.huge()
    local big = process.spawn("app:big", "app:procs")
    local answer = process.call(big, "give", nil, "1s")
    expect(answer == "small", "the small reply after the refused one: " .. tostring(answer))
    local report = process.listen("report")
    local seen = report:receive()
    expect(seen.huge == "LIMIT_EXCEEDED", "a reply over the bound is LIMIT_EXCEEDED: " .. tostring(seen.huge))
    expect(seen.func == "INVALID", "a function reply is INVALID: " .. tostring(seen.func))
    expect(seen.small == true, "the small reply is the first that counts")
    return "ok"
end

-- 100 000 calls that nobody answers, each timing out: bounded, nothing left pending.
function modes.flood(n)
    local sink = process.spawn("app:sink", "app:procs")
    for i = 1, n do
        local v, err = process.call(sink, "t", i, "1ms")
        if v ~= nil or err:kind() ~= "TIMEOUT" then error("call " .. i .. ": " .. tostring(err)) end
    end
    return sink
end

-- Terminates `target` (a decided effect, from a process).
function modes.kill(target)
    return process.terminate(target)
end

-- Cancels `target` with a short deadline.
function modes.cancel(target)
    return process.cancel(target, "20ms")
end

-- A call is denied (naming process.call), a send to the same process is not.
function modes.denied(server)
    local v, err = process.call(server, "echo", 1, "1s")
    expect(v == nil and err:kind() == "PERMISSION_DENIED", "a call is denied: " .. tostring(err))
    expect(string.find(err:message(), "process.call", 1, true), err:message())
    expect(process.send(server, "stop") == true, "a send is allowed")
    return "ok"
end

-- Waits in a call until it is terminated or cancelled.
function modes.wait(target)
    return process.call(target, "t", nil, "1h")
end

-- Calls a process that receives with a raw listener (payloads only): it cannot answer, the call times out.
function modes.raw()
    local raw = process.spawn("app:raw", "app:procs")
    local k = kind(process.call(raw, "job", 1, "50ms"))
    expect(k == "TIMEOUT", "a raw listener cannot reply: " .. k)
    return "ok"
end

local function main(mode, ...)
    return modes[mode](...)
end

return { main = main }
"#;

const SERVER: &str = r#"
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local topic = msg:topic()
        if topic == "add" then
            local p = msg:payload()
            local first = msg:reply(p[1] + p[2])
            local second = msg:reply(99)
            local via_process = process.reply(msg:reply_to(), 100)
            process.send(process.pid(), "plain", 0)
            local plain = inbox:receive()
            local _, err = plain:reply(1)
            process.send(msg:from(), "report", {
                first = first, second = second, via_process = via_process,
                plain_reply_to = plain:reply_to(), plain_reply = err and err:kind(),
            })
        elseif topic == "echo" then
            process.reply(msg:reply_to(), msg:payload())
        elseif topic == "nothing" then
            msg:reply()
        elseif topic == "stop" then
            return "stopped"
        end
    end
end

return { main = main }
"#;

const SLOW: &str = r#"
local function main()
    local inbox = process.inbox()
    local first = inbox:receive()
    local go = inbox:receive()
    process.send(go:from(), "report", first:reply("late"))
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then return "stopped" end
        msg:reply(msg:topic())
    end
end

return { main = main }
"#;

const ENDER: &str = r#"
local function main()
    process.inbox():receive()
    error("ended without a reply")
end

return { main = main }
"#;

const BIG: &str = r#"
local function main()
    local msg = process.inbox():receive()
    local _, huge = msg:reply(string.rep("x", 2 * 1024 * 1024))
    local _, func = msg:reply(function() end)
    local small = msg:reply("small")
    process.send(msg:from(), "report", { huge = huge and huge:kind(), func = func and func:kind(), small = small })
    return "done"
end

return { main = main }
"#;

const SINK: &str = r#"
local function main()
    local inbox = process.inbox()
    local held = 0
    while true do
        local msg = inbox:receive()
        if msg:topic() == "reply-all" then return held end
        held = held + 1
    end
end

return { main = main }
"#;

const SILENT: &str = r#"
local function main()
    local inbox = process.inbox()
    local call = inbox:receive()
    local go = inbox:receive()
    return call:reply("too late")
end

return { main = main }
"#;

const RAW: &str = r#"
local function main()
    local jobs = process.listen("job")
    jobs:receive()
    -- took the payload; it cannot answer, and stays
    process.inbox():receive()
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: caller
    kind: process.lua
    source: file://caller.lua
    modules: [time]
  - name: server
    kind: process.lua
    source: file://server.lua
  - name: slow
    kind: process.lua
    source: file://slow.lua
  - name: ender
    kind: process.lua
    source: file://ender.lua
  - name: big
    kind: process.lua
    source: file://big.lua
  - name: sink
    kind: process.lua
    source: file://sink.lua
  - name: silent
    kind: process.lua
    source: file://silent.lua
  - name: raw
    kind: process.lua
    source: file://raw.lua
"#;

const FILES: [(&str, &str); 8] = [
    ("caller.lua", CALLER),
    ("server.lua", SERVER),
    ("slow.lua", SLOW),
    ("ender.lua", ENDER),
    ("big.lua", BIG),
    ("sink.lua", SINK),
    ("silent.lua", SILENT),
    ("raw.lua", RAW),
];

fn node(name: &str) -> Runtime {
    support::node(&format!("call-{name}"), MANIFEST, &FILES, None)
}

fn tester() -> Option<Arc<Actor>> {
    Some(Arc::new(Actor::new("user:tester")))
}

fn root(mode: &str, args: Vec<Value>) -> RootSpec {
    let mut all = vec![Value::str(mode)];
    all.extend(args);
    RootSpec { entry: "app:caller".into(), host: "app:procs".into(), args: all, actor: tester(), scopes: Vec::new() }
}

async fn run(runtime: &Runtime, mode: &str, args: Vec<Value>) -> Exit {
    let (_, exit) = runtime.start_root(root(mode, args)).unwrap();
    exit.await.unwrap()
}

fn text(value: &Value) -> String {
    match value {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        other => format!("{other:?}"),
    }
}

/// Lets the scheduler run until `done` holds (the paused clock does not move while this loop keeps the
/// runtime busy).
async fn until(mut done: impl FnMut() -> bool, what: &str) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    assert!(done(), "{what}");
}

#[tokio::test(start_paused = true)]
async fn a_call_gets_its_reply_once_and_a_second_reply_is_false() {
    let runtime = node("reply");
    let exit = run(&runtime, "reply", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(runtime.pending_calls(), 0);
    assert_eq!(runtime.dropped_replies(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_late_reply_is_dropped_counted_and_never_seen_by_a_later_call() {
    let runtime = node("late");
    let exit = run(&runtime, "late", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(runtime.dropped_replies(), 1, "the late reply was counted");
    assert_eq!(runtime.pending_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_target_that_exits_before_it_replies_is_unavailable_naming_its_exit() {
    let runtime = node("exits");
    let exit = run(&runtime, "exits", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(runtime.pending_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn bad_calls_and_garbage_references_are_errors_not_panics() {
    let runtime = node("args");
    let exit = run(&runtime, "args", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(runtime.pending_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_huge_reply_is_limit_exceeded_and_a_smaller_one_still_answers() {
    let runtime = node("huge");
    let exit = run(&runtime, "huge", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(runtime.pending_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_raw_listener_gets_the_payload_and_the_call_times_out() {
    let runtime = node("raw");
    let exit = run(&runtime, "raw", vec![]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_unanswered_calls_stay_bounded_and_leave_nothing_pending() {
    let runtime = node("flood");
    let (pid, exit) = runtime.start_root(root("flood", vec![Value::Num(100_000.0)])).unwrap();
    // While it runs, one call at most is pending: the caller waits in each.
    until(|| runtime.pending_calls_of(&pid) == 1, "the caller waits in a call").await;
    assert!(runtime.pending_calls() <= 1);
    let exit = exit.await.unwrap();
    let Ok(sink) = exit.result else { panic!("the flood ends normally: {exit:?}") };
    assert_eq!(runtime.pending_calls(), 0, "every timed-out call left the table");
    // The sink took every call's message and still holds them; its replies would all be dropped.
    let sink = text(&sink);
    let caller = Caller { pid: None, entry: None, actor: tester(), scopes: Arc::from(Vec::new()) };
    drop(runtime.start_call_as(&caller, &sink, "reply-all", vec![]).unwrap());
    until(|| runtime.live() == 0, "the sink returns").await;
    assert_eq!(runtime.pending_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_dies_waiting_leaves_nothing_pending_and_the_reply_is_dropped() {
    let runtime = node("dies");
    let caller = Caller { pid: None, entry: None, actor: tester(), scopes: Arc::from(Vec::new()) };
    let (silent, silent_exit) = runtime
        .start_root(RootSpec {
            entry: "app:silent".into(),
            host: "app:procs".into(),
            args: vec![],
            actor: tester(),
            scopes: vec![],
        })
        .unwrap();
    let (waiter, waiter_exit) = runtime.start_root(root("wait", vec![Value::str(&silent.to_string())])).unwrap();
    until(|| runtime.pending_calls_of(&waiter) == 1, "the caller waits").await;
    // Terminated while it waits.
    let killed = run(&runtime, "kill", vec![Value::str(&waiter.to_string())]).await;
    assert_eq!(killed.result, Ok(Value::Bool(true)), "{killed:?}");
    let exit = waiter_exit.await.unwrap();
    assert_eq!(exit.result, Err("terminated".into()), "{exit:?}");
    until(|| runtime.pending_calls_of(&waiter) == 0, "the dead caller's call is gone").await;
    // The silent process replies now: true for it, dropped at the caller.
    drop(runtime.start_call_as(&caller, &silent.to_string(), "go", vec![]).unwrap());
    let exit = silent_exit.await.unwrap();
    assert_eq!(exit.result, Ok(Value::Bool(true)), "a reply after the caller died returns true: {exit:?}");
    assert_eq!(runtime.dropped_replies(), 1);
    until(|| runtime.live() == 0 && runtime.pending_calls() == 0, "nothing is left").await;
}

#[tokio::test(start_paused = true)]
async fn a_node_caller_holds_at_most_its_bound_of_pending_calls() {
    let runtime = node("bound");
    let (sink, _) = runtime
        .start_root(RootSpec {
            entry: "app:sink".into(),
            host: "app:procs".into(),
            args: vec![],
            actor: tester(),
            scopes: vec![],
        })
        .unwrap();
    let caller = Caller { pid: None, entry: None, actor: tester(), scopes: Arc::from(Vec::new()) };
    let dest = sink.to_string();
    let mut pending = Vec::new();
    let mut refused = None;
    for _ in 0..MAX_PENDING_NODE_CALLS + 1 {
        match runtime.start_call_as(&caller, &dest, "t", vec![]) {
            Ok(call) => pending.push(call),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
        // The sink takes each message, so the mailbox bound is not what refuses.
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("the bound refuses a call");
    assert_eq!(refused.kind(), ErrorKind::LimitExceeded, "{refused}");
    assert!(refused.to_string().contains("calls pending"), "the pending-call bound refuses: {refused}");
    assert_eq!(pending.len(), MAX_PENDING_NODE_CALLS);
    assert_eq!(runtime.pending_calls(), pending.len());
    drop(pending);
    assert_eq!(runtime.pending_calls(), 0, "dropped calls leave the table");
    let timed = runtime.start_call_as(&caller, &dest, "t", vec![]).unwrap();
    let err = timed.wait(Duration::from_millis(10)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(runtime.pending_calls(), 0);
    runtime.shutdown().await;
}

/// A node over `policies` and `schema` (the built-in one when `None`), recording into a memory audit.
fn node_with(name: &str, policies: &str, schema: Option<String>) -> (Runtime, Arc<MemoryAudit>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("call-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("_index.yaml"), MANIFEST).unwrap();
    for (file, text) in FILES {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let app = Arc::new(App::load(&dir).unwrap());
    let mut files = vec![("p.cedar".to_string(), policies.to_string())];
    files.extend(schema.map(|text| ("schema.cedarschema".to_string(), text)));
    let set = PolicySet::from_files(&files).unwrap();
    let audit = Arc::new(MemoryAudit::new());
    let runtime = Runtime::new(Config {
        node: name.into(),
        app,
        gate: Gate::new(set, audit.clone()),
        launcher: Arc::new(Sandbox::new(false)),
    });
    (runtime, audit)
}

#[tokio::test(start_paused = true)]
async fn a_call_needs_process_call_besides_process_send_and_a_reply_is_recorded() {
    let everything_but_call = r#"
        @id("all") permit (principal, action, resource);
        @id("no.call") forbid (principal, action == Action::"process.call", resource)
            when { context has topic && context.topic == "secret" };
    "#;
    let (runtime, audit) = node_with("denied", everything_but_call, None);
    let (server, _) = runtime
        .start_root(RootSpec {
            entry: "app:server".into(),
            host: "app:procs".into(),
            args: vec![],
            actor: tester(),
            scopes: vec![],
        })
        .unwrap();
    let caller = Caller { pid: None, entry: None, actor: tester(), scopes: Arc::from(Vec::new()) };
    let err = runtime.start_call_as(&caller, &server.to_string(), "secret", vec![]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("process.call"), "the denial names process.call: {err}");
    let records = audit.records();
    let field = |r: &serde_json::Map<String, serde_json::Value>, key: &str| r.get(key).cloned().unwrap_or_default();
    let denied: Vec<_> = records.iter().filter(|r| field(r, "decision") == "deny").collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(field(denied[0], "action"), "process.call");
    assert!(
        records.iter().any(|r| field(r, "action") == "process.send"
            && field(r, "decision") == "allow"
            && field(r, "op") == field(denied[0], "op")),
        "process.send was decided first, in the same op"
    );
    // On another topic the call is allowed, answered and the reply recorded.
    let answer = runtime
        .start_call_as(&caller, &server.to_string(), "echo", vec![Value::str("hi")])
        .unwrap()
        .wait(Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(answer, Value::str("hi"));
    let records = audit.records();
    let reply = records.iter().find(|r| field(r, "kind") == "proc.reply").expect("a proc.reply record");
    assert_eq!(reply["pid"], server.to_string());
    assert!(reply["caller"].is_null(), "a call from the node has no caller pid");
    assert_eq!(reply["delivered"], true);
    assert!(reply["op"].as_u64().is_some());
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_caller_blocked_in_a_call_is_still_cancelled_at_its_deadline() {
    let runtime = node("cancel");
    let (silent, _) = runtime
        .start_root(RootSpec {
            entry: "app:silent".into(),
            host: "app:procs".into(),
            args: vec![],
            actor: tester(),
            scopes: vec![],
        })
        .unwrap();
    let (waiter, waiter_exit) = runtime.start_root(root("wait", vec![Value::str(&silent.to_string())])).unwrap();
    until(|| runtime.pending_calls_of(&waiter) == 1, "the caller waits").await;
    let started = tokio::time::Instant::now();
    let cancelled = run(&runtime, "cancel", vec![Value::str(&waiter.to_string())]).await;
    assert_eq!(cancelled.result, Ok(Value::Bool(true)), "{cancelled:?}");
    let exit = waiter_exit.await.unwrap();
    assert_eq!(exit.reason, corral_core::ExitReason::Cancelled, "{exit:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "the deadline, not the call's hour, ended it");
    assert_eq!(runtime.pending_calls_of(&waiter), 0);
    assert_eq!(runtime.pending_calls(), 0);
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn under_an_older_schema_without_process_call_a_call_is_a_plain_deny() {
    // The built-in schema as apps wrote it before `process.call` existed.
    let old = include_str!("../../policies/schema.cedarschema").replace(", \"process.call\"", "");
    assert!(!old.contains("\"process.call\""));
    let (runtime, audit) = node_with("old-schema", "@id(\"all\") permit (principal, action, resource);", Some(old));
    let (server, server_exit) = runtime
        .start_root(RootSpec {
            entry: "app:server".into(),
            host: "app:procs".into(),
            args: vec![],
            actor: tester(),
            scopes: vec![],
        })
        .unwrap();
    let exit = run(&runtime, "denied", vec![Value::str(&server.to_string())]).await;
    assert_eq!(exit.result, Ok(Value::str("ok")), "{exit:?}");
    assert_eq!(server_exit.await.unwrap().result, Ok(Value::str("stopped")), "the send after the denied call");
    let records = audit.records();
    let call = records
        .iter()
        .find(|r| r.get("action").and_then(|a| a.as_str()) == Some("process.call"))
        .expect("the call's decision is recorded");
    assert_eq!(call.get("decision").and_then(|d| d.as_str()), Some("deny"));
    assert_eq!(
        call.get("basis").and_then(|d| d.as_str()),
        Some("default_deny"),
        "a plain deny, not an error: {call:?}"
    );
    assert_eq!(runtime.pending_calls(), 0);
}
