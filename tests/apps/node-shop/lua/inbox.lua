local function main()
    local inbox = process.listen("ping")
    return inbox:receive()
end

return { main = main }
