//! Every shared table a script can reach is frozen (`docs/security.md`, "Boundary classes", 1): a process walks
//! everything reachable from its env (the VM's globals through `_G`, each granted module, the string
//! metatable, and `getmetatable` of a value of every userdata type it can obtain: channel, case, message,
//! time, duration, ticker, error object, actor, scope, builder) and reports each table that is not frozen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use corral_core::Runtime;
use corral_core::value::Value;

const WALKER: &str = r#"
local time = require("time")
local security = require("security")
local ctx = require("ctx")
local server = require("server")
local supervisor = require("supervisor")

local function main()
    local ticker = time.ticker("1s")
    local ch = channel.new(1)
    local messages = process.listen("walk", { message = true })
    process.send(process.pid(), "walk", 1)
    local message = messages:receive()
    local roots = {
        globals = _G, time = time, security = security, ctx = ctx, server = server, supervisor = supervisor,
        string = getmetatable(""),
        channel = ch, case = ch:case_receive(), message = message, now = time.now(),
        duration = time.parse_duration("1s"), ticker = ticker, error = errors.new(errors.INVALID, "x"),
        actor = security.actor(), scope = security.scope(), builder = process.with_context({}),
    }
    local unfrozen, seen, tables, userdata = {}, {}, 0, {}
    local function walk(v, path)
        local kind = type(v)
        if (kind ~= "table" and kind ~= "userdata") or seen[v] then return end
        seen[v] = true
        if kind == "table" then
            tables += 1
            if not table.isfrozen(v) then table.insert(unfrozen, path) end
            for k, x in pairs(v) do
                walk(k, path .. "[key]")
                walk(x, path .. "." .. tostring(k))
            end
        else
            userdata[path] = true
        end
        local meta = getmetatable(v)
        if meta ~= nil then walk(meta, path .. "<meta>") end
    end
    for name, root in roots do walk(root, name) end
    ticker:stop()
    local reached = {}
    for path in userdata do table.insert(reached, path) end
    table.sort(reached)
    return { unfrozen = table.concat(unfrozen, " "), tables = tables, userdata = table.concat(reached, " "),
             message = type(message) }
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: walker
    kind: process.lua
    source: file://walker.lua
    modules: [time, security, ctx, server, supervisor]
"#;

fn node() -> Runtime {
    support::node("frozen", MANIFEST, &[("walker.lua", WALKER)], None)
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

#[tokio::test]
async fn every_table_reachable_from_a_process_env_is_frozen() {
    let value = support::run_root(&node(), "app:walker", "app:procs", "user:walker").await;
    assert_eq!(text(field(&value, "unfrozen")), "", "tables a script can reach that are not frozen");
    let Value::Num(tables) = field(&value, "tables") else { panic!("no count") };
    assert!(tables >= 20.0, "the walk reached the libraries and nested tables: {tables}");
    assert_eq!(text(field(&value, "message")), "userdata", "a message object");
    let reached = text(field(&value, "userdata"));
    for kind in ["actor", "builder._state", "case", "channel", "duration", "error", "message", "now", "scope", "ticker"]
    {
        assert!(reached.split(' ').any(|p| p == kind), "a {kind} value was walked: {reached}");
    }
}
