local t = require("t")

local function main()
    local me = process.pid()
    -- a child sends before we listen on anything; wait for it to finish so every message is there
    local child = process.spawn_monitored("app:sender", "app:procs", me, 6, { "late", "other" })
    local ev = t.event(child, "EXIT of the sender")
    t.eq(ev.result.value, 6, "the sender sent everything")

    -- kept in order: the topic's listener gets its three, the inbox the rest, each in send order
    local late = process.listen("late")
    t.eq(t.recv(late, "late 1"), 1, "first kept message")
    t.eq(t.recv(late, "late 3"), 3, "second kept message")
    t.eq(t.recv(late, "late 5"), 5, "third kept message")
    t.empty(late, "late")
    local inbox = process.inbox()
    for _, n in ipairs({ 2, 4, 6 }) do
        local m = t.recv(inbox, "other " .. n)
        t.eq(m:topic(), "other", "topic")
        t.eq(m:payload(), n, "kept inbox message in order")
        t.eq(m:from(), child, "sender")
    end
    t.empty(inbox, "inbox")
    return true
end

return { main = main }
