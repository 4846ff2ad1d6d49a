//! `process.send`'s arguments (`lua-api.md`, "process.send"): two strings take the copying path, anything
//! else the checking one, and both answer as the API says: a bad destination or topic is `INVALID` naming the
//! argument, a string that is not UTF-8 is read lossily, and every payload value arrives.

mod support;

use corral_core::Runtime;
use corral_core::value::Value;

const SENDER: &str = r#"
local function attempt(...)
    local ok, sent, err = pcall(process.send, ...)
    if not ok then return "raised: " .. tostring(sent) end
    if sent then return "ok" end
    return tostring(err)
end

local function main()
    local inbox = process.listen("t", { message = true })
    local me = process.pid()
    local out = {}
    out.number_dest = attempt(123, "t", 1)
    out.nil_dest = attempt(nil, "t", 1)
    out.table_topic = attempt(me, {}, 1)
    out.missing_topic = attempt(me)
    out.bad_pid = attempt("{nope", "t", 1)
    out.sent = attempt(me, "t", 1, "two", 3)
    local msg = inbox:receive()
    local p = msg:payload()
    out.payload = type(p) == "table" and (tostring(p[1]) .. "," .. tostring(p[2]) .. "," .. tostring(p[3])) or tostring(p)
    out.lossy = attempt(me, "t\255", 1)
    return out
end

return { main = main }
"#;

const MANIFEST: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
  - name: sender
    kind: process.lua
    source: file://sender.lua
"#;

fn node() -> Runtime {
    support::node("send-args", MANIFEST, &[("sender.lua", SENDER)], None)
}

fn field(value: &Value, key: &str) -> String {
    let Value::Table(t) = value else { panic!("not a table: {value:?}") };
    match t.map.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone()) {
        Some(Value::Str(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("{key}: not a string: {other:?}"),
    }
}

#[tokio::test]
async fn send_checks_its_arguments_on_either_path() {
    let value = support::run_root(&node(), "app:sender", "app:procs", "user:sender").await;
    let expect = |key: &str, text: &str| {
        let got = field(&value, key);
        assert!(got.contains(text), "{key}: {got:?} does not say {text:?}");
    };
    expect("number_dest", "destination must be a string, got a integer");
    expect("nil_dest", "destination must be a string, got a nil");
    expect("table_topic", "topic must be a string, got a table");
    expect("missing_topic", "topic is required");
    expect("bad_pid", "`{nope` is not a pid");
    assert_eq!(field(&value, "sent"), "ok");
    assert_eq!(field(&value, "payload"), "1,two,3", "every payload value arrives");
    assert_eq!(field(&value, "lossy"), "ok", "a topic that is not UTF-8 is read lossily and sent");
}
