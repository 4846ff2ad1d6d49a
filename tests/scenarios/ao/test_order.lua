-- Handlers.add replaces in place, prepend / append move, remove removes, list is read-only and in dispatch
-- order, and a process holds at most 1024 handlers.
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local order = t.ok(process.spawn("app:order", "app:procs", { Watcher = process.pid() }))
    local function next(what)
        local r = t.recv(seen, what)
        t.eq(r.what, what)
        return r.value
    end
    t.eq(next("added"), "a,b,c")
    t.eq(next("replaced"), "a,b,c", "the same name keeps its place")
    t.eq(next("replaced_pattern"), "Other", "with the new pattern")
    t.eq(next("prepended"), "c,a,b")
    t.eq(next("appended"), "c,b,a")
    t.eq(next("removed"), "true:false:c,a")
    t.eq(next("read_only"), "falsefalsefalse:c,a", "no write to Handlers or its list succeeds")
    local bad = next("bad")
    t.contains(bad.pattern, "a pattern is a function, a table or an Action string")
    t.contains(bad.handle, "the handle must be a function")
    t.contains(bad.name, "the name must be a string")
    local limit = next("limit")
    t.eq(limit.ok, false)
    t.eq(limit.kind, errors.LIMIT_EXCEEDED)
    t.eq(limit.count, 1024)
    t.eq(next("ready"), "c,a")
    -- The first handler in list order takes the message: c (prepended) before a.
    process.send(order, "Who")
    t.eq(next("who"), "c")
    t.empty(seen, "only one handler ran")
    t.stop(order)
    return true
end

return { main = main }
