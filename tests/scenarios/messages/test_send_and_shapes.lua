local t = require("t")

local function main()
    local me = process.pid()
    local raw = process.listen("raw")
    local full = process.listen("full", { message = true })

    t.eq(process.send(me, "raw", "one"), true, "send returns true")
    t.eq(t.recv(raw, "one payload"), "one", "one payload is the value itself")
    process.send(me, "raw")
    local v, ok = t.recv(raw, "no payload")
    t.eq(v, nil, "no payload is nil")
    t.eq(ok, true, "but a value was received")
    process.send(me, "raw", 1, "b", { c = true })
    t.deep(t.recv(raw, "several payloads"), { 1, "b", { c = true } }, "several payloads are an array")

    process.send(me, "full", { x = 1 })
    local msg = t.recv(full, "a message object")
    t.eq(type(msg), "userdata", "message mode gives Message objects")
    t.eq(msg:topic(), "full", "topic")
    t.eq(msg:from(), me, "from")
    t.deep(msg:payload(), { x = 1 }, "payload")
    process.send(me, "full", "a", "b")
    t.deep(t.recv(full, "several"):payload(), { "a", "b" }, "message payload of several values")

    -- a topic nobody listens to goes to the inbox, as a Message
    process.send(me, "elsewhere", 5)
    local m = t.msg("elsewhere", me)
    t.eq(m:payload(), 5, "inbox payload")

    -- from a child: msg:from() is the child's pid
    local echo = process.spawn("app:echo", "app:procs")
    process.send(echo, "ping", { n = 1 })
    local pong = t.msg("pong", echo)
    t.deep(pong:payload(), { n = 1 }, "echoed payload")
    process.send(echo, "stop")
    t.empty(raw, "raw")
    t.empty(full, "full")
    return true
end

return { main = main }
