-- Helpers of the supervisor scenarios (a library.lua entry, imported as `sv`).
local t = require("t")
local time = require("time")

local sv = {}

-- A child spec of app:child reporting to the calling test.
function sv.child(name, extra)
    local c = { id = name, entry = "app:child", args = { process.pid(), name } }
    for k, v in pairs(extra or {}) do
        if k == "mode" then
            c.args[3] = v
        else
            c[k] = v
        end
    end
    return c
end

-- The channels a test reads its children's reports from.
function sv.listen()
    return { started = process.listen("started"), stopped = process.listen("stopped"),
             cancelled = process.listen("cancelled") }
end

-- The next `n` reports on `ch`: their names in order, and the reports by name.
function sv.names(ch, n, what)
    local names, by = {}, {}
    for i = 1, n do
        local r = t.recv(ch, what or "a report")
        names[i] = r.name
        by[r.name] = r
    end
    return table.concat(names, " "), by
end

-- The sequence number of a PID (`{node@incarnation|host|seq}`): PIDs are made in spawn order.
function sv.seq(pid)
    return tonumber(string.match(pid, "|(%d+)}$"))
end

-- The names of the reports `by` (name -> report with a pid) in the order their processes were spawned: the
-- start order (children run concurrently, so their reports may arrive in any order).
function sv.spawn_order(by)
    local names = {}
    for name in pairs(by) do
        table.insert(names, name)
    end
    table.sort(names, function(a, b) return sv.seq(by[a].pid) < sv.seq(by[b].pid) end)
    return table.concat(names, " ")
end

-- The next `n` "started" reports on `ch`, in spawn order, and the reports by name.
function sv.started(ch, n, what)
    local _, by = sv.names(ch, n, what or "a start")
    return sv.spawn_order(by), by
end

-- A supervisor of `spec`, monitored by the test.
function sv.start(spec)
    return t.ok(process.spawn_monitored("app:sup", "app:procs", spec))
end

-- The children of `sup` as "id=pid|-" words, in order.
function sv.listing(sup)
    local list = t.ok(require("supervisor").which_children(sup))
    local words = {}
    for i, c in ipairs(list) do
        words[i] = c.id .. "=" .. (c.pid and "pid" or "-")
    end
    return table.concat(words, " "), list
end

-- The listing of `sup` once it is `expected`: children that exit on their own are seen by the supervisor
-- in their own time, so this asks again (every 10ms, for at most 3s) before it fails.
function sv.listing_becomes(sup, expected, what)
    local words = nil
    for _ = 1, 300 do
        words = sv.listing(sup)
        if words == expected then
            return
        end
        time.sleep("10ms")
    end
    t.eq(words, expected, what)
end

-- Cancels `sup` and waits for its EXIT; returns it.
function sv.stop(sup)
    t.ok(process.cancel(sup, "5s"))
    return t.event(sup, "the supervisor's EXIT", "10s")
end

return sv
