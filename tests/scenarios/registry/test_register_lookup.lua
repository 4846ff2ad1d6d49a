local t = require("t")

local function main()
    local me = process.pid()
    local r, err = process.registry.lookup("reg_self")
    t.err(r, err, errors.NOT_FOUND, "lookup before register")
    t.contains(err:message(), "reg_self", "the error names the name")

    t.eq(process.registry.register("reg_self"), true, "register defaults to the caller")
    t.eq(process.registry.lookup("reg_self"), me, "lookup gives our pid")
    t.eq(process.registry.register("reg_self_2"), true, "a process may hold several names")
    t.eq(process.registry.lookup("reg_self_2"), me, "second name")

    t.eq(process.registry.unregister("reg_self"), true, "unregister returns true for a registered name")
    r, err = process.registry.lookup("reg_self")
    t.err(r, err, errors.NOT_FOUND, "lookup after unregister")
    t.eq(process.registry.unregister("reg_self"), false, "unregister of a name that is not registered")
    t.eq(process.registry.lookup("reg_self_2"), me, "the other name stays")
    t.eq(process.registry.unregister("reg_self_2"), true, "cleanup")

    -- register another process by pid
    local pid = process.spawn_monitored("app:worker", "app:procs")
    t.eq(process.registry.register("reg_other", pid), true, "register(name, pid)")
    t.eq(process.registry.lookup("reg_other"), pid, "lookup gives that pid")
    process.send("reg_other", "stop", "by name")
    t.eq(t.event(pid, "EXIT").result.value, "by name", "the name reached it")
    r, err = process.registry.lookup("reg_other")
    t.err(r, err, errors.NOT_FOUND, "its names went with it")
    return true
end

return { main = main }
