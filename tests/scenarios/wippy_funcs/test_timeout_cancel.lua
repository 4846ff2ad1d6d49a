-- Timeouts, cancellation and a caller's exit stop the function: nothing a call starts outlives it.
local t = require("t")
local funcs = require("funcs")
local time = require("time")

-- Whether an EXIT event says the function was stopped: `cancelled` when it was seen stopping, `noproc` when it
-- had already gone by the time it was monitored.
local function stopped(ev, what)
    t.ok(string.find(ev.error, "cancelled", 1, true) or ev.error == "noproc", what .. ": " .. tostring(ev.error))
end

-- Waits for the `slow_started` message and then for that function's EXIT; returns the exit event.
local function slow_ends(what)
    local m = t.msg("slow_started", nil, what)
    local pid = m:payload():data()
    local ok, err = process.monitor(pid)
    if not ok then
        t.eq(err:kind(), errors.NOT_FOUND, "monitor fails only because it already ended")
        return nil
    end
    return t.event(pid, what .. ": the function's EXIT", "5s")
end

local function main()
    local me = process.pid()
    -- A sync call past its timeout: TIMEOUT, and the function is stopped.
    local exec = assert(funcs.new():with_options({ timeout = 500 }))
    local v, err = exec:call("app:slow", me)
    t.err(v, err, errors.TIMEOUT, "a call past its timeout")
    local ev = slow_ends("timeout")
    if ev then stopped(ev, "stopped at the timeout") end

    -- An async call past its timeout: the future holds TIMEOUT.
    local timed = assert(exec:async("app:slow", me))
    local _, ok = t.recv(timed:channel(), "the timed-out future's channel", "5s")
    t.eq(ok, false, "no value")
    local tv, terr = timed:result()
    t.err(tv, terr, errors.TIMEOUT, "the future's result")
    slow_ends("async timeout")

    -- cancel(): canceled, CANCELED, the function stopped.
    local future = assert(funcs.async("app:slow", me))
    local m = t.msg("slow_started", nil, "the slow call started")
    local pid = m:payload():data()
    t.ok(process.monitor(pid), "monitor the running function")
    t.eq(future:is_canceled(), false)
    local canceled, cerr = future:cancel()
    t.eq(canceled, true, "cancel of a running call")
    t.eq(cerr, nil)
    t.eq(future:is_canceled(), true)
    local rv, rerr = future:result()
    t.err(rv, rerr, errors.CANCELED, "a canceled future's result")
    local cev = t.event(pid, "the canceled function's EXIT", "5s")
    stopped(cev, "stopped by cancel")
    t.eq(future:cancel(), false, "a second cancel does nothing")

    -- Timeout pattern of the reference: select on the future and a timer.
    local f = assert(funcs.async("app:slow", me))
    local raced = t.msg("slow_started", nil, "the raced call started"):payload():data()
    t.ok(process.monitor(raced), "monitor the raced function")
    local timer = time.after("50ms")
    local r = channel.select({ f:channel():case_receive(), timer:case_receive() })
    t.ok(r.channel == timer, "the timer wins")
    t.eq(f:cancel(), true)
    t.event(raced, "the raced function's EXIT", "5s")

    -- The caller exits: its pending async call's function is stopped with it.
    local caller = process.spawn("app:async_caller", "app:procs", me)
    t.ok(caller, "spawned the async caller")
    local slow = t.msg("function_pid", caller):payload():data()
    t.ok(process.monitor(slow), "the orphan-to-be runs")
    process.send(caller, "go", true)
    local fev = t.event(slow, "the orphaned function's EXIT", "5s")
    t.contains(fev.error, "cancelled", "stopped because its caller exited")

    -- A caller parked in a sync call is terminated: the function it waits for is stopped with it.
    local parked = process.spawn("app:sync_caller", "app:procs", me)
    t.ok(parked, "spawned the sync caller")
    local fpid = t.msg("slow_started", nil, "the parked caller's function started"):payload():data()
    t.ok(process.monitor(fpid), "its function runs")
    t.ok(process.terminate(parked), "terminate the parked caller")
    local pev = t.event(fpid, "the parked caller's function's EXIT", "5s")
    t.contains(pev.error, "cancelled", "stopped because its caller was terminated")
    return true
end

return { main = main }
