-- A subscriber that does not read: its queue is bounded (256 events, and the host's message bytes), the
-- rest are dropped for it, and the sender is never blocked or refused.
local t = require("t")
local events = require("events")

local function drain(ch)
    local n = 0
    while true do
        local r = channel.select({ ch:case_receive(), default = true })
        if r.default then return n end
        n = n + 1
    end
end

local function main()
    local sub = assert(events.subscribe("flood"))
    for i = 1, 1000 do
        t.eq(events.send("flood", "tick", "/ticks/" .. i, i), true, "send " .. i)
    end
    local ch = sub:channel()
    local first = t.recv(ch, "the first event")
    t.eq(first.data, 1, "the oldest events are kept, later ones dropped")
    t.eq(drain(ch) + 1, 256, "256 events queued, 744 dropped")
    -- Reading makes room again.
    assert(events.send("flood", "tick", "/ticks/after", "after"))
    t.eq(t.recv(ch).data, "after")

    -- Bytes: 200 KB events fill a 1 MiB budget after a few.
    local blob = string.rep("x", 200 * 1024)
    for _ = 1, 20 do
        t.eq(events.send("flood", "blob", "/blob", blob), true)
    end
    local blobs = drain(ch)
    t.ok(blobs >= 1 and blobs <= 6, "a few 200 KB events fit 1 MiB, got " .. blobs)
    sub:close()
    return true
end

return { main = main }
