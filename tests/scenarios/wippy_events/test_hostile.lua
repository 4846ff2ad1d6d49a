-- Garbage and huge arguments: INVALID (LIMIT_EXCEEDED past a size bound), never a crash.
local t = require("t")
local events = require("events")

local function main()
    local cases = {
        { "", "k", "/p", "an empty system" },
        { "s", "", "/p", "an empty kind" },
        { "s", "k", "", "an empty path" },
        { nil, "k", "/p", "no system" },
        { "s", nil, "/p", "no kind" },
        { "s", "k", nil, "no path" },
        { 42, "k", "/p", "a number system" },
        { "s", {}, "/p", "a table kind" },
        { "a*", "k", "/p", "a wildcard in a sent system" },
        { string.rep("s", 1000000), "k", "/p", "a 1 MB system" },
        { "s", string.rep("k", 300), "/p", "a 300 byte kind" },
        { "s", "k", string.rep("/", 300), "a 300 byte path" },
    }
    for _, c in ipairs(cases) do
        local ok, err = events.send(c[1], c[2], c[3])
        t.err(ok, err, errors.INVALID, c[4])
    end
    local ok, err = events.send("s", "k", "/p", function() end)
    t.err(ok, err, errors.INVALID, "a function as data")
    local cyclic = {}
    cyclic.me = cyclic
    ok, err = events.send("s", "k", "/p", cyclic)
    t.err(ok, err, errors.INVALID, "cyclic data")
    ok, err = events.send("s", "k", "/p", string.rep("x", 2 * 1024 * 1024))
    t.err(ok, err, errors.LIMIT_EXCEEDED, "2 MB of data")

    for _, pattern in ipairs({ "", ".*", "a.*.b", "*.a", "a*", "**" }) do
        local sub, serr = events.subscribe(pattern)
        t.err(sub, serr, errors.INVALID, "pattern " .. string.format("%q", pattern))
    end
    local sub, serr = events.subscribe(string.rep("x", 1000000))
    t.err(sub, serr, errors.INVALID, "a 1 MB pattern")
    sub, serr = events.subscribe(nil)
    t.err(sub, serr, errors.INVALID, "no pattern")
    sub, serr = events.subscribe("s", 42)
    t.err(sub, serr, errors.INVALID, "a number kind filter")
    sub, serr = events.subscribe("s", "")
    t.err(sub, serr, errors.INVALID, "an empty kind filter")

    -- At most 64 subscriptions per process; closing one makes room.
    local subs = {}
    for i = 1, 64 do
        subs[i] = assert(events.subscribe("many." .. i))
    end
    local over, lerr = events.subscribe("many.65")
    t.err(over, lerr, errors.LIMIT_EXCEEDED, "the 65th subscription")
    t.contains(lerr:message(), "64")
    t.eq(subs[1]:close(), true)
    t.ok(events.subscribe("many.65"), "room after a close")
    return true
end

return { main = main }
