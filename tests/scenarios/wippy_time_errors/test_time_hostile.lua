-- Hostile arguments to the reference dialect's time: bounded text, out-of-range numbers, never a panic.
local t = require("t")
local time = require("time")

local function raises(f, ...)
    local ok, err = pcall(f, ...)
    t.eq(ok, false, "expected an error")
    t.contains(tostring(err), "INVALID")
end

local function main()
    local now = time.now()
    local huge = string.rep("2006-01-02 ", 100000)
    raises(function() return now:format(huge) end)
    local p, perr = time.parse(huge, "2024")
    t.err(p, perr, errors.INVALID, "a huge layout")
    local v, verr = time.parse(time.DATE_ONLY, string.rep("9", 1000000))
    t.err(v, verr, errors.INVALID, "a huge value")
    local u, uerr = time.parse("2006", "99999")
    t.err(u, uerr, errors.INVALID, "a five-digit year")
    -- A layout full of pieces stays bounded by the layout's bound.
    t.ok(#now:format(string.rep("January ", 32)) < 400, "formatted text is bounded")

    for _, n in ipairs({ 1e300, -1e300, 0 / 0, math.huge, 2 ^ 62, 1.5 }) do
        raises(time.unix, n, 0)
        raises(time.date, n, 1, 1)
        raises(time.date, 2024, n, 1)
        raises(function() return now:add_date(n, 0, 0) end)
        raises(function() return now:add(n * time.HOUR * 1e10) end)
    end
    raises(time.date, 2024, 1, 1, 0, 0, 0, 1e300)
    t.eq(time.date(2024, 1, 1, 0, 0, 0, 0, time.utc):add_date(0, 0, 0):year(), 2024)
    raises(time.date, 2024, 1, 1, 2 ^ 62, 0, 0, 0, time.utc)
    raises(time.date, 10000, 1, 1)
    raises(time.unix, 253402300800, 0)
    raises(function() return now:add_date(9000, 0, 0) end)
    raises(function() return now:add("1000000h") end)
    raises(function() return time.after(-time.SECOND) end)
    raises(time.date, "2024", 1, 1)
    raises(function() return now:in_location("UTC") end)

    local d, derr = time.parse_duration(1e300)
    t.err(d, derr, errors.INVALID, "a huge number of nanoseconds")
    local n, nerr = time.parse_duration(0 / 0)
    t.err(n, nerr, errors.INVALID, "NaN")
    local s, serr = time.parse_duration(string.rep("1h", 100000))
    t.err(s, serr, errors.INVALID, "a huge duration text")
    local w, werr = time.parse_duration("99999999999999999999999999h")
    t.err(w, werr, errors.INVALID, "digits past any integer")
    -- Far-apart times give a saturated duration, refused where a bounded one is needed.
    local far = time.date(9999, 1, 1, 0, 0, 0, 0, time.utc):sub(time.date(1, 1, 1, 0, 0, 0, 0, time.utc))
    raises(function() return now:add(far) end)
    local bounded, berr = time.sleep(far)
    t.err(bounded, berr, errors.INVALID, "a sleep of a saturated duration")
    return true
end

return { main = main }
