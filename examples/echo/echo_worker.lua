-- Listens on "echo" in message mode and replies to the sender on "reply" (seed 001, "消息模式获取发送者信息").
local function main()
    local ch = process.listen("echo", { message = true })
    local msg = ch:receive()
    if msg and msg:from() then
        process.send(msg:from(), "reply", msg:payload())
        return true
    end
    return false
end

return { main = main }
