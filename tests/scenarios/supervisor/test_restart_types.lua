-- permanent restarts after any exit; transient only after an abnormal one; temporary never.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ intensity = 10, period = "5s", children = {
        sv.child("p", { restart = "permanent" }),
        sv.child("t1", { restart = "transient" }),
        sv.child("t2", { restart = "transient" }),
        sv.child("tmp", { restart = "temporary" }),
    } })
    local _, by = sv.started(ch.started, 4)
    t.ok(process.send(by.t1.pid, "quit"))   -- normal: not restarted
    t.ok(process.send(by.tmp.pid, "crash")) -- temporary: not restarted
    t.ok(process.send(by.t2.pid, "crash"))  -- abnormal: restarted
    t.ok(process.send(by.p.pid, "quit"))    -- permanent: restarted even after a normal exit
    local order = sv.names(ch.started, 2)
    t.ok(order == "t2 p" or order == "p t2", "restarted: " .. order)
    sv.listing_becomes(sup, "p=pid t1=- t2=pid tmp=-", "exited children stay listed without a pid")
    local _, list = sv.listing(sup)
    t.eq(list[2].restart, "transient")
    t.eq(list[4].restart, "temporary")
    t.empty(ch.started, "nothing else restarted")
    sv.stop(sup)
    t.eq(sv.names(ch.stopped, 2), "t2 p", "only the running ones are stopped")
    return true
end

return { main = main }
