local t = require("t")

local function main()
    local me = process.pid()
    local nested = { list = { 1, 2, 3 }, flag = true, name = "n" }
    local pid, err = process.spawn("app:reporter", "app:procs", me, 42, "two", nested, nil, false)
    t.eq(err, nil, "spawn error")
    t.eq(type(pid), "string", "spawn returns a pid")
    nested.name = "changed after spawn" -- arguments are copied: the child must not see this

    local m = t.msg("hello", pid)
    local hello = m:payload()
    t.eq(hello.pid, pid, "the child runs under the returned pid")
    t.eq(hello.n, 5, "every extra argument reaches main(...), trailing false included")
    t.eq(hello.args[1], 42, "number argument")
    t.eq(hello.args[2], "two", "string argument")
    t.deep(hello.args[3], { list = { 1, 2, 3 }, flag = true, name = "n" }, "table argument is a copy")
    t.eq(hello.args[4], nil, "nil argument")
    t.eq(hello.args[5], false, "false argument")

    -- an argument that cannot be copied is INVALID and starts nothing
    local bad, berr = process.spawn("app:reporter", "app:procs", me, function() end)
    t.err(bad, berr, errors.INVALID, "function argument")
    local cyc = {}
    cyc.self = cyc
    bad, berr = process.spawn("app:reporter", "app:procs", me, cyc)
    t.err(bad, berr, errors.INVALID, "cyclic argument")

    -- `stop` makes the child return its payload: watch it happen
    t.eq(process.monitor(pid), true, "monitor")
    process.send(pid, "stop", "bye")
    local ev = t.event(pid, "EXIT of the reporter")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.result.value, "bye", "the child's return value")
    -- no hello from a child that never started
    t.empty(process.inbox(), "inbox after invalid spawns")
    return true
end

return { main = main }
