-- One hostile case: the attacker (`entry`, default `app:hostile`) runs on a host with one VM (`tight` unless `host` names another) and has
-- started before its neighbour starts on the same VM. The neighbour must check its globals are intact and
-- return the right sum, and the attacker must end the named way: with an error containing `want` (a string,
-- or each string of a list), or, when `want` is a function, as that function checks (given the attacker's EXIT).
-- Where the attack runs in Lua code the runtime can pause (`preemptible`), the neighbour must finish first:
-- the attacker was paused at its time slices. Code in a coroutine, a C call (pattern matching, `tostring`)
-- or an error handler cannot be paused; it is still counted, and ended by its budget. `entry` is the
-- attacker's entry (default `app:hostile`; `app:hostile_timed` is the same code granted `time`).
local t = require("t")

return function(kind, want, preemptible, host, entry)
    host = host or "app:tight"
    local bad = process.spawn_monitored(entry or "app:hostile", host, kind, process.pid())
    t.eq(t.msg("started", bad, kind .. ": started", "10s"):payload(), kind, "the attacker runs")
    local good = process.spawn_monitored("app:neighbour", host, 100000)
    local first = t.event(nil, kind .. ": first exit", "15s")
    local second = t.event(nil, kind .. ": second exit", "15s")
    local by = { [first.from] = first, [second.from] = second }
    if preemptible then
        t.eq(first.from, good, kind .. ": the neighbour finishes while the attacker still runs")
    end
    t.ok(by[good], kind .. ": an EXIT of the neighbour")
    t.eq(by[good].result.value, 5000050000, kind .. ": the neighbour's result (" .. tostring(by[good].error) .. ")")
    t.ok(by[bad], kind .. ": an EXIT of the attacker")
    if type(want) == "function" then
        want(by[bad])
    else
        t.ok(by[bad].error, kind .. ": the attacker exits abnormally")
        for _, part in (if type(want) == "table" then want else { want }) do
            t.contains(by[bad].error, part, kind .. ": exit reason")
        end
    end
end
