local t = require("t")

local function main()
    local me = process.pid()
    local sink = process.spawn_monitored("app:sink", "app:small", me)
    -- many calls nobody answers: each times out, nothing piles up
    for i = 1, 300 do
        local v, err = process.call(sink, "t", i, "1ms")
        t.err(v, err, errors.TIMEOUT, "unanswered call " .. i)
    end
    -- a reply over the replier's host bound is refused and leaves the call open for a smaller one
    t.eq(process.call(sink, "huge", nil, "3s"), "small", "the small reply answers")
    t.deep(t.msg("huge", sink):payload(), { "LIMIT_EXCEEDED", "INVALID", true }, "huge and function replies refused")
    -- garbage references are INVALID, never a crash
    for _, garbage in ipairs({ "ref", 7, {}, true, process.inbox(), errors.new(errors.INVALID, "x") }) do
        local v, err = process.reply(garbage, 1)
        t.err(v, err, errors.INVALID, "a garbage reference")
    end
    local v, err = process.reply(nil, 1)
    t.err(v, err, errors.INVALID, "no reference")
    v, err = process.call(sink, "t", print)
    t.err(v, err, errors.INVALID, "a function payload")
    v, err = process.call(sink, "t", nil, "soon")
    t.err(v, err, errors.INVALID, "a bad timeout")
    v, err = process.call(sink, "t", string.rep("x", 2 * 1024 * 1024))
    t.err(v, err, errors.LIMIT_EXCEEDED, "a payload over the caller's host bound")
    process.send(sink, "stop")
    local ev = t.event(sink, "EXIT")
    t.eq(ev.result.value, 301, "the sink took every call and the huge one (and no more)")
    return true
end

return { main = main }
