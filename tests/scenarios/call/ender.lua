-- Raises on its first message: a call to it is never answered.
local function main()
    process.inbox():receive()
    error("ended without a reply")
end

return { main = main }
