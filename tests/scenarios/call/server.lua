-- Answers calls by topic: `add` the sum of its payload, `echo` the payload, `twice` answers twice and reports
-- what both replies returned, `later` answers through process.reply after a plain message; `stop` returns.
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local topic = msg:topic()
        if topic == "add" then
            local p = msg:payload()
            msg:reply(p[1] + p[2])
        elseif topic == "echo" then
            msg:reply(msg:payload())
        elseif topic == "twice" then
            local first = msg:reply("first")
            local second = msg:reply("second")
            local third = process.reply(msg:reply_to(), "third")
            process.send(msg:from(), "replies", { first, second, third })
        elseif topic == "later" then
            local from = msg:reply_to()
            process.send(process.pid(), "plain", 1)
            local plain = inbox:receive()
            local none, err = plain:reply(1)
            process.send(msg:from(), "plain", { reply_to = plain:reply_to() == nil, kind = err and err:kind() })
            process.reply(from, "later")
        elseif topic == "stop" then
            return "stopped"
        end
    end
end

return { main = main }
