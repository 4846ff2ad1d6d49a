-- Answers one ping with a pong, then returns.
local function main()
    local msg = process.inbox():receive()
    process.send(msg:from(), "reply", "pong")
    return "done"
end

return { main = main }
