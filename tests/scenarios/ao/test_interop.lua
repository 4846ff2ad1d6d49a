-- ao.send to a plain process arrives on topic Action with the message as the payload, its From / Id /
-- Owner the runtime's; a missing Action is topic "ao"; bad messages are errors; events reach handlers.
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local probe = t.ok(process.spawn("app:probe", "app:procs", { Watcher = process.pid() }))
    t.recv(seen, "started")
    process.send(probe, "Ask", { Data = 42 })
    t.eq(t.recv(seen, "sent").value, "ok")
    local answer = t.msg("Answer", probe)
    local p = answer:payload()
    t.eq(p.From, probe, "From is the AO process, not the forged one")
    t.ok(p.Id ~= "forged-id" and type(p.Id) == "string", "Id is the runtime's")
    t.eq(p.Owner, "user:tester", "Owner is the AO process's actor")
    t.eq(p.Action, "Answer")
    t.eq(p.Target, process.pid())
    t.eq(p.Data, 42)
    t.eq(p.Extra, "x", "other fields are tags")
    t.eq(answer:from_actor(), "user:tester")
    local plain = t.msg("ao", probe)
    t.eq(plain:payload().Data, "no action")

    process.send(probe, "SendBad")
    local bad = t.recv(seen, "send_bad").value
    t.deep(bad, { no_target = "INVALID", not_a_table = "INVALID", number_key = "INVALID", too_many = "LIMIT_EXCEEDED" })

    -- An EXIT of a process the AO process monitors is a message with Action "pid.exit".
    local idle = t.ok(process.spawn("app:probe", "app:procs", {}))
    process.send(probe, "Watch", idle)
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "alive").what, "alive")
    process.terminate(idle)
    local exit = t.recv(seen, "exit_event")
    t.eq(exit.what, "exit_event")
    t.eq(exit.value.From, idle)
    t.eq(exit.value.kind, process.event.EXIT)
    -- process.call: a handler answers with msg.reply; a plain send has no msg.reply.
    local answer2 = process.call(probe, "Question", { Data = 21 }, "2s")
    t.deep(answer2, { answer = 42 })
    t.deep(t.recv(seen, "replied").value, { first = true, second = false })
    process.send(probe, "NoReply", { reply = "a tag, not the runtime's reply" })
    t.eq(t.recv(seen, "no_reply").value, "nil")
    t.stop(probe)
    return true
end

return { main = main }
