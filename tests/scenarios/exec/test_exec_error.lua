local t = require("t")

local function main()
    local v, err = process.exec("app:ender", "app:procs", "raise_plain", "child exploded")
    t.eq(v, nil, "no value")
    t.eq(type(err), "userdata", "an error object")
    t.contains(err:message(), "child exploded", "the child's error")
    t.contains(tostring(err), "child exploded", "tostring")

    v, err = process.exec("app:ender", "app:procs", "pair", "ignored", "returned error")
    t.eq(v, nil, "v, err with err: no value")
    t.contains(err:message(), "returned error", "the returned error")

    v, err = process.exec("app:ender", "app:procs", "return_object", "typed")
    t.eq(v, nil, "no value")
    t.contains(err:message(), "typed", "an error object's message")

    -- terminated while exec waits
    local killer = process.spawn_monitored("app:killer", "app:procs")
    v, err = process.exec("app:victim", "app:procs", killer)
    t.eq(v, nil, "no value")
    t.contains(err:message(), "terminated", "the child was terminated")
    process.send(killer, "stop")
    t.event(killer, "EXIT of the killer")

    -- spawn errors come back the same way
    v, err = process.exec("app:nope", "app:procs")
    t.err(v, err, errors.NOT_FOUND, "unknown entry")
    v, err = process.exec("app:ender", "app:nohost")
    t.err(v, err, errors.NOT_FOUND, "unknown host")
    v, err = process.exec("app:t", "app:procs")
    t.err(v, err, errors.INVALID, "a library entry")
    v, err = process.exec("app:ender", "app:procs", function() end)
    t.err(v, err, errors.INVALID, "an argument that cannot be copied")
    return true
end

return { main = main }
