//! Blocking calls inside a script's own coroutines, and the reference dialect's `coroutine.spawn`
//! (`docs/wippy-compat.md`, "coroutine.spawn"; `sandbox/src/block.rs`).
//!
//! A blocking call (`ch:receive()`, `channel.select`, `time.sleep`, ...) made inside a coroutine parks the
//! whole process and hands the answer back to the coroutine; the coroutine's caller sees only what the
//! coroutine itself yields, never the runtime's marker. In compat mode `coroutine.spawn(f)` runs `f` as
//! another root of the process, concurrently with its main code, with process calls working there.
//! Tokio's paused clock: no test waits on real time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use corral_core::Runtime;
use corral_core::runtime::RootSpec;
use corral_core::value::Value;
use corral_policy::Actor;
use corral_sandbox::Sandbox;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: tight
    kind: process.host
    memory_limit: 2MiB
    compute_limit: 5000000
  - name: roomy
    kind: process.host
    compute_limit: 200000000
  - name: main
    kind: process.lua
    source: file://main.lua
    modules: [time]
  - name: pinger
    kind: process.lua
    source: file://pinger.lua
"#;

const PINGER: &str = r#"
local function main(parent)
    process.send(parent, "ping", "awake")
end
return { main = main }
"#;

const MAIN: &str = r#"
local time = require("time")
local modes = {}

local function expect(cond, what)
    if not cond then error("assertion failed: " .. what, 2) end
end

-- Own dialect: blocking calls inside coroutine.create / wrap park the process, not the caller.
function modes.own()
    local tick = time.after("5ms")
    local co = coroutine.create(function(a)
        local _, ok = tick:receive()
        expect(ok == true, "the timer fired inside the coroutine")
        local b = coroutine.yield("first", a)
        time.sleep("1ms")
        return "done", b
    end)
    local ok, x, y = coroutine.resume(co, 7)
    expect(ok and x == "first" and y == 7, "the coroutine's own yield reaches its caller: " .. tostring(x))
    expect(coroutine.status(co) == "suspended", "suspended at its own yield")
    ok, x, y = coroutine.resume(co, 8)
    expect(ok and x == "done" and y == 8, "the second resume returns what the coroutine returned")
    expect(coroutine.status(co) == "dead", "dead after returning")
    -- wrap: values through, and an error after a wait reaches the caller
    local w = coroutine.wrap(function() time.sleep("1ms"); error("boom", 0) end)
    local okw, err = pcall(w)
    expect(not okw and tostring(err):find("boom", 1, true), "the error after a wait: " .. tostring(err))
    -- a buffered channel between the process and a coroutine
    local ch = channel.new(1)
    local producer = coroutine.wrap(function() for i = 1, 3 do ch:send(i); coroutine.yield() end end)
    for i = 1, 3 do
        producer()
        expect(ch:receive() == i, "received " .. i)
    end
    -- select and a nested coroutine: the wait passes through both levels
    local later = time.after("2ms")
    local outer = coroutine.wrap(function()
        local inner = coroutine.wrap(function()
            local r = channel.select{ later:case_receive() }
            return r.ok
        end)
        return inner()
    end)
    expect(outer() == true, "a select two coroutines deep")
    expect(coroutine.spawn == nil, "no coroutine.spawn in Corral's own dialect")
    return "ok"
end

-- Compat: the reference's ping-pong over unbuffered channels with a spawned coroutine.
function modes.pingpong()
    local ping, pong, done = channel.new(0), channel.new(0), channel.new(1)
    coroutine.spawn(function()
        for i = 1, 5 do
            ping:receive()
            pong:send("pong" .. i)
        end
        done:send(true)
    end)
    for i = 1, 5 do
        ping:send("ping")
        local got = pong:receive()
        expect(got == "pong" .. i, "round " .. i .. ": " .. tostring(got))
    end
    expect(done:receive() == true, "the spawned coroutine finished")
    return "ok"
end

-- Compat: spawn returns at once; process calls work inside spawned and plain coroutines.
function modes.calls()
    local order = {}
    local me = process.pid()
    local inbox = process.listen("from_spawn")
    local finished = channel.new(1)
    coroutine.spawn(function()
        table.insert(order, "spawned")
        time.sleep("1ms")
        expect(process.pid() == me, "process.pid() in a spawned coroutine")
        process.send(me, "from_spawn", 42)
        finished:send(true)
    end)
    table.insert(order, "main")
    expect(inbox:receive() == 42, "the message a spawned coroutine sent")
    expect(finished:receive() == true, "done")
    expect(order[1] == "main" and order[2] == "spawned", "main ran on first: " .. table.concat(order, ","))
    local pid = coroutine.wrap(function() return process.pid() end)()
    expect(pid == me, "process.pid() in a plain coroutine (compat)")
    return "ok"
end

-- Compat: an error a spawned coroutine does not catch ends the process.
function modes.fails()
    coroutine.spawn(function()
        time.sleep("1ms")
        error("the worker broke", 0)
    end)
    process.inbox():receive()
    return "not reached"
end

-- Compat: the process ends when its main code returns, whatever its spawned coroutines wait for.
function modes.main_returns()
    for _ = 1, 10 do
        coroutine.spawn(function() process.inbox():receive() end)
    end
    time.sleep("1ms")
    return "main done"
end

-- Compat, hostile: spawning without end is bounded by the process's memory limit.
function modes.flood()
    local n = 0
    while true do
        coroutine.spawn(function() process.inbox():receive() end)
        n = n + 1
    end
end

-- Compat, hostile: a busy spawned coroutine is preempted and bounded by the compute limit.
function modes.busy()
    coroutine.spawn(function() while true do end end)
    process.inbox():receive()
end

-- Compat: a coroutine that never stops computing does not starve main, parked on a message that arrives.
function modes.starve()
    coroutine.spawn(function() local n = 0 while true do n = n + 1 end end)
    local pings = process.listen("ping")
    process.spawn("app:pinger", "app:roomy", process.pid())
    local v = pings:receive()
    return v
end

-- Compat: a non-function argument is a clear error.
function modes.bad_argument()
    local ok, err = pcall(coroutine.spawn, 42)
    expect(not ok and tostring(err):find("takes a function", 1, true), "the error names the argument: " .. tostring(err))
    return "ok"
end

return { main = function(mode) return modes[mode]() end }
"#;

fn node(name: &str, wippy: bool) -> Runtime {
    support::node(
        &format!("coroutines-{name}"),
        MANIFEST,
        &[("main.lua", MAIN), ("pinger.lua", PINGER)],
        Some(Arc::new(Sandbox::new(wippy))),
    )
}

async fn run(mode: &str, wippy: bool, host: &str) -> corral_core::Exit {
    let runtime = node(mode, wippy);
    let spec = RootSpec {
        entry: "app:main".into(),
        host: host.into(),
        args: vec![Value::str(mode)],
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

fn ok_text(exit: &corral_core::Exit) -> String {
    exit.result.as_ref().map(text).unwrap_or_else(|e| format!("error: {e}"))
}

#[tokio::test(start_paused = true)]
async fn blocking_calls_inside_a_scripts_coroutines_park_the_process_and_never_leak_the_marker() {
    let exit = run("own", false, "app:procs").await;
    assert_eq!(ok_text(&exit), "ok");
}

#[tokio::test(start_paused = true)]
async fn a_spawned_coroutine_plays_ping_pong_with_main_over_unbuffered_channels() {
    let exit = run("pingpong", true, "app:procs").await;
    assert_eq!(ok_text(&exit), "ok");
}

#[tokio::test(start_paused = true)]
async fn spawn_returns_at_once_and_process_calls_work_in_coroutines_in_compat_mode() {
    let exit = run("calls", true, "app:procs").await;
    assert_eq!(ok_text(&exit), "ok");
}

#[tokio::test(start_paused = true)]
async fn an_uncaught_error_in_a_spawned_coroutine_ends_the_process_naming_it() {
    let exit = run("fails", true, "app:procs").await;
    let error = exit.result.clone().unwrap_err();
    assert!(error.contains("a spawned coroutine failed") && error.contains("the worker broke"), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn the_process_ends_when_main_returns_whatever_its_coroutines_wait_for() {
    let exit = run("main_returns", true, "app:procs").await;
    assert_eq!(ok_text(&exit), "main done");
}

#[tokio::test(start_paused = true)]
async fn spawning_without_end_is_stopped_by_the_memory_limit() {
    let exit = run("flood", true, "app:tight").await;
    let error = exit.result.clone().unwrap_err();
    assert!(error.starts_with("limit.memory:"), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn a_busy_spawned_coroutine_is_bounded_by_the_compute_limit() {
    let exit = run("busy", true, "app:tight").await;
    let error = exit.result.clone().unwrap_err();
    assert!(error.starts_with("limit.compute:"), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn a_busy_spawned_coroutine_does_not_starve_a_parked_main() {
    let exit = run("starve", true, "app:roomy").await;
    assert_eq!(ok_text(&exit), "awake", "main woke for its message before the compute limit");
}

#[tokio::test(start_paused = true)]
async fn spawn_with_a_non_function_is_a_clear_error() {
    let exit = run("bad_argument", true, "app:procs").await;
    assert_eq!(ok_text(&exit), "ok");
}
