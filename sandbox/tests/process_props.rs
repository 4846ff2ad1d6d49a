//! Property tests of every `process` function called from Lua with arguments of wrong types and sizes: nil,
//! booleans, odd numbers (NaN, infinities, negatives, huge), strings that are not PIDs, entries, hosts,
//! durations or topics, 2 MiB strings, functions, channels, coroutines, error objects, cyclic and 300-deep
//! tables. Each call returns a value, returns `nil, err` with an error object of a known kind and a message,
//! or raises one; the calling process never dies of it, and the node keeps serving. Bounded case counts: a
//! few seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use corral_core::runtime::RootSpec;
use corral_core::value::{Table, Value};
use corral_core::{Exit, Runtime};
use corral_policy::Actor;
use corral_sandbox::Sandbox;
use proptest::prelude::*;

/// Decodes the fuzzer's markers into values no message can carry, calls the named function under `pcall`
/// and says how it went: `{ok}`, `{failed = "KIND: message"}` (returned `nil, err`), or `{raised = text}`.
const PROBE: &str = r#"
local function decode(v, fn)
    -- itself, as a live destination (not to terminate: that ends the probe, as it should)
    if v == "@self" then return if fn == "terminate" then "nope" else process.pid() end
    if v == "@fn" then return print end
    if v == "@chan" then return channel.new() end
    if v == "@co" then return coroutine.create(print) end
    if v == "@err" then return errors.new(errors.INVALID, "an error object") end
    if v == "@cycle" then local t = {}; t.t = t; return t end
    if v == "@deep" then local t = {}; for _ = 1, 300 do t = { t } end; return t end
    if v == "@big" then return string.rep("x", 2 * 1024 * 1024) end
    return v
end

-- An error object as `KIND: message` (its kind must be one of `errors`); any other raised value as its text.
local function describe(e)
    local ok, kind = pcall(function() return e:kind() end)
    if ok then
        assert(type(kind) == "string" and errors[kind] == kind, "an error object of a known kind")
        return kind .. ": " .. e:message()
    end
    return tostring(e)
end

local function main(spec)
    if type(spec) ~= "table" or type(spec.fn) ~= "string" then return { restarted = true } end
    local f = process[spec.fn] or process.registry[spec.fn]
    local args = {}
    for i = 1, spec.n do args[i] = decode(spec.args[i], spec.fn) end
    local r = table.pack(pcall(f, table.unpack(args, 1, spec.n)))
    -- (cut: an error may quote a 2 MiB argument, and a return value is bounded like a message)
    if not r[1] then return { raised = string.sub(describe(r[2]), 1, 4096) } end
    if (r[2] == nil or r[2] == false) and r[3] ~= nil then return { failed = string.sub(describe(r[3]), 1, 4096) } end
    return { ok = true }
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
    max_message_depth: 8
  - name: probe
    kind: process.lua
    source: file://probe.lua
"#;

/// Every function of `process` and `process.registry` (`lua-api.md`).
const FUNCTIONS: [&str; 27] = [
    "pid",
    "id",
    "send",
    "call",
    "reply",
    "spawn",
    "spawn_monitored",
    "spawn_linked",
    "spawn_linked_monitored",
    "exec",
    "terminate",
    "cancel",
    "monitor",
    "unmonitor",
    "link",
    "unlink",
    "get_options",
    "set_options",
    "inbox",
    "events",
    "listen",
    "unlisten",
    "upgrade",
    "with_context",
    "register",
    "lookup",
    "unregister",
];

fn argument() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        1 => Just(Value::Nil),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            Just(0.0),
            Just(3.5),
            Just(1e300),
            any::<f64>()
        ]
        .prop_map(Value::Num),
        6 => prop_oneof![
            Just("app:probe"),
            Just("app:procs"),
            Just(""),
            Just("@reserved"),
            Just("topic"),
            Just("{local@1|app:procs|1}"),
            Just("nope:nope"),
            Just("1ms"),
            Just("-5s"),
            Just("trap_links"),
            Just("@fn"),
            Just("@chan"),
            Just("@co"),
            Just("@err"),
            Just("@cycle"),
            Just("@deep"),
            Just("@big"),
            Just("@self"),
            Just("@self"),
            Just("topic"),
        ]
        .prop_map(Value::str),
        1 => "[ -~]{0,300}".prop_map(|s| Value::str(&s)),
    ];
    let table = (
        proptest::collection::vec(scalar.clone(), 0..4),
        proptest::collection::vec((prop_oneof![Just("trap_links"), Just("x"), Just("message")], scalar.clone()), 0..3),
    )
        .prop_map(|(array, map)| {
            let map = map.into_iter().map(|(k, v)| (Value::str(k), v)).collect();
            Value::Table(Arc::new(Table { array, map }))
        });
    prop_oneof![4 => scalar, 1 => table]
}

/// The probe's spawn argument: `{fn = name, n = #args, args = {...}}`.
fn spec(function: &str, args: Vec<Value>) -> Value {
    let map = vec![
        (Value::str("fn"), Value::str(function)),
        (Value::str("n"), Value::Num(args.len() as f64)),
        (Value::str("args"), Value::Table(Arc::new(Table { array: args, map: Vec::new() }))),
    ];
    Value::Table(Arc::new(Table { array: Vec::new(), map }))
}

/// The sandbox, except that a probe of function `panic_in` panics inside its task after its code ran: a host
/// panic injected where a real one would be, to show the property catches it.
struct Injected {
    sandbox: Sandbox,
    panic_in: &'static str,
}

impl corral_core::runtime::Launcher for Injected {
    fn launch(
        &self,
        runtime: &Runtime,
        process: Arc<corral_core::Process>,
        args: Vec<Value>,
    ) -> futures_util::future::BoxFuture<'static, Exit> {
        let inject = args.first().and_then(|spec| field(spec, "fn")) == Some(Value::str(self.panic_in));
        let code = self.sandbox.launch(runtime, process, args);
        Box::pin(async move {
            let exit = code.await;
            assert!(!inject, "injected host panic");
            exit
        })
    }
}

fn node() -> Runtime {
    support::node("process-props", MANIFEST, &[("probe.lua", PROBE)], None)
}

fn node_with(launcher: Arc<dyn corral_core::runtime::Launcher>) -> Runtime {
    support::node("process-props-injected", MANIFEST, &[("probe.lua", PROBE)], Some(launcher))
}

/// Runs the probe as a root process and returns its exit (or `None` after 10 s).
async fn probe(runtime: &Runtime, args: Value) -> Option<Exit> {
    let root = RootSpec {
        entry: "app:probe".into(),
        host: "app:procs".into(),
        args: vec![args],
        actor: Some(Arc::new(Actor::new("user:fuzz"))),
        scopes: Vec::new(),
    };
    let (_, exit) = runtime.start_root(root).ok()?;
    tokio::time::timeout(Duration::from_secs(10), exit).await.ok()?.ok()
}

fn field(value: &Value, key: &str) -> Option<Value> {
    let Value::Table(t) = value else { return None };
    t.map.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone())
}

/// The property of one case: the probe finishes, never dies (a host panic ends it with reason `internal`),
/// and reports a value or a clear error.
fn check(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    function: &str,
    args: Vec<Value>,
) -> Result<(), TestCaseError> {
    let exit = rt.block_on(probe(runtime, spec(function, args)));
    let Some(exit) = exit else { return Err(TestCaseError::fail("the probe did not finish in 10 s")) };
    let value = exit.result.map_err(|e| TestCaseError::fail(format!("the probe died ({:?}): {e}", exit.reason)))?;
    if let Some(Value::Str(text)) = field(&value, "failed").or_else(|| field(&value, "raised")) {
        let text = String::from_utf8_lossy(&text);
        prop_assert!(text.len() > 8, "a clear error, not `{text}`");
    } else {
        let ok = field(&value, "ok").or_else(|| field(&value, "restarted"));
        prop_assert_eq!(ok, Some(Value::Bool(true)), "{:?}", value);
    }
    Ok(())
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn every_process_function_survives_wrong_arguments() {
    let rt = tokio_runtime();
    let runtime = rt.block_on(async { node() });
    let config = ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let cases = (proptest::sample::select(&FUNCTIONS[..]), proptest::collection::vec(argument(), 0..4));
    let outcome = runner.run(&cases, |(function, args)| check(&rt, &runtime, function, args));
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // and the node still serves a well-formed call
    let exit = rt.block_on(probe(&runtime, spec("pid", Vec::new()))).expect("a last probe");
    assert_eq!(exit.result.ok().and_then(|v| field(&v, "ok")), Some(Value::Bool(true)));
}

#[test]
fn the_property_fails_when_a_host_panic_is_injected() {
    let rt = tokio_runtime();
    let runtime =
        rt.block_on(async { node_with(Arc::new(Injected { sandbox: Sandbox::new(false), panic_in: "send" })) });
    let caught = check(&rt, &runtime, "send", vec![Value::str("nobody"), Value::str("t")]);
    let why = format!("{:?}", caught.err());
    assert!(why.contains("the probe died (Internal)") && why.contains("injected host panic"), "{why}");
    // the node keeps serving everyone else
    assert!(check(&rt, &runtime, "pid", Vec::new()).is_ok());
}
