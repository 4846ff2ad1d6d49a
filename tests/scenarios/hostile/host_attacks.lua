-- Attacks on the host's own memory and on the audit log (issue 9, classes 3, 6 and 8): each holds or sends
-- what the host keeps outside the Lua heap, which is charged to the attacker's memory account or bounded.
-- `kind` picks one; the attacker reports `started` to `parent` first (see case.lua).
local security = require("security")
local attacks = {}

local function must(value, err)
    if err ~= nil then error(err:kind() .. ": " .. err:message(), 0) end
    return value
end

local MiB = string.rep("x", 1024 * 1024)

-- Class 3: error objects with 1 MiB texts, kept: each text's host copy is charged.
function attacks.error_objects()
    local keep = {}
    for i = 1, 1e6 do keep[i] = errors.new(errors.INVALID, MiB) end
end

-- Class 3: scopes of 64 long names, kept (a bigger list is refused: class 8).
function attacks.scopes()
    local names = {}
    for i = 1, 64 do names[i] = string.rep("n", 200) .. i end
    local keep = {}
    for i = 1, 1e6 do keep[i] = must(security.new_scope(names)) end
end

-- Class 3: received Message objects kept alive, each holding a 64 KiB payload.
function attacks.kept_messages()
    local big = string.rep("m", 64 * 1024)
    local inbox = process.inbox()
    local keep = {}
    for i = 1, 1e6 do
        must(process.send(process.pid(), "self", big))
        keep[i] = inbox:receive()
    end
end

-- Class 3: a script channel of a billion slots, filled.
function attacks.channel_fill()
    local ch = channel.new(1e9)
    for i = 1, 1e9 do ch:send(i) end
end

-- Class 3: a listener per topic without end.
function attacks.listen_forever()
    for i = 1, 1e7 do must(process.listen("topic." .. i)) end
end

-- Class 3: monitors of dead (made-up) PIDs without end: each noproc EXIT is charged until read.
function attacks.monitor_dead()
    local me = process.pid()
    local prefix = string.sub(me, 1, (string.find(me, "|[^|]*$")))
    for i = 1, 1e7 do must(process.monitor(prefix .. (1e9 + i) .. "}")) end
end

-- Class 3: a builder chained without end, each step adding a 64 KiB message.
function attacks.builder_chain()
    local big = string.rep("b", 64 * 1024)
    local b = process.with_context({})
    for _ = 1, 1e6 do b = b:with_message("m", big) end
end

-- Class 6: more builder messages than the child's mailbox holds (64 on `bounded`): refused, nothing starts.
function attacks.builder_overfull(parent: string)
    local b = process.with_context({})
    for i = 1, 100 do b = b:with_message("m", i) end
    local ok, err = pcall(function() return b:spawn("app:idle", "app:bounded", parent) end)
    if ok then return "spawned" end
    error(err, 0)
end

-- Class 8: strings over the bound never reach a record: a 4 MB name, topic, destination, action, scope.
function attacks.long_strings()
    local long = string.rep("a", 4 * 1024 * 1024)
    local seen = {}
    local function kind_of(value, err) return if err then err:kind() else "ok" end
    seen.register = kind_of(process.registry.register(long))
    seen.lookup = kind_of(process.registry.lookup(long))
    seen.send = kind_of(process.send(process.pid(), long, 1))
    seen.dest = kind_of(process.send(long, "t", 1))
    seen.can = kind_of(security.can(long, "x"))
    seen.actor = kind_of(security.new_actor(long))
    seen.scope = kind_of(security.named_scope(long))
    local names = {}
    for i = 1, 65 do names[i] = "s" .. i end
    seen.scopes = kind_of(security.new_scope(names))
    return seen
end

-- Class 8: a repeated monitor of one dead PID is one decision and one EXIT, not 10 000.
function attacks.monitor_repeat()
    local me = process.pid()
    local dead = string.sub(me, 1, (string.find(me, "|[^|]*$"))) .. "999999999}"
    for _ = 1, 10000 do must(process.monitor(dead)) end
    local events, n = process.events(), 0
    while true do
        local r = channel.select({ events:case_receive(), default = true })
        if r.default then break end
        n += 1
    end
    return n
end

local function main(kind: string, parent: string)
    process.send(parent, "started", kind)
    return attacks[kind](parent)
end

return { main = main }
