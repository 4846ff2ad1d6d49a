//! The reference dialect's event bus and function calls in core, without Lua: a subscription ends with its
//! process, its queue is bounded (events past it are dropped for it, the sender is never refused), every
//! send and subscribe is decided and recorded, and a function call given up by its caller stops the
//! function. Processes here run a launcher whose code waits until the test ends it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use corral_core::audit::MemoryAudit;
use corral_core::process::{Exit, ExitReason};
use corral_core::runtime::{Delivery, MAX_SUBSCRIPTIONS, SUBSCRIPTION_QUEUE, SpawnSpec};
use corral_core::{ErrorKind, Runtime, Value};

#[path = "support/holding.rs"]
mod holding;
use holding::{Holding, settle};

const POLICY: &str = r#"
@id("all") permit (principal, action, resource);
@id("no.secret") forbid (principal, action == Action::"events.send", resource == EventSystem::"secret");
"#;

/// A node whose processes `app:caller` and `app:listener` run until ended.
fn node() -> (Runtime, Arc<Holding>, Arc<MemoryAudit>) {
    let entries = [("caller", "process.lua"), ("listener", "process.lua"), ("fun", "function.lua")];
    holding::node("events", &entries, POLICY, &["app:caller", "app:listener"])
}

fn decisions(audit: &MemoryAudit, action: &str, decision: &str) -> usize {
    audit
        .records()
        .iter()
        .filter(|r| r["kind"] == "authz.decision" && r["action"] == action && r["decision"] == decision)
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_subscription_ends_with_its_process_and_its_channel_closes() {
    let (runtime, holding, audit) = node();
    settle().await;
    let (caller, listener) = (holding.process("app:caller"), holding.process("app:listener"));
    let sub = runtime.subscribe_events(&listener, "orders.*", None).unwrap();
    let sent = runtime.send_event(&caller, "orders.eu", "created", "/o/1", Value::Num(1.0)).unwrap();
    assert_eq!(sent, Delivery { delivered: 1, dropped: 0 });
    assert_eq!(runtime.send_event(&caller, "orders", "created", "/o/2", Value::Nil).unwrap().delivered, 0);
    holding.end("app:listener", Exit::normal(Value::Nil));
    settle().await;
    assert!(sub.chan().is_closed(), "the exit closed the subscription's channel");
    let after = runtime.send_event(&caller, "orders.eu", "created", "/o/3", Value::Nil).unwrap();
    assert_eq!(after, Delivery::default(), "nobody is subscribed any more");
    assert_eq!(decisions(&audit, "events.subscribe", "allow"), 1);
    assert!(decisions(&audit, "events.send", "allow") >= 1, "sends are decided and recorded");
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_drops_what_does_not_fit_and_the_sender_goes_on() {
    let (runtime, holding, _audit) = node();
    settle().await;
    let (caller, listener) = (holding.process("app:caller"), holding.process("app:listener"));
    let sub = runtime.subscribe_events(&listener, "flood", Some("tick")).unwrap();
    let mut total = Delivery::default();
    for i in 0..SUBSCRIPTION_QUEUE + 100 {
        let d = runtime.send_event(&caller, "flood", "tick", "/t", Value::Num(i as f64)).unwrap();
        total.delivered += d.delivered;
        total.dropped += d.dropped;
    }
    assert_eq!(total, Delivery { delivered: SUBSCRIPTION_QUEUE, dropped: 100 });
    assert_eq!(sub.chan().len(), SUBSCRIPTION_QUEUE);
    // Another kind is filtered out, not dropped.
    assert_eq!(runtime.send_event(&caller, "flood", "tock", "/t", Value::Nil).unwrap(), Delivery::default());
    // Bytes: the queue holds at most the host's max_message_bytes (1 MiB) of event data.
    let listener_held = listener.account().held();
    drop(sub.chan().try_recv());
    let big = Value::Str(vec![b'x'; 400 * 1024].into());
    let sub2 = runtime.subscribe_events(&listener, "blobs", None).unwrap();
    let mut delivered = 0;
    for _ in 0..10 {
        delivered += runtime.send_event(&caller, "blobs", "b", "/b", big.clone()).unwrap().delivered;
    }
    assert_eq!(delivered, 2, "two 400 KiB events fit 1 MiB, the third does not");
    assert!(listener.account().held() > listener_held, "queued events are charged to the subscriber");
    drop(sub2.chan().try_recv());
    drop(sub2.chan().try_recv());
    assert_eq!(runtime.send_event(&caller, "blobs", "b", "/b", big).unwrap().delivered, 1, "room after reading");
}

#[tokio::test(start_paused = true)]
async fn sends_and_subscriptions_are_decided_and_bounded() {
    let (runtime, holding, audit) = node();
    settle().await;
    let caller = holding.process("app:caller");
    let err = runtime.send_event(&caller, "secret", "leak", "/x", Value::Nil).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("events.send"), "{err}");
    assert_eq!(decisions(&audit, "events.send", "deny"), 1, "the denial is recorded");
    for bad in ["", "a*", &"x".repeat(300)] {
        let err = runtime.send_event(&caller, bad, "k", "/p", Value::Nil).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "system {bad:?}");
    }
    assert_eq!(decisions(&audit, "events.send", "allow"), 0, "bad input is refused before any decision");
    let mut subs = Vec::new();
    for i in 0..MAX_SUBSCRIPTIONS {
        subs.push(runtime.subscribe_events(&caller, &format!("s.{i}"), None).unwrap());
    }
    let err = runtime.subscribe_events(&caller, "s.x", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert!(runtime.unsubscribe_events(&caller, &subs[0]));
    assert!(!runtime.unsubscribe_events(&caller, &subs[0]), "once");
    assert!(runtime.subscribe_events(&caller, "s.x", None).is_ok(), "room after unsubscribing");
}

#[tokio::test(start_paused = true)]
async fn a_function_call_given_up_stops_the_function() {
    let (runtime, holding, audit) = node();
    settle().await;
    let caller = holding.process("app:caller");
    let spec = SpawnSpec { entry: "app:fun".into(), args: vec![Value::Num(1.0)], ..SpawnSpec::default() };
    let call = runtime.start_function(&caller, spec).unwrap();
    settle().await;
    let fun = holding.process("app:fun");
    assert_eq!(fun.pid(), call.pid());
    assert_eq!(fun.host().spec.id, "app:procs", "on the caller's host");
    drop(call);
    settle().await;
    let exit =
        audit.records().into_iter().find(|r| r["kind"] == "proc.exit" && r["entry"] == "app:fun").expect("it exited");
    assert_eq!(exit["reason"], "cancelled");
    assert_eq!(decisions(&audit, "funcs.call", "allow"), 1);
    // Not a function: INVALID, decided nothing.
    let spec = SpawnSpec { entry: "app:listener".into(), ..SpawnSpec::default() };
    assert_eq!(runtime.start_function(&caller, spec).unwrap_err().kind(), ErrorKind::Invalid);
    // A call waited for returns the function's exit.
    let spec = SpawnSpec { entry: "app:fun".into(), ..SpawnSpec::default() };
    let call = runtime.start_function(&caller, spec).unwrap();
    settle().await;
    holding.end("app:fun", Exit::normal(Value::Num(7.0)));
    let exit = call.wait(None).await.unwrap();
    assert_eq!(exit.result, Ok(Value::Num(7.0)));
}

#[tokio::test(start_paused = true)]
async fn the_callers_exit_stops_its_functions_even_while_the_call_is_held() {
    let (runtime, holding, audit) = node();
    settle().await;
    let spec = SpawnSpec { entry: "app:fun".into(), ..SpawnSpec::default() };
    let call = runtime.start_function(&holding.process("app:caller"), spec).unwrap();
    settle().await;
    holding.end("app:caller", Exit::normal(Value::Nil));
    settle().await;
    let exit = audit.records().into_iter().find(|r| r["kind"] == "proc.exit" && r["entry"] == "app:fun");
    let exit = exit.expect("the function exited with its caller, though `call` is still held");
    assert_eq!(exit["reason"], "cancelled");
    assert!(exit["error"].as_str().unwrap_or("").contains("caller"), "{exit:?}");
    assert_eq!(call.wait(None).await.unwrap().reason, ExitReason::Cancelled);
}
