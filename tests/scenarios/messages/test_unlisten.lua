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

    -- what the listener still held when it was closed is not dropped: it moves to the inbox, in order,
    -- with its sender
    process.send(me, "news", 4)
    process.send(me, "news", 5)
    t.eq(process.unlisten(again), true, "unlisten with two messages queued")
    t.eq(again:receive(), nil, "the closed channel gives nothing")
    local m4 = t.msg("news", me, "the first queued message")
    t.eq(m4:payload(), 4, "first")
    t.eq(t.msg("news", me, "the second queued message"):payload(), 5, "second")
    t.empty(process.inbox(), "inbox")
    return true
end

return { main = main }
