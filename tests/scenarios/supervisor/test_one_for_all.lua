-- one_for_all: a crash stops the other children (reverse order) and starts them all again in order.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ strategy = "one_for_all", intensity = 3, period = "5s",
        children = { sv.child("a"), sv.child("b"), sv.child("c") } })
    local _, by = sv.started(ch.started, 3)
    t.ok(process.send(by.b.pid, "crash"))
    t.eq(sv.names(ch.stopped, 2), "c a", "the others, in reverse order")
    local order, again = sv.started(ch.started, 3)
    t.eq(order, "a b c", "all restarted in start order")
    for _, name in ipairs({ "a", "b", "c" }) do
        t.ok(again[name].pid ~= by[name].pid, name .. " is a new process")
    end
    t.eq(sv.listing(sup), "a=pid b=pid c=pid")
    sv.stop(sup)
    t.eq(sv.names(ch.stopped, 3), "c b a")
    return true
end

return { main = main }
