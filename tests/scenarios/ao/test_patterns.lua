-- Each pattern kind: an Action string, a table (Lua patterns, "_", alternatives), hasMatchingData,
-- hasMatchingTag, and "continue" / "break".
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local probe = t.ok(process.spawn("app:probe", "app:procs", { Watcher = process.pid() }))
    t.recv(seen, "started")

    -- A table pattern whose value is a Lua pattern: "blue" matches "^bl", "red" matches nothing.
    process.send(probe, "Paint", { Color = "red" })
    process.send(probe, "Paint", { Color = "blue" })
    local r = t.recv(seen, "table")
    t.eq(r.what, "table")
    t.eq(r.value, "blue", "red was not taken by the table pattern")
    -- "_": any value, but the tag must be there.
    process.send(probe, "Any", {})
    process.send(probe, "Any", { Size = 7 })
    local any = t.recv(seen, "any")
    t.eq(any.what, "any")
    t.eq(any.value, 7)
    -- A table of alternatives.
    process.send(probe, "Two", {})
    t.eq(t.recv(seen, "alternatives").value, "Two")
    -- hasMatchingData and hasMatchingTag.
    process.send(probe, "Whatever", "ping")
    local d = t.recv(seen, "data")
    t.eq(d.what, "data")
    t.eq(d.value, "ping")
    process.send(probe, "Whatever", { Kind = "special" })
    local tag = t.recv(seen, "tag")
    t.eq(tag.what, "tag")
    t.eq(tag.value, "special")
    -- "continue" lets the next matching handler run; "break" (like true) stops the dispatch.
    process.send(probe, "Chain", {})
    t.eq(t.recv(seen, "chain1").value, "chain1")
    t.eq(t.recv(seen, "chain2").value, "chain2")
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "alive").what, "alive", "chain3 never ran: the next report is this one")
    t.stop(probe)
    return true
end

return { main = main }
