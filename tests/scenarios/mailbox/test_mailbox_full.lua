local t = require("t")

local function main()
    local target = process.spawn_monitored("app:hoarder", "app:tiny")
    for i = 1, 3 do
        t.eq(process.send(target, "work", i), true, "message " .. i .. " fits")
    end
    local r, err = process.send(target, "work", 4)
    t.err(r, err, errors.LIMIT_EXCEEDED, "the fourth message")
    t.contains(err:message(), "full", "the error says the mailbox is full")
    r, err = process.send(target, "other", 5)
    t.err(r, err, errors.LIMIT_EXCEEDED, "any topic counts against the same bound")

    -- CANCEL still arrives: lifecycle events are never blocked by a full mailbox
    t.eq(process.cancel(target, "3s"), true, "cancel")
    local ev = t.event(target, "EXIT of the hoarder")
    t.eq(ev.error, nil, "the hoarder returned normally")
    t.deep(ev.result.value, { 1, 2, 3 }, "it held exactly the messages that fit, in order")
    return true
end

return { main = main }
