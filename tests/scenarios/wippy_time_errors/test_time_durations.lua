-- The reference dialect's durations (nanoseconds), sleep, after, timers and tickers.
local t = require("t")
local time = require("time")

local function main()
    t.eq(time.NANOSECOND, 1)
    t.eq(time.MICROSECOND, 1000)
    t.eq(time.MILLISECOND, 1000000)
    t.eq(time.SECOND, 1000000000)
    t.eq(time.MINUTE, 60 * time.SECOND)
    t.eq(time.HOUR, 60 * time.MINUTE)
    t.eq(time.JANUARY + time.DECEMBER, 13)
    t.eq(time.SATURDAY, 6)

    local d, err = time.parse_duration("1h30m45s500ms")
    t.eq(err, nil)
    t.eq(d:seconds(), 5445.5)
    t.eq(d:milliseconds(), 5445500)
    t.eq(d:microseconds(), 5445500000)
    t.eq(d:nanoseconds(), 5445500000000)
    t.ok(math.abs(d:hours() - 1.5126388) < 1e-6, "hours")
    t.ok(math.abs(d:minutes() - 90.758333) < 1e-5, "minutes")
    t.eq(tostring(d), "1h30m45.5s")
    t.eq(time.parse_duration(time.SECOND):seconds(), 1, "a number is nanoseconds")
    t.eq(time.parse_duration(5 * time.MINUTE):minutes(), 5)
    t.eq(time.parse_duration("500ms"):milliseconds(), 500)
    t.eq(time.parse_duration("2us"):nanoseconds(), 2000)
    t.eq(tostring(time.parse_duration("-1.5h")), "-1h30m0s")
    t.eq(time.parse_duration(d):seconds(), 5445.5, "a duration is a duration")
    local bad, berr = time.parse_duration("5 parsecs")
    t.err(bad, berr, errors.INVALID, "an unknown unit")
    local long, lerr = time.parse_duration("1000000h")
    t.err(long, lerr, errors.INVALID, "over 100 years")

    t.eq(time.sleep(5 * time.MILLISECOND), true)
    t.eq(time.sleep("5ms"), true)
    local neg, nerr = time.sleep("-1s")
    t.err(neg, nerr, errors.INVALID, "a negative sleep")
    t.eq(type(time.after(time.MILLISECOND):receive()), "number")

    local timer = time.timer("10ms")
    t.ok(timer:response() == timer:channel(), "channel() is response()")
    t.eq(type(timer:response():receive()), "number")
    t.eq(timer:stop(), false, "a timer that fired is not active")

    local idle = time.timer("1h")
    t.eq(idle:reset("5ms"), true, "reset of an active timer")
    local r = channel.select({ idle:response():case_receive(), time.after("2s"):case_receive() })
    t.ok(r.channel == idle:response(), "the reset timer fired first")
    local never = time.timer("1h")
    t.eq(never:stop(), true, "stop of an active timer")
    local zero, zerr = time.timer(0)
    t.err(zero, zerr, errors.INVALID, "a timer of zero")

    local ticker = time.ticker("5ms")
    t.eq(type(ticker:response():receive()), "number")
    t.eq(type(ticker:channel():receive()), "number")
    t.eq(ticker:stop(), true)
    local tz, tzerr = time.ticker(-time.SECOND)
    t.err(tz, tzerr, errors.INVALID, "a negative ticker")

    -- A process holds at most 1024 timers at once; the rest are refused, and stopping frees them.
    local held, refused = {}, nil
    for _ = 1, 1100 do
        local timer_n, terr = time.timer("1h")
        if not timer_n then
            refused = terr
            break
        end
        table.insert(held, timer_n)
    end
    t.ok(refused ~= nil, "the 1025th timer is refused")
    t.eq(refused:kind(), errors.LIMIT_EXCEEDED)
    t.ok(#held <= 1024, "held " .. #held)
    for _, timer_n in ipairs(held) do
        timer_n:stop()
    end
    held = nil
    time.sleep("1ms")
    local again = time.timer("1h")
    t.ok(again ~= nil, "stopped timers free their places")
    again:stop()
    return true
end

return { main = main }
