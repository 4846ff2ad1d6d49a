local t = require("t")

local function main()
    -- middle does not trap links: when its linked worker fails, middle exits abnormally, naming the worker
    local middle = process.spawn_monitored("app:middle", "app:procs", process.pid())
    local worker = t.msg("worker", middle):payload()
    t.eq(process.monitor(worker), true, "monitor the worker too")
    process.send(worker, "fail", "deep failure")
    local first = t.event(worker, "the worker's EXIT")
    t.eq(first.error, "deep failure", "worker error")
    local ev = t.event(middle, "the middle's EXIT")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(type(ev.error), "string", "the cascade is an abnormal exit")
    t.contains(ev.error, worker, "the error names the dead pid")

    -- links are symmetric: if the process that called link() fails, the other side goes down too
    local w2 = process.spawn_monitored("app:worker", "app:procs")
    local linker = process.spawn_monitored("app:linker", "app:procs", w2, process.pid())
    t.msg("linked", linker)
    process.send(linker, "fail", "linker failed")
    local evs = {}
    for _ = 1, 2 do
        local e = t.event(nil, "an EXIT")
        evs[e.from] = e
    end
    t.eq(evs[linker].error, "linker failed", "the linker failed")
    t.ok(evs[w2], "the worker went down too")
    t.contains(evs[w2].error, linker, "the worker's error names the linker's pid")
    return true
end

return { main = main }
