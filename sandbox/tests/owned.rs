//! Nothing a process starts outlives it (`docs/security.md`, "Boundary classes", 4): its timers, tickers and
//! pending cancel deadline are tasks it owns, aborted when it exits; repeated cancels of one target hold one
//! deadline task. Tokio's paused clock: no test here waits on real time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use corral_core::pid::Pid;
use corral_core::runtime::RootSpec;
use corral_core::value::Value;
use corral_core::{Exit, Runtime};
use corral_policy::Actor;

const OWNER: &str = r#"
local time = require("time")

local function main(mode)
    if mode == "timers" then
        local ticker = time.ticker("1ms")
        for _ = 1, 1000 do time.after("1h") end
        time.sleep("20ms")
        return "done"
    elseif mode == "cancels" then
        local child = process.spawn("app:idle", "app:procs")
        for _ = 1, 100000 do assert(process.cancel(child, "1h")) end
        assert(process.cancel(child, "2h"))
        return child
    elseif mode == "stop" then
        local ticker = time.ticker("1ms")
        ticker:stop()
        return "stopped"
    end
end

return { main = main }
"#;

const IDLE: &str = r#"
local function main()
    process.inbox():receive()
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: owner
    kind: process.lua
    source: file://owner.lua
    modules: [time]
  - name: idle
    kind: process.lua
    source: file://idle.lua
"#;

fn node(name: &str) -> Runtime {
    support::node(&format!("owned-{name}"), MANIFEST, &[("owner.lua", OWNER), ("idle.lua", IDLE)], None)
}

fn root(mode: &str) -> RootSpec {
    RootSpec {
        entry: "app:owner".into(),
        host: "app:procs".into(),
        args: vec![Value::str(mode)],
        actor: Some(Arc::new(Actor::new("user:owner"))),
        scopes: Vec::new(),
    }
}

/// Lets the scheduler run until `done` holds (at most `turns` turns; the paused clock does not move while
/// this loop keeps the runtime busy).
async fn until(mut done: impl FnMut() -> bool, turns: usize, what: &str) {
    for _ in 0..turns {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    assert!(done(), "{what}");
}

#[tokio::test(start_paused = true)]
async fn a_process_timers_and_ticker_stop_when_it_exits() {
    let runtime = node("timers");
    let (pid, exit) = runtime.start_root(root("timers")).unwrap();
    until(|| runtime.owned_tasks_of(&pid) == Some(1001), 100_000, "the process holds its ticker and 1000 timers").await;
    assert_eq!(runtime.owned_tasks(), 1001);
    let exit: Exit = exit.await.unwrap();
    assert_eq!(exit.result, Ok(Value::str("done")));
    assert_eq!(runtime.owned_tasks_of(&pid), None, "the process is gone");
    until(|| runtime.owned_tasks() == 0, 1000, "no task of the process remains").await;
}

#[tokio::test(start_paused = true)]
async fn a_stopped_ticker_is_no_longer_owned() {
    let runtime = node("stop");
    let (pid, exit) = runtime.start_root(root("stop")).unwrap();
    assert_eq!(exit.await.unwrap().result, Ok(Value::str("stopped")));
    assert_eq!(runtime.owned_tasks_of(&pid), None);
    until(|| runtime.owned_tasks() == 0, 1000, "the stopped ticker's task is gone").await;
}

#[tokio::test(start_paused = true)]
async fn repeated_cancels_hold_one_deadline_the_earliest() {
    let runtime = node("cancels");
    let (_, exit) = runtime.start_root(root("cancels")).unwrap();
    let exit = exit.await.unwrap();
    let Ok(Value::Str(child)) = exit.result else { panic!("the canceller returns its child: {exit:?}") };
    let child = Pid::parse(std::str::from_utf8(&child).unwrap()).unwrap();
    assert_eq!(
        runtime.owned_tasks_of(&child),
        Some(1),
        "100 001 cancels hold one deadline task (the child still runs)"
    );
    until(|| runtime.owned_tasks() == 1, 1000, "the replaced deadlines are gone").await;
    // the earliest deadline (1h, not the later 2h) ends it; its task is gone with it
    tokio::time::sleep(Duration::from_secs(3600) + Duration::from_millis(1)).await;
    until(|| runtime.owned_tasks_of(&child).is_none(), 1000, "the child was cancelled at the first deadline").await;
    until(|| runtime.owned_tasks() == 0, 1000, "no deadline task remains").await;
}
