-- Without `[compat] wippy = true` the reference dialect's time and errors APIs do not exist: Corral's own
-- API is exactly `lua-api.md`'s.
local t = require("t")
local time = require("time")

local function main()
    t.eq(errors.wrap, nil)
    t.eq(errors.call_stack, nil)
    t.eq(errors.CONFLICT, nil)
    t.eq(errors.UNKNOWN, nil)
    local ok = pcall(errors.new, "a message alone")
    t.eq(ok, false, "Corral's errors.new takes a kind first")
    local err = errors.new(errors.NOT_FOUND, "gone")
    t.eq(err:kind(), errors.NOT_FOUND)
    t.eq(tostring(err), "gone")
    local no_retry, why = pcall(function() return err:retryable() end)
    t.eq(no_retry, false)
    t.contains(tostring(why), "wippy")
    t.eq(pcall(function() return err:details() end), false)

    t.eq(time.date, nil)
    t.eq(time.parse, nil)
    t.eq(time.SECOND, nil)
    t.eq(time.timer, nil)
    t.eq(time.parse_duration(1500):milliseconds(), 1500, "a number is milliseconds")
    t.eq(tostring(time.parse_duration("1m30s")), "1m 30s")
    t.eq(pcall(function() return time.now():year() end), false)
    local ticker = time.ticker("5ms")
    t.eq(pcall(function() return ticker:response() end), false)
    ticker:stop()
    return true
end

return { main = main }
