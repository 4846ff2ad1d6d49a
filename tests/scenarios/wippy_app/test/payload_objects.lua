-- In the reference dialect msg:payload() is a payload object whose :data() is the value.
local time = require("time")

local function main()
    local me = process.pid()
    process.send(me, "greeting", { text = "hello", n = 3 })
    local inbox = process.inbox()
    local r = channel.select({ inbox:case_receive(), time.after("3s"):case_receive() })
    if r.channel ~= inbox then
        return false, "no message"
    end
    local msg = r.value
    if msg:topic() ~= "greeting" then
        return false, "topic " .. msg:topic()
    end
    local payload = msg:payload()
    if type(payload) ~= "userdata" then
        return false, "payload should be an object, got " .. type(payload)
    end
    local data = payload:data()
    if data.text ~= "hello" or data.n ~= 3 then
        return false, "data() gave the wrong value"
    end
    if msg:from() ~= me then
        return false, "from should be the sender, got " .. tostring(msg:from())
    end

    -- several values: data() is the array
    process.send(me, "pair", "a", "b")
    local pair = inbox:receive():payload():data()
    if pair[1] ~= "a" or pair[2] ~= "b" then
        return false, "several values"
    end

    -- message-mode listeners give the same objects; raw listeners the plain value
    local full = process.listen("full", { message = true })
    process.send(me, "full", 7)
    if full:receive():payload():data() ~= 7 then
        return false, "message-mode listener"
    end
    local raw = process.listen("raw")
    process.send(me, "raw", 8)
    if raw:receive() ~= 8 then
        return false, "raw listener"
    end
    return true
end

return { main = main }
