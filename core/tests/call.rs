//! Call and reply in core, without Lua (`models.md`, "Call and reply"): a reply counts only from the process
//! called and only once; an exit of the target fails its pending calls with `UNAVAILABLE` naming the exit;
//! an exit of the caller removes its pending calls even when something still holds them. Processes here run
//! a launcher whose code waits until the test ends it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use corral_core::audit::MemoryAudit;
use corral_core::chan::Item;
use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::CallRef;
use corral_core::{ErrorKind, Runtime, Value};

#[path = "support/holding.rs"]
mod holding;
use holding::{Holding, settle};

/// A node whose processes `app:caller`, `app:server` and `app:other` run until ended.
fn node() -> (Runtime, Arc<Holding>, Arc<MemoryAudit>) {
    let entries = [("caller", "process.lua"), ("server", "process.lua"), ("other", "process.lua")];
    holding::node(
        "call",
        &entries,
        "@id(\"all\") permit (principal, action, resource);\n",
        &["app:caller", "app:server", "app:other"],
    )
}

/// The reply reference of the next message in `process`'s inbox.
fn next_call(process: &Process) -> Arc<CallRef> {
    match process.mailbox().inbox().try_recv() {
        Some(Some(Item::Message(message))) => message.reply_to.clone().expect("a call carries its reference"),
        other => {
            panic!("expected a call in the inbox, got {}", if other.is_some() { "something else" } else { "nothing" })
        }
    }
}

#[tokio::test(start_paused = true)]
async fn only_the_called_process_answers_and_only_once() {
    let (runtime, holding, audit) = node();
    settle().await;
    let (caller, server, other) =
        (holding.process("app:caller"), holding.process("app:server"), holding.process("app:other"));
    let pending = runtime.start_call(&caller, &server.pid().to_string(), "q", vec![Value::Num(1.0)]).unwrap();
    let reference = next_call(&server);
    assert_eq!(reference.caller(), Some(caller.pid()));
    assert_eq!(reference.target(), server.pid());
    assert!(
        !runtime.reply(&other, &reference, Value::str("forged")).unwrap(),
        "another process's reply counts for nothing"
    );
    assert!(!runtime.reply(&caller, &reference, Value::str("forged")).unwrap(), "nor the caller's own");
    assert!(runtime.reply(&server, &reference, Value::str("answer")).unwrap(), "the target's first reply");
    assert!(!runtime.reply(&server, &reference, Value::str("again")).unwrap(), "a second reply");
    assert!(reference.is_answered());
    assert_eq!(pending.wait(Duration::from_secs(1)).await.unwrap(), Value::str("answer"));
    assert_eq!(runtime.pending_calls(), 0);
    let replies: Vec<_> = audit.records().into_iter().filter(|r| r["kind"] == "proc.reply").collect();
    assert_eq!(replies.len(), 1, "one record per counted reply");
    assert_eq!(replies[0]["delivered"], true);
    assert_eq!(replies[0]["caller"], caller.pid().to_string());
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_target_that_exits_fails_its_pending_calls_naming_its_exit() {
    let (runtime, holding, _) = node();
    settle().await;
    let (caller, server) = (holding.process("app:caller"), holding.process("app:server"));
    let pending = runtime.start_call(&caller, &server.pid().to_string(), "q", vec![]).unwrap();
    let reference = next_call(&server);
    holding.end("app:server", Exit::abnormal(ExitReason::Error, "crashed on purpose"));
    let err = pending.wait(Duration::from_secs(3600)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let text = err.to_string();
    assert!(text.contains(&server.pid().to_string()) && text.contains("error: crashed on purpose"), "{text}");
    assert_eq!(runtime.pending_calls(), 0);
    // A reply through the reference after the exit reaches nobody: true for the replier, dropped and counted.
    assert!(runtime.reply(&server, &reference, Value::Nil).unwrap(), "its first reply still returns true");
    assert_eq!(runtime.dropped_replies(), 1, "and is dropped and counted");
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_exits_leaves_no_pending_call_even_when_one_is_still_held() {
    let (runtime, holding, _) = node();
    settle().await;
    let (caller, server) = (holding.process("app:caller"), holding.process("app:server"));
    let held = runtime.start_call(&caller, &server.pid().to_string(), "q", vec![]).unwrap();
    assert_eq!(runtime.pending_calls_of(caller.pid()), 1);
    assert!(caller.account().host_bytes() >= corral_core::runtime::PENDING_CALL_BYTES, "charged to the caller");
    holding.end("app:caller", Exit::normal(Value::Nil));
    settle().await;
    assert_eq!(runtime.pending_calls(), 0, "the exit removed the call");
    let err = held.wait(Duration::from_secs(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // Nothing reaches a later call: the server's reply to the dead caller is dropped.
    let reference = next_call(&server);
    assert!(runtime.reply(&server, &reference, Value::Num(1.0)).unwrap());
    assert_eq!(runtime.dropped_replies(), 1);
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_call_leaves_the_table_and_its_late_reply_is_dropped() {
    let (runtime, holding, _) = node();
    settle().await;
    let (caller, server) = (holding.process("app:caller"), holding.process("app:server"));
    let first = runtime.start_call(&caller, &server.pid().to_string(), "q", vec![]).unwrap();
    let err = first.wait(Duration::from_millis(10)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(runtime.pending_calls(), 0);
    let second = runtime.start_call(&caller, &server.pid().to_string(), "q", vec![]).unwrap();
    let late = next_call(&server);
    let current = next_call(&server);
    assert!(runtime.reply(&server, &late, Value::str("late")).unwrap());
    assert!(runtime.reply(&server, &current, Value::str("current")).unwrap());
    assert_eq!(second.wait(Duration::from_secs(1)).await.unwrap(), Value::str("current"), "never the late one");
    assert_eq!(runtime.dropped_replies(), 1);
    let err = runtime.start_call(&caller, &caller.pid().to_string(), "q", vec![]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "a process cannot call itself: {err}");
    runtime.shutdown().await;
}
