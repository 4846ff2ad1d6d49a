-- Shutdown: reverse order, each child waited for before the next; a child that ignores its CANCEL is
-- terminated at its shutdown deadline, and only then is the next one stopped.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ children = {
        sv.child("a"),
        sv.child("stubborn", { mode = "stubborn", shutdown = "300ms" }),
        sv.child("slow", { mode = "slow" }),
        sv.child("d"),
    } })
    sv.names(ch.started, 4)
    local exit = sv.stop(sup)
    t.eq(exit.error, nil)
    local order, by = sv.names(ch.stopped, 3)
    t.eq(order, "d slow a", "reverse order; the stubborn child sent nothing")
    local cancelled = t.recv(ch.cancelled, "the stubborn child got its CANCEL")
    t.eq(cancelled.name, "stubborn")
    t.ok(cancelled.at >= by.slow.at, "the stubborn child was cancelled only after the slow one had stopped")
    t.ok(by.a.at - cancelled.at >= 250, "a was stopped only after the stubborn child's 300ms deadline: "
        .. tostring(by.a.at - cancelled.at) .. "ms")
    return true
end

return { main = main }
