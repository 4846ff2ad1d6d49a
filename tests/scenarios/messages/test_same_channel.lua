local t = require("t")

local function main()
    t.ok(rawequal(process.inbox(), process.inbox()), "inbox() is the same object every call")
    t.ok(rawequal(process.events(), process.events()), "events() is the same object every call")
    local a = process.listen("a")
    t.ok(rawequal(a, process.listen("a")), "listen(t) is the same object every call")
    t.ok(rawequal(a, process.listen("a", { message = true })), "even with other options")
    t.ok(not rawequal(a, process.listen("b")), "another topic has another channel")
    t.ok(not rawequal(process.inbox(), process.events()), "inbox and events differ")
    t.ok(process.inbox() ~= a, "a listener is not the inbox")
    -- channels from the mailbox work in select with the others
    process.send(process.pid(), "b", "via b")
    local r = channel.select({ a:case_receive(), process.listen("b"):case_receive(), process.inbox():case_receive() })
    t.ok(rawequal(r.channel, process.listen("b")), "select reports the channel object")
    t.eq(r.value, "via b", "value")
    return true
end

return { main = main }
