-- The reference dialect's time values: construction, calendar accessors, Go layouts, arithmetic.
local t = require("t")
local time = require("time")

local function main()
    local xmas = time.date(2024, time.DECEMBER, 25, 10, 30, 0, 0, time.utc)
    t.eq(xmas:format_rfc3339(), "2024-12-25T10:30:00Z")
    t.eq(time.unix(1703862245, 0):utc():format_rfc3339(), "2023-12-29T15:04:05Z")
    local js = 1703862245123
    t.eq(time.unix(js // 1000, (js % 1000) * 1000000):nanosecond(), 123000000, "milliseconds as nanoseconds")

    local d = time.date(2024, 12, 29, 15, 4, 5, 0, time.utc)
    t.eq(d:format(time.DATE_ONLY), "2024-12-29")
    t.eq(d:format(time.TIME_ONLY), "15:04:05")
    t.eq(d:format("Mon Jan 2, 2006"), "Sun Dec 29, 2024")
    t.eq(d:format(time.KITCHEN), "3:04PM")
    t.eq(d:format(time.RFC1123), "Sun, 29 Dec 2024 15:04:05 UTC")
    t.eq(d:format(time.RFC822Z), "29 Dec 24 15:04 +0000")
    t.eq(d:format("Monday January 02 002 pm"), "Sunday December 29 364 pm")
    t.eq(d:add(123456789):format(time.RFC3339NANO), "2024-12-29T15:04:05.123456789Z")
    t.eq(d:format(time.RFC3339NANO), "2024-12-29T15:04:05Z", "nines drop a zero fraction")
    t.eq(d:format(time.STAMP_MILLI), "Dec 29 15:04:05.000")
    t.eq(tostring(d), "2024-12-29 15:04:05 +0000 UTC")

    local y, m, day = d:date()
    t.eq(y * 10000 + m * 100 + day, 20241229)
    local h, mi, s = d:clock()
    t.eq(h * 10000 + mi * 100 + s, 150405)
    t.eq(d:year(), 2024)
    t.eq(d:month(), 12)
    t.eq(d:day(), 29)
    t.eq(d:weekday(), time.SUNDAY)
    t.eq(d:year_day(), 364)
    t.eq(d:unix(), 1735484645)
    t.eq(time.unix(0, 0):unix_nano(), 0)
    t.ok(time.date(1, 1, 1, 0, 0, 0, 0, time.utc):is_zero(), "year 1 is the zero time")
    t.eq(d:is_zero(), false)

    -- Components out of range normalise as the reference's (Go's) date does.
    t.eq(time.date(2024, 13, 1, 0, 0, 0, 0, time.utc):format(time.DATE_ONLY), "2025-01-01")
    t.eq(time.date(2024, 3, 0, 0, 0, 0, 0, time.utc):format(time.DATE_ONLY), "2024-02-29")
    t.eq(time.date(2024, 1, 1, 25, 0, 0, 0, time.utc):format(time.DATE_TIME), "2024-01-02 01:00:00")

    -- Arithmetic.
    local tomorrow = d:add("24h")
    t.eq(tomorrow:sub(d):hours(), 24)
    t.eq(d:sub(tomorrow):hours(), -24, "an earlier time gives a negative duration")
    t.eq(d:add(5 * time.MINUTE):minute(), 9)
    local step = time.parse_duration("1h30m")
    t.eq(d:add(step):format(time.TIME_ONLY), "16:34:05")
    t.eq(d:add("-15h"):format(time.DATE_TIME), "2024-12-29 00:04:05")
    local jan31 = time.date(2024, 1, 31, 0, 0, 0, 0, time.utc)
    t.eq(jan31:add_date(0, 1, 0):format(time.DATE_ONLY), "2024-03-02", "Feb 31 normalises to Mar 2")
    t.eq(jan31:add_date(1, 0, 0):format(time.DATE_ONLY), "2025-01-31")
    t.eq(jan31:add_date(0, 0, -7):format(time.DATE_ONLY), "2024-01-24")

    -- Comparison.
    local t1 = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
    local t2 = time.date(2024, 1, 2, 0, 0, 0, 0, time.utc)
    t.ok(t1:before(t2), "before")
    t.ok(t2:after(t1), "after")
    t.ok(t1:equal(t1), "equal")
    t.eq(t1:after(t2), false)
    t.ok(t1 < t2 and t1 == time.date(2024, 1, 1, 0, 0, 0, 0, time.utc), "operators")

    -- Rounding takes duration objects only.
    local at = time.date(2024, 1, 1, 10, 40, 0, 0, time.utc)
    t.eq(at:round(time.parse_duration("1h")):format(time.TIME_ONLY), "11:00:00")
    t.eq(at:truncate(time.parse_duration("15m")):format(time.TIME_ONLY), "10:30:00")
    local ok, err = pcall(function() return at:round("1h") end)
    t.eq(ok, false)
    t.contains(tostring(err), "INVALID")

    -- Parsing.
    local p, perr = time.parse(time.RFC3339, "2024-12-29T15:04:05Z")
    t.eq(perr, nil)
    t.ok(p:equal(d), "RFC 3339 round trip")
    t.eq(time.parse("2006-01-02", "2024-12-29"):format(time.DATE_TIME), "2024-12-29 00:00:00")
    t.eq(time.parse("15:04:05", "14:30:00"):hour(), 14)
    t.eq(time.parse(time.RFC3339, "2024-12-29T15:04:05.25+02:00"):utc():format(time.STAMP_MILLI), "Dec 29 13:04:05.250")
    t.eq(time.parse(time.KITCHEN, "3:04PM"):hour(), 15)
    t.eq(time.parse("Jan _2 2006", "Feb  3 2024"):format(time.DATE_ONLY), "2024-02-03")
    local est = time.parse("2006-01-02 15:04:05 MST", "2024-12-29 14:30:00 EST")
    t.eq(est:format("MST"), "EST", "an abbreviation the location does not know keeps its name")
    local none, bad = time.parse(time.RFC3339, "invalid")
    t.err(none, bad, errors.INVALID, "time.parse of bad text")
    local feb30, ferr = time.parse(time.DATE_ONLY, "2024-02-30")
    t.err(feb30, ferr, errors.INVALID, "no February 30th")
    local extra, xerr = time.parse(time.DATE_ONLY, "2024-12-29 trailing")
    t.err(extra, xerr, errors.INVALID, "text after the layout")
    return true
end

return { main = main }
