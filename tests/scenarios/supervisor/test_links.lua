-- The links both ways: a terminated supervisor takes its children down through their links; a supervisor
-- whose linked parent fails stops its children (reverse order) and exits with the parent's error.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ children = { sv.child("a"), sv.child("b") } })
    local _, by = sv.started(ch.started, 2)
    t.ok(process.monitor(by.a.pid))
    t.ok(process.monitor(by.b.pid))
    t.ok(process.terminate(sup))
    local seen = {}
    for _ = 1, 3 do
        local ev = t.recv(process.events(), "an EXIT")
        t.eq(ev.kind, process.event.EXIT)
        seen[ev.from] = ev
    end
    t.contains(seen[sup].error, "terminated", "the supervisor was terminated")
    t.contains(seen[by.a.pid].error, sup, "a went down with its supervisor's link")
    t.contains(seen[by.b.pid].error, sup, "b went down with its supervisor's link")
    t.empty(ch.stopped, "a terminated supervisor runs nothing: no CANCEL reached the children")

    local sups = process.listen("sup")
    local parent = t.ok(process.spawn("app:parent", "app:procs", process.pid(),
        { children = { sv.child("c"), sv.child("d") } }))
    local sup2 = t.recv(sups, "the supervisor's pid")
    t.ok(process.monitor(sup2))
    sv.started(ch.started, 2)
    t.ok(process.send(parent, "die"))
    local exit = t.event(sup2, "the supervisor's EXIT")
    t.contains(exit.error, "linked process " .. parent .. " exited", "the supervisor names its parent")
    t.contains(exit.error, "the parent failed", "and the parent's error")
    t.eq(sv.names(ch.stopped, 2), "d c", "its children were stopped in reverse order first")
    return true
end

return { main = main }
