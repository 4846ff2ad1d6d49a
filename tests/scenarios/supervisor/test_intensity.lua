-- A child that crashes in a loop: the intensity ends the supervisor, abnormally, after stopping the others,
-- and its monitor sees why.
local t = require("t")
local sv = require("sv")

local function main()
    local ch = sv.listen()
    local sup = sv.start({ intensity = 2, period = "10s", children = {
        sv.child("steady"),
        sv.child("loop", { mode = "crash_loop" }),
        sv.child("after"),
    } })
    local exit = t.event(sup, "the supervisor's EXIT", "10s")
    t.eq(exit.kind, process.event.EXIT)
    t.contains(exit.error, "restart intensity 2 in 10s exceeded by child `loop`", "the EXIT names the intensity")
    t.contains(exit.error, "crash loop of loop", "and the child's last error")
    local starts = 0
    while true do
        local r = channel.select({ ch.started:case_receive(), default = true })
        if r.default then
            break
        end
        if r.value.name == "loop" then
            starts = starts + 1
        end
    end
    t.eq(starts, 3, "the first start and the two restarts the intensity allows")
    t.eq(sv.names(ch.stopped, 2), "after steady", "the others were stopped in reverse order")
    return true
end

return { main = main }
