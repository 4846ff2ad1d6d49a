local t = require("t")

local function main()
    local pid, err = process.spawn("app:nope", "app:procs")
    t.err(pid, err, errors.NOT_FOUND, "unknown entry")
    t.contains(err:message(), "app:nope", "the error names the entry")

    pid, err = process.spawn("app:quick", "app:nohost")
    t.err(pid, err, errors.NOT_FOUND, "unknown host")
    t.contains(err:message(), "app:nohost", "the error names the host")

    pid, err = process.spawn("app:t", "app:procs")
    t.err(pid, err, errors.INVALID, "a library entry is not a process")

    pid, err = process.spawn(42, "app:procs")
    t.err(pid, err, errors.INVALID, "entry id must be a string")
    pid, err = process.spawn("app:quick")
    t.err(pid, err, errors.INVALID, "host is required")

    -- the variants report the same errors
    pid, err = process.spawn_monitored("app:nope", "app:procs")
    t.err(pid, err, errors.NOT_FOUND, "spawn_monitored unknown entry")
    pid, err = process.spawn_linked("app:quick", "app:nohost")
    t.err(pid, err, errors.NOT_FOUND, "spawn_linked unknown host")
    pid, err = process.spawn_linked_monitored("app:t", "app:procs")
    t.err(pid, err, errors.INVALID, "spawn_linked_monitored library")
    t.empty(process.events(), "no event from spawns that failed")

    -- the host's process limit
    local first = process.spawn_monitored("app:reporter", "app:solo", process.pid())
    t.msg("hello", first)
    local second, lerr = process.spawn("app:reporter", "app:solo", process.pid())
    t.err(second, lerr, errors.LIMIT_EXCEEDED, "host full")
    process.send(first, "stop")
    t.event(first, "EXIT of the solo process")
    -- room again once it exited
    local again = process.spawn_monitored("app:quick", "app:solo", "again")
    t.eq(t.event(again, "EXIT").result.value, "again", "the host has room again")
    return true
end

return { main = main }
