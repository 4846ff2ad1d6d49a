local t = require("t")

local function main()
    local me = process.pid()
    local ch = process.listen("news")
    process.send(me, "news", 1)
    t.eq(t.recv(ch, "first news"), 1, "listener gets the topic")

    t.eq(process.unlisten(ch), true, "unlisten returns true")
    local v, ok = ch:receive()
    t.eq(v, nil, "a closed channel gives nil")
    t.eq(ok, false, "and false")

    -- later messages on the topic go to the inbox
    process.send(me, "news", 2)
    local m = t.msg("news", me)
    t.eq(m:payload(), 2, "inbox got the later message")

    -- unlisten of a channel that is no listener is INVALID
    local r, err = process.unlisten(ch)
    t.err(r, err, errors.INVALID, "second unlisten")
    r, err = process.unlisten(channel.new(1))
    t.err(r, err, errors.INVALID, "unlisten of a plain channel")

    -- listening again makes a new channel that gets the topic again
    local again = process.listen("news")
    t.ok(not rawequal(again, ch), "a new channel after unlisten")
    process.send(me, "news", 3)
    t.eq(t.recv(again, "news after listening again"), 3, "new listener")
    t.empty(process.inbox(), "inbox")
    return true
end

return { main = main }
