-- Asks `killer` to terminate it and waits.
local function main(killer: string)
    process.send(killer, "kill_me")
    channel.new(0):receive()
    return "survived"
end

return { main = main }
