-- Issue 9: a fallback fixed by the host entry. `fallback: app:collector` names an entry, which the host
-- starts itself on the first overflow (no tenant can register a name to receive others' overflow), and the
-- delivery is a decided, audited send from the original sender.
local t = require("t")

local function main()
    local me = process.pid()
    local target = process.spawn_monitored("app:hoarder", "app:spill_entry")
    t.eq(process.send(target, "work", 1), true, "first fits")
    t.eq(process.send(target, "work", 2), true, "second fits")
    t.eq(process.send(target, "work", 3), true, "the third goes to the host's fallback, started for it")
    t.eq(process.send(target, "work", 4), true, "and the fourth to the same one")
    local first = t.msg("collected", nil, "the fallback got the third")
    local second = t.msg("collected", nil, "and the fourth")
    t.eq(first:from(), second:from(), "both overflows reached one fallback process")
    t.ok(first:from() ~= target and first:from() ~= me, "a process of its own")
    local got = first:payload()
    t.eq(got.topic, "@fallback", "on the runtime's topic")
    t.eq(got.from, me, "from the original sender")
    t.eq(got.actor, "user:tester", "whose actor the receiver can read")
    t.eq(got.payload.target, target, "wrapped with the original target")
    t.deep(second:payload().payload.payload, { 4 }, "and the original payload")
    process.cancel(target, "3s")
    t.deep(t.event(target, "EXIT of the target").result.value, { 1, 2 }, "the target held only what fit")
    process.terminate(first:from())
    return true
end

return { main = main }
