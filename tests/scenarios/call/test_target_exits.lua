local t = require("t")

local function main()
    local ender = process.spawn_monitored("app:ender", "app:procs")
    local v, err = process.call(ender, "please", nil, "10s")
    t.err(v, err, errors.UNAVAILABLE, "the target exited before it replied")
    t.contains(err:message(), ender, "it names the target")
    t.contains(err:message(), "ended without a reply", "and its exit")
    t.event(ender, "EXIT")
    -- a dead target, an unknown name, oneself
    v, err = process.call(ender, "again")
    t.err(v, err, errors.NOT_FOUND, "a dead pid")
    v, err = process.call("nobody_here", "x")
    t.err(v, err, errors.NOT_FOUND, "an unknown name")
    v, err = process.call(process.pid(), "x")
    t.err(v, err, errors.INVALID, "a process cannot call itself")
    return true
end

return { main = main }
