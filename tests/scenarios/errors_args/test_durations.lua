local t = require("t")
local time = require("time")

local function main()
    t.eq(time.parse_duration("1m30s"):seconds(), 90, "humantime with two units")
    t.eq(time.parse_duration("100ms"):milliseconds(), 100, "milliseconds")
    t.eq(time.parse_duration(250):milliseconds(), 250, "an integer is milliseconds")
    local r, err = time.parse_duration("soon")
    t.err(r, err, errors.INVALID, "a duration that does not parse")
    r, err = time.sleep("forever-ish")
    t.err(r, err, errors.INVALID, "sleep with a bad duration")
    t.eq(time.sleep("1ms"), true, "sleep with a good one")
    t.eq(time.sleep(1), true, "sleep with integer milliseconds")

    local pid = process.spawn_monitored("app:waiter", "app:procs")
    r, err = process.cancel(pid, "3 fortnights and a bit")
    t.err(r, err, errors.INVALID, "cancel with a bad duration")
    r, err = process.cancel(pid, true)
    t.err(r, err, errors.INVALID, "cancel with a boolean")
    process.terminate(pid)
    t.eq(t.event(pid, "EXIT").error, "terminated", "it was never cancelled")
    return true
end

return { main = main }
