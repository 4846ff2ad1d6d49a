local function main()
    local inbox = process.listen("ping")
    local payload = inbox:receive()
    return payload
end

return { main = main }
