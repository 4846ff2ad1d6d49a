local t = require("t")

local function main()
    local me = process.pid()
    local b = process.with_context({}):with_message("m1", 1):with_message("m2", "a", { b = true }):with_message("m3")
    local pid = b:spawn("app:reporter", "app:procs", me)
    process.send(pid, "ping", "after")
    local r = t.msg("report", pid):payload()
    -- queued before the child ran, in order, from the spawner; the parent's later send comes after them
    t.ok(#r.queued >= 3, "three messages were waiting when the child started, got " .. #r.queued)
    t.deep(r.queued[1], { topic = "m1", from = me, payload = 1 }, "first")
    t.deep(r.queued[2], { topic = "m2", from = me, payload = { "a", { b = true } } }, "second")
    t.deep(r.queued[3], { topic = "m3", from = me }, "third, no payload")
    if r.queued[4] then
        t.eq(r.queued[4].topic, "ping", "only the later send may follow")
    else
        t.eq(t.msg("pong", pid):payload(), "after", "the later send arrived after")
    end
    process.send(pid, "stop")

    local ok, err = pcall(function()
        return process.with_context({}):with_message("@reserved", 1)
    end)
    t.raised(ok, err, errors.INVALID, nil, "a reserved topic")
    ok, err = pcall(function()
        return process.with_context({}):with_message("x", function() end)
    end)
    t.raised(ok, err, errors.INVALID, nil, "a payload that cannot be copied")
    return true
end

return { main = main }
