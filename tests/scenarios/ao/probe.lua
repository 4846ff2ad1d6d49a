-- An AO process (models.md, "AO processes"): its top level only registers handlers; the runtime receives
-- its messages and dispatches them. It reports to the PID in its `Watcher` tag on topic "seen".
local watcher = ao.env.Process.Tags.Watcher

local function tell(what, value)
    if watcher then
        process.send(watcher, "seen", { what = what, value = value })
    end
end

tell("started", {
    id = ao.id,
    process_id = ao.env.Process.Id,
    owner = ao.env.Process.Owner,
    tags = ao.env.Process.Tags,
    module_id = ao.env.Module.Id,
    module_owner = ao.env.Module.Owner,
    module_tags = ao.env.Module.Tags,
})

Handlers.add("echo", "Echo", function(msg)
    tell("echo", {
        Id = msg.Id, From = msg.From, Owner = msg.Owner, Target = msg.Target, Action = msg.Action,
        Data = msg.Data, Tags = msg.Tags, Color = msg.Color,
    })
end)

Handlers.add("table", { Action = "Paint", Color = "^bl" }, function(msg) tell("table", msg.Color) end)
Handlers.add("any", { Action = "Any", Size = "_" }, function(msg) tell("any", msg.Size) end)
Handlers.add("alternatives", { Action = { "One", "Two" } }, function(msg) tell("alternatives", msg.Action) end)
Handlers.add("data", Handlers.utils.hasMatchingData("ping"), function(msg) tell("data", msg.Data) end)
Handlers.add("tag", Handlers.utils.hasMatchingTag("Kind", "special"), function(msg) tell("tag", msg.Kind) end)

-- "continue": the first handles and the next matching one still runs; "break" stops there.
Handlers.add("chain1", function(msg)
    if msg.Action == "Chain" then return "continue" end
    return false
end, function() tell("chain", "chain1") end)
Handlers.add("chain2", function(msg)
    if msg.Action == "Chain" then return "break" end
end, function() tell("chain", "chain2") end)
Handlers.add("chain3", "Chain", function() tell("chain", "chain3") end)

-- Failures: a handler that raises, a pattern that raises, a pattern that returns nonsense.
Handlers.add("boom", Handlers.utils.hasMatchingTag("Action", "Boom"), function() error("boom on purpose") end)
Handlers.add("bad_pattern", function(msg)
    if msg.Action == "BadPattern" then error("the pattern failed") end
    return false
end, function() end)
Handlers.add("odd_pattern", function(msg)
    if msg.Action == "OddPattern" then return {} end
    return false
end, function() end)

-- ao.send back to the sender (a plain process), with forged fields that must not survive.
Handlers.add("ask", "Ask", function(msg)
    local ok, err = ao.send({ Target = msg.From, Action = "Answer", Data = msg.Data, Extra = "x",
        From = "forged", Id = "forged-id", Owner = "root" })
    tell("sent", ok == true and "ok" or tostring(err))
    ao.send({ Target = msg.From, Data = "no action" })
end)

Handlers.add("spawn", "Spawn", function(msg)
    local pid, err = ao.spawn(msg.Module or ao.env.Module.Id, msg.Data)
    if pid then
        tell("spawned", pid)
    else
        tell("spawn_failed", { kind = err:kind(), message = err:message() })
    end
end)

Handlers.add("send_bad", "SendBad", function()
    local results = {}
    local _, e1 = ao.send({ Action = "x" })
    results.no_target = e1:kind()
    local _, e2 = ao.send("not a table")
    results.not_a_table = e2:kind()
    local _, e3 = ao.send({ Target = watcher, [1] = "array" })
    results.number_key = e3:kind()
    local many = { Target = watcher }
    for i = 1, 300 do many["T" .. i] = "v" end
    local _, e4 = ao.send(many)
    results.too_many = e4:kind()
    tell("send_bad", results)
end)

-- Lifecycle events of a monitored process arrive as messages whose Action is the event kind.
Handlers.add("watch", "Watch", function(msg) process.monitor(msg.Data) end)
Handlers.add("exit", "pid.exit", function(msg) tell("exit_event", { From = msg.From, kind = msg.Data.kind }) end)

-- Granted modules work in handlers, and a handler may yield (sleep, call) like any process code.
Handlers.add("sleep", "Sleep", function(msg)
    local time = require("time")
    time.sleep("20ms")
    tell("slept", msg.Data)
end)

Handlers.add("alive", "Alive", function() tell("alive", ao.id) end)

-- A process.call reaches a handler with msg.reply.
Handlers.add("question", "Question", function(msg)
    local first = msg.reply({ answer = msg.Data * 2 })
    local second = msg.reply("again")
    tell("replied", { first = first, second = second })
end)
Handlers.add("no_reply", "NoReply", function(msg) tell("no_reply", type(msg.reply)) end)
