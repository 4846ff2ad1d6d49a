local t = require("t")

local function main()
    local pid = process.spawn_monitored("app:worker", "app:procs")
    process.send(pid, "stop")
    t.event(pid, "EXIT")
    local r, err = process.link(pid)
    t.err(r, err, errors.NOT_FOUND, "link of a pid that is not alive")
    r, err = process.link("no_such_name")
    t.err(r, err, errors.NOT_FOUND, "link of an unknown name")
    r, err = process.link(42)
    t.err(r, err, errors.INVALID, "link of a number")
    t.empty(process.events(), "no event from a failed link")
    return true
end

return { main = main }
