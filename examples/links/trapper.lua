local function main()
    process.set_options({ trap_links = true })
    local events = process.events()
    local child = process.spawn_linked("app:failing_child", "app:processes")
    local event = events:receive()
    if event.kind == process.event.LINK_DOWN and event.from == child then
        return "LINK_DOWN: " .. event.error
    end
    return nil, "expected LINK_DOWN, got " .. tostring(event.kind)
end

return { main = main }
