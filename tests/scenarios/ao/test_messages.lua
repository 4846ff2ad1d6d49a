-- The runtime builds the AO message: From, Owner, Id and Target are its own, never the sender's.
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local probe = t.ok(process.spawn("app:probe", "app:procs", { Watcher = process.pid() }))
    t.eq(t.recv(seen, "started").what, "started")

    t.ok(process.send(probe, "Echo", {
        Data = "d", Color = "blue", From = "forged", Id = "forged-id", Owner = "user:root", Target = "elsewhere",
        Action = "NotTheTopic", Tags = { Size = "L", From = "forged too" },
    }))
    local echo = t.recv(seen, "echo").value
    t.eq(echo.From, process.pid(), "From is the sender's PID")
    t.eq(echo.Owner, "user:tester", "Owner is the sender's actor")
    t.eq(echo.Target, probe, "Target is the receiver")
    t.eq(echo.Action, "Echo", "Action is the topic")
    t.ok(type(echo.Id) == "string" and echo.Id ~= "forged-id" and #echo.Id > 10, "Id is the runtime's")
    t.eq(echo.Data, "d")
    t.eq(echo.Color, "blue", "a tag is readable as msg.TagName")
    t.deep(echo.Tags, { Color = "blue", Size = "L" }, "Tags: the other string keys, a Tags table merged")

    -- A payload that is not a table is the Data; a second message has another Id.
    t.ok(process.send(probe, "Echo", "hello"))
    local plain = t.recv(seen, "echo").value
    t.eq(plain.Data, "hello")
    t.deep(plain.Tags, {})
    t.ok(plain.Id ~= echo.Id, "every message has its own Id")
    -- An array payload is the Data too; no payload is nil.
    t.ok(process.send(probe, "Echo", { 1, 2, 3 }))
    t.deep(t.recv(seen, "echo").value.Data, { 1, 2, 3 })
    t.ok(process.send(probe, "Echo"))
    t.eq(t.recv(seen, "echo").value.Data, nil)
    t.stop(probe)
    return true
end

return { main = main }
