local t = require("t")

local function main()
    local me = process.pid()
    local r, err = process.send(me, "@x", 1)
    t.err(r, err, errors.INVALID, "a topic starting with @")
    t.contains(err:message(), "@x", "the error names the topic")
    r, err = process.send(me, "@inbox", 1)
    t.err(r, err, errors.INVALID, "@inbox is the runtime's")
    r, err = process.send(me, "", 1)
    t.err(r, err, errors.INVALID, "an empty topic")
    r, err = process.send(me, 5, 1)
    t.err(r, err, errors.INVALID, "a topic that is not a string")
    r, err = process.send(me)
    t.err(r, err, errors.INVALID, "a missing topic")

    r, err = process.listen("@events")
    t.err(r, err, errors.INVALID, "listen on a reserved topic")
    r, err = process.listen("")
    t.err(r, err, errors.INVALID, "listen on an empty topic")

    -- none of that was delivered
    t.empty(process.inbox(), "inbox")
    -- a topic with @ later in it is fine
    t.eq(process.send(me, "a@b", 1), true, "@ inside a topic")
    t.eq(t.msg("a@b", me):payload(), 1, "delivered")
    return true
end

return { main = main }
