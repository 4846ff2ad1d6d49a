-- events.send and events.subscribe are decided per system (or pattern): denials are PERMISSION_DENIED.
local t = require("t")
local events = require("events")

local function main()
    local ok, err = events.send("secret", "leak", "/x", { k = 1 })
    t.denied(ok, err, "events.send", "sending to `secret`")
    t.contains(err:message(), "secret")
    ok, err = events.send("secret.inner", "leak", "/x")
    t.denied(ok, err, "events.send", "a system under `secret` is in it")
    t.eq(events.send("secretive", "fine", "/x"), true, "`secretive` is not under `secret`")

    local sub, serr = events.subscribe("secret")
    t.denied(sub, serr, "events.subscribe", "subscribing to `secret`")
    sub, serr = events.subscribe("secret.*")
    t.denied(sub, serr, "events.subscribe", "subscribing under `secret`")
    sub, serr = events.subscribe("secret.inner.*")
    t.denied(sub, serr, "events.subscribe", "a pattern deeper under `secret`")
    sub, serr = events.subscribe("*")
    t.denied(sub, serr, "events.subscribe", "subscribing to everything")

    -- Allowed systems still work.
    local open = assert(events.subscribe("public"))
    t.eq(events.send("public", "hello", "/"), true)
    t.eq(t.recv(open:channel()).kind, "hello")
    open:close()
    return true
end

return { main = main }
