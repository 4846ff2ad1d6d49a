-- Hostile payloads: what cannot be copied is still refused, naming its path; bounds hold.
local t = require("t")

local function main()
    local me = process.pid()
    -- A payload whose table refers to itself through the payload is a cycle.
    local tbl = {}
    local p = payload.new(tbl)
    tbl.self = p
    local ok, err = process.send(me, "x", p)
    t.err(ok, err, errors.INVALID, "a cycle through a payload")
    t.contains(err:message(), "cycle")

    -- A function inside a payload's table is refused, naming the path.
    ok, err = process.send(me, "x", payload.new({ a = { f = function() end } }))
    t.err(ok, err, errors.INVALID, "a function in a payload")
    t.contains(err:message(), "payload[1].a.f")

    -- An error payload cannot be copied (an error object is no plain data).
    ok, err = process.send(me, "x", payload.new(errors.new("INTERNAL", "boom")))
    t.err(ok, err, errors.INVALID, "an error payload")

    -- What payload.new refuses.
    local np, nerr = payload.new(function() end)
    t.err(np, nerr, errors.INVALID, "a function")
    np, nerr = payload.new(coroutine.create(function() end))
    t.err(np, nerr, errors.INVALID, "a thread")

    -- A format argument is bounded and must be a string.
    local tp, terr = payload.new(1):transcode(string.rep("x", 100000))
    t.err(tp, terr, errors.INVALID, "a huge format")
    tp, terr = payload.new(1):transcode({})
    t.err(tp, terr, errors.INVALID, "a table as format")

    -- A payload over the host's message bound is LIMIT_EXCEEDED, as any value is.
    local big = string.rep("y", 2 * 1024 * 1024)
    ok, err = process.send(me, "x", payload.new(big))
    t.err(ok, err, errors.LIMIT_EXCEEDED, "over max_message_bytes")
    big = nil

    -- Transcoding to JSON past what the process has left of its memory is LIMIT_EXCEEDED, and it runs on.
    local chunk = string.rep("z", 64 * 1024)
    local many = {}
    for i = 1, 80 do
        many[i] = chunk
    end
    local jp, jerr = payload.new(many):transcode(payload.format.JSON)
    t.err(jp, jerr, errors.LIMIT_EXCEEDED, "a JSON text past the memory limit")
    many = nil
    t.eq(payload.new({ 1 }):transcode(payload.format.JSON):data()[1], 1, "still running")
    return true
end

return { main = main }
