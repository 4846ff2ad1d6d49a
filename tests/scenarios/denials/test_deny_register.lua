local t = require("t")

local function main()
    local me = process.pid()
    local r, err = process.registry.register("forbidden_name")
    t.denied(r, err, "process.registry.register", "register a forbidden name")
    t.contains(err:message(), "forbidden_name", "names the name")
    local l, lerr = process.registry.lookup("forbidden_name")
    t.err(l, lerr, errors.NOT_FOUND, "the name is not registered")

    local pid = process.spawn("app:target", "app:procs", me)
    t.msg("ready", pid)
    r, err = process.registry.register("forbidden_name", pid)
    t.denied(r, err, "process.registry.register", "register a forbidden name for another process")
    l, lerr = process.registry.lookup("forbidden_name")
    t.err(l, lerr, errors.NOT_FOUND, "still not registered")
    t.eq(process.registry.register("fine_name", pid), true, "another name is fine")
    t.stop(pid)
    return true
end

return { main = main }
