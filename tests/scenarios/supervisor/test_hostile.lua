-- Hostile specs end the supervisor with INVALID or LIMIT_EXCEEDED naming the field, before any child starts;
-- a bad start_child is refused and the supervisor keeps serving. Never a panic.
local t = require("t")
local sv = require("sv")
local supervisor = require("supervisor")

local function refused(spec, kind, part, many)
    local sup = t.ok(process.spawn_monitored("app:sup", "app:procs", spec, many, process.pid()))
    local exit = t.event(sup, "the EXIT of a supervisor of a bad spec")
    t.contains(exit.error, kind, part)
    t.contains(exit.error, part, part)
end

local function main()
    local ch = sv.listen()
    refused(nil, "LIMIT_EXCEEDED", "more than 1024 children", 2000)
    -- 100000 children do not even fit the spec function's memory: the host's limit ends it first.
    refused(nil, "limit.memory", "over its limit", 100000)
    refused({ intensity = -1 }, "INVALID", "`intensity` must be a whole number from 0 to 1000, got -1")
    refused({ intensity = 1e308 }, "INVALID", "`intensity`")
    refused({ intensity = 1.5 }, "INVALID", "`intensity`")
    refused({ intensity = "3" }, "INVALID", "`intensity`")
    refused({ period = "-5s" }, "INVALID", "`period`")
    refused({ period = 0 }, "INVALID", "restart period 0s")
    refused({ period = 1e300 }, "INVALID", "`period`")
    refused({ strategy = "bogus" }, "INVALID", "`strategy`")
    refused({ bogus = 1 }, "INVALID", "unknown key \"bogus\"")
    refused({ children = { { id = "a", entry = "app:child", shutdown = -1 } } }, "INVALID", "`children[1].shutdown`")
    refused({ children = { { id = "a", entry = "app:child", shutdown = 1e300 } } }, "INVALID", "`children[1].shutdown`")
    refused({ children = { { id = "a", entry = "app:child", restart = "sometimes" } } }, "INVALID", "`children[1].restart`")
    refused({ children = { { id = "a", entry = "app:child" }, { id = "a", entry = "app:child" } } }, "INVALID",
        "`children[2].id` \"a\" is used twice")
    refused({ children = { { id = string.rep("x", 300), entry = "app:child" } } }, "INVALID", "longer than 256 bytes")
    refused({ strategy = "simple_one_for_one" }, "INVALID", "exactly one child spec")
    t.empty(ch.started, "no child of a bad spec started")

    -- A child the supervisor may not spawn: the supervisor does not start, naming the child and the denial.
    refused({ children = { sv.child("a"), { id = "f", entry = "app:forbidden" } } }, "PERMISSION_DENIED",
        "child `f` did not start")
    t.eq(t.recv(ch.started).name, "a", "the child before it had started")
    t.eq(t.recv(ch.stopped).name, "a", "and was stopped again")

    -- A running supervisor refuses bad requests and keeps serving.
    local sup = sv.start({ children = { sv.child("a") } })
    sv.names(ch.started, 1)
    local args = { process.pid(), "x" }
    for i = 3, 70 do
        args[i] = i
    end
    local v, err = supervisor.start_child(sup, { id = "x", entry = "app:child", args = args })
    t.err(v, err, errors.LIMIT_EXCEEDED, "too many arguments")
    v, err = supervisor.start_child(sup, "not a spec")
    t.err(v, err, errors.INVALID, "a string spec")
    v, err = supervisor.start_child(sup, { id = "f", entry = "app:forbidden" })
    t.err(v, err, errors.PERMISSION_DENIED, "a denied spawn")
    v, err = supervisor.terminate_child(sup, { 1 })
    t.err(v, err, errors.NOT_FOUND, "a table id")
    v = process.call(sup, "supervisor.other", nil, "2s")
    t.eq(v.err, errors.INVALID, "an unknown request is answered, not left to time out")
    t.eq(sv.listing(sup), "a=pid", "the supervisor still serves")
    sv.stop(sup)
    return true
end

return { main = main }
