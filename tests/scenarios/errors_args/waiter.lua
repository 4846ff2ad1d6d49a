-- Blocks on a channel nobody sends to: only terminate (or a cancel deadline) ends it.
local function main()
    channel.new(0):receive()
    return "never"
end

return { main = main }
