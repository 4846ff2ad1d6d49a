//! The `supervisor` module on tokio's paused clock: restart intensity counts restarts within a sliding
//! period (a child that crashes slower than the intensity allows is restarted for ever, a faster one ends the
//! supervisor naming the intensity), and a child that ignores its CANCEL is terminated at its `shutdown`
//! deadline (`models.md`, "supervisor").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use corral_core::Runtime;
use corral_core::runtime::RootSpec;
use corral_core::value::Value;
use corral_policy::Actor;

/// The test's driver: starts a supervisor of one child (mode `mode`, crashing every `every`), waits `wait`,
/// and reports how many times the child started and how the supervisor ended (or that it still runs).
const DRIVER: &str = r#"
local time = require("time")
local supervisor = require("supervisor")

local function main(mode, every, wait, intensity, period, shutdown)
    local started = process.listen("started")
    local sup = process.spawn_monitored("app:sup", "app:procs", {
        intensity = intensity, period = period,
        children = { { id = "crasher", entry = "app:child", args = { process.pid(), every }, shutdown = shutdown } },
    })
    local events = process.events()
    local deadline = time.after(wait)
    local starts, ended = 0, nil
    while ended == nil do
        local r = channel.select({ started:case_receive(), events:case_receive(), deadline:case_receive() })
        if r.channel == started then
            starts = starts + 1
        elseif r.channel == events then
            ended = r.value.error or "normal"
        else
            break
        end
    end
    local listed = nil
    if ended == nil then
        listed = #assert(supervisor.which_children(sup))
        if mode == "stop" then
            process.cancel(sup, "5m")
            ended = events:receive().error or "normal"
        end
    end
    return { starts = starts, ended = ended, listed = listed }
end

return { main = main }
"#;

const SUP: &str = r#"
local supervisor = require("supervisor")
return supervisor.start(function(spec) return spec end)
"#;

/// Reports its start, then crashes after `every` (or, for "never", ignores every CANCEL).
const CHILD: &str = r#"
local time = require("time")

local function main(watcher, every)
    process.send(watcher, "started", true)
    if every == "never" then
        while true do
            process.events():receive()
        end
    end
    time.sleep(every)
    error("crashed after " .. every)
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: driver
    kind: process.lua
    source: file://driver.lua
    modules: [time, supervisor]
  - name: sup
    kind: process.lua
    source: file://sup.lua
    modules: [supervisor]
  - name: child
    kind: process.lua
    source: file://child.lua
    modules: [time]
"#;

fn node(name: &str) -> Runtime {
    support::node(
        &format!("supervisor-{name}"),
        MANIFEST,
        &[("driver.lua", DRIVER), ("sup.lua", SUP), ("child.lua", CHILD)],
        None,
    )
}

fn field(value: &Value, key: &str) -> Value {
    let Value::Table(t) = value else { panic!("not a table: {value:?}") };
    t.map.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone()).unwrap_or(Value::Nil)
}

fn text(value: Value) -> String {
    match value {
        Value::Str(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("not a string: {other:?}"),
    }
}

async fn drive(runtime: &Runtime, args: &[Value]) -> Value {
    let mut all = vec![];
    all.extend_from_slice(args);
    let root = RootSpec {
        entry: "app:driver".into(),
        host: "app:procs".into(),
        args: all,
        actor: Some(Arc::new(Actor::new("user:tester"))),
        scopes: Vec::new(),
    };
    let (_, exit) = runtime.start_root(root).unwrap();
    let exit = exit.await.unwrap();
    exit.result.unwrap_or_else(|e| panic!("the driver failed: {e:?}"))
}

#[tokio::test(start_paused = true)]
async fn a_child_crashing_slower_than_the_intensity_allows_is_restarted_for_ever() {
    let runtime = node("slow");
    let began = tokio::time::Instant::now();
    // Intensity 1 in 5s, a crash every 6s: no window ever holds two restarts.
    let args = [Value::str("stop"), Value::str("6s"), Value::str("61s"), Value::Num(1.0), Value::str("5s")];
    let out = drive(&runtime, &args).await;
    assert!(began.elapsed() >= Duration::from_secs(61), "the paused clock ran: {:?}", began.elapsed());
    assert_eq!(field(&out, "starts"), Value::Num(11.0), "started at 0s, 6s, ..., 60s: {out:?}");
    assert_eq!(field(&out, "listed"), Value::Num(1.0), "the supervisor still answers");
    assert_eq!(text(field(&out, "ended")), "normal", "cancelled, it stopped normally");
}

#[tokio::test(start_paused = true)]
async fn a_child_crashing_faster_than_the_intensity_allows_ends_the_supervisor_naming_it() {
    let runtime = node("fast");
    let began = tokio::time::Instant::now();
    // Intensity 1 in 5s, a crash every 2s: the restart at 2s is allowed, the one at 4s is the second in 5s.
    let args = [Value::str("watch"), Value::str("2s"), Value::str("1m"), Value::Num(1.0), Value::str("5s")];
    let out = drive(&runtime, &args).await;
    let ended = text(field(&out, "ended"));
    assert!(ended.contains("restart intensity 1 in 5s exceeded by child `crasher`"), "{ended}");
    assert!(ended.contains("crashed after 2s"), "the child's last error: {ended}");
    assert_eq!(field(&out, "starts"), Value::Num(2.0), "{out:?}");
    let took = began.elapsed();
    assert!(took >= Duration::from_secs(4) && took < Duration::from_secs(5), "ended at the third crash: {took:?}");
    assert_eq!(runtime.live(), 0, "nothing outlives the supervisor");
}

#[tokio::test(start_paused = true)]
async fn a_child_that_ignores_its_cancel_is_terminated_at_its_shutdown_deadline() {
    let runtime = node("deadline");
    let began = tokio::time::Instant::now();
    let args = [
        Value::str("stop"),
        Value::str("never"),
        Value::str("1s"),
        Value::Num(1.0),
        Value::str("5s"),
        Value::str("30s"),
    ];
    let out = drive(&runtime, &args).await;
    assert_eq!(text(field(&out, "ended")), "normal", "{out:?}");
    let took = began.elapsed();
    assert!(took >= Duration::from_secs(31), "the supervisor waited for the 30s deadline: {took:?}");
    assert!(took < Duration::from_secs(40), "and no longer: {took:?}");
    assert_eq!(runtime.live(), 0);
}
