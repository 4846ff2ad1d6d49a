-- An AO chat room in the style of seed 000: members register, and a registered member's Broadcast reaches
-- every member. `msg.From` is set by the runtime, so a member cannot speak for another.
local members = {}

Handlers.add("register", "Register", function(msg)
    members[msg.From] = msg.Name or msg.From
    ao.send({ Target = msg.From, Action = "Welcome", Data = "welcome, " .. members[msg.From] })
end)

Handlers.add("broadcast", "Broadcast", function(msg)
    local speaker = members[msg.From]
    if not speaker then
        return
    end
    for pid in pairs(members) do
        ao.send({ Target = pid, Action = "Broadcasted", Speaker = speaker, Data = msg.Data })
    end
end)

-- The operator asks who is in the room (a process.call, answered with msg.reply).
Handlers.add("members", "Members", function(msg)
    local names = {}
    for _, name in pairs(members) do
        table.insert(names, name)
    end
    table.sort(names)
    msg.reply(names)
end)
