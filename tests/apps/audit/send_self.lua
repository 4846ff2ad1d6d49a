-- One send to itself: "sent", or the error's kind and message.
local function main()
    local ok, err = process.send(process.pid(), "tick", 1)
    if ok then
        return "sent"
    end
    return { kind = err:kind(), message = err:message() }
end

return { main = main }
