-- A chat member, an AO process: it registers with the room named in its tags at start, says what it is
-- told to, and reports what it hears to the operator (its `Reporter` tag).
local tags = ao.env.Process.Tags
local room, name, reporter = tags.Room, tags.Name, tags.Reporter

local ok, err = ao.send({ Target = room, Action = "Register", Name = name })
ao.send({ Target = reporter, Action = "Registered", Name = name, Refused = err and err:kind() or nil })

Handlers.add("welcome", "Welcome", function(msg)
    ao.send({ Target = reporter, Action = "Welcomed", Name = name, Data = msg.Data })
end)

Handlers.add("say", "Say", function(msg)
    ao.send({ Target = room, Action = "Broadcast", Data = msg.Data })
end)

Handlers.add("heard", "Broadcasted", function(msg)
    ao.send({ Target = reporter, Action = "Heard", Name = name, Data = msg.Speaker .. ": " .. msg.Data })
end)
