-- one_for_one: children start in order; a crashed child alone is restarted; a cancel stops them in reverse.
local t = require("t")
local sv = require("sv")
local supervisor = require("supervisor")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ strategy = "one_for_one", intensity = 3, period = "5s",
        children = { sv.child("a"), sv.child("b"), sv.child("c") } })
    local order, by = sv.started(ch.started, 3)
    t.eq(order, "a b c", "start order")
    local words, list = sv.listing(sup)
    t.eq(words, "a=pid b=pid c=pid")
    t.eq(list[2].pid, by.b.pid, "which_children gives the running pid")
    t.eq(list[1].restart, "permanent", "the default restart type")
    t.ok(process.send(by.b.pid, "crash"))
    local again = t.recv(ch.started, "b restarted")
    t.eq(again.name, "b")
    t.ok(again.pid ~= by.b.pid, "a new process")
    t.empty(ch.stopped, "no sibling was stopped")
    local _, after = sv.listing(sup)
    t.eq(after[1].pid, by.a.pid, "a kept running")
    t.eq(after[2].pid, again.pid, "b is the new one")
    t.eq(after[3].pid, by.c.pid, "c kept running")
    local exit = sv.stop(sup)
    t.eq(exit.error, nil, "a cancelled supervisor exits normally")
    t.eq(sv.names(ch.stopped, 3), "c b a", "stop order")
    return true
end

return { main = main }
