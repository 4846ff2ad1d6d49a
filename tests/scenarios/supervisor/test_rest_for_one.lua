-- rest_for_one: a crash restarts that child and the ones started after it; earlier ones keep running.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ strategy = "rest_for_one", intensity = 3, period = "5s",
        children = { sv.child("a"), sv.child("b"), sv.child("c"), sv.child("d") } })
    local _, by = sv.started(ch.started, 4)
    t.ok(process.send(by.b.pid, "crash"))
    t.eq(sv.names(ch.stopped, 2), "d c", "the later ones, in reverse order")
    t.eq(sv.started(ch.started, 3), "b c d", "b and the later ones, in order")
    local _, list = sv.listing(sup)
    t.eq(list[1].pid, by.a.pid, "a kept running")
    t.empty(ch.stopped, "a was not stopped")
    sv.stop(sup)
    t.eq(sv.names(ch.stopped, 4), "d c b a")
    return true
end

return { main = main }
