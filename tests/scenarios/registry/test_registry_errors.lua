local t = require("t")

local function main()
    local r, err = process.registry.register("")
    t.err(r, err, errors.INVALID, "empty name")
    r, err = process.registry.register(nil)
    t.err(r, err, errors.INVALID, "nil name")
    r, err = process.registry.register(12)
    t.err(r, err, errors.INVALID, "a number is not a name")
    r, err = process.registry.register("{looks|like|a pid}")
    t.err(r, err, errors.INVALID, "a name that looks like a pid")

    local dead = process.spawn_monitored("app:worker", "app:procs")
    process.send(dead, "stop")
    t.event(dead, "EXIT")
    r, err = process.registry.register("for_the_dead", dead)
    t.err(r, err, errors.NOT_FOUND, "register for a pid that is not alive")
    r, err = process.registry.lookup("for_the_dead")
    t.err(r, err, errors.NOT_FOUND, "nothing registered")
    r, err = process.registry.lookup(nil)
    t.err(r, err, errors.INVALID, "lookup of nil")
    r, err = process.registry.unregister({})
    t.err(r, err, errors.INVALID, "unregister of a table")
    return true
end

return { main = main }
