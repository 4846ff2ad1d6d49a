local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:bounded", "app:strict", me)
    local got = t.event(pid, "EXIT of the bounded sender").result.value
    t.eq(got.small, true, "a small message")
    t.eq(got.too_big, errors.LIMIT_EXCEEDED, "a message over max_message_bytes")
    t.eq(got.too_big_split, errors.LIMIT_EXCEEDED, "several values count together")
    t.eq(got.depth_ok, true, "nested exactly max_message_depth deep")
    t.eq(got.too_deep, errors.LIMIT_EXCEEDED, "nested deeper than max_message_depth")
    t.eq(got.spawn_big, errors.LIMIT_EXCEEDED, "spawn arguments are bounded like messages")
    t.eq(got.spawn_deep, errors.LIMIT_EXCEEDED, "and their depth too")
    t.eq(got.exec_big, errors.LIMIT_EXCEEDED, "exec arguments too")
    -- only what fit was delivered
    t.eq(t.msg("small", pid):payload(), "fits", "small")
    t.eq(t.msg("deep_ok", pid):payload().next.next.next.next, nil, "the depth-4 table")
    t.empty(process.inbox(), "nothing over the bounds was delivered")
    return true
end

return { main = main }
