-- Does not trap links: when its linked child fails, it exits too (the cascade).
local function main()
    process.spawn_linked("app:failing_child", "app:processes")
    local never = channel.new(0)
    never:receive()
    return "not reached"
end

return { main = main }
