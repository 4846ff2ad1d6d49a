-- Registers the name `leftover` for itself, tells its parent, then waits for a message that never comes: it
-- lives until its runtime stops.
local function main(parent)
    assert(process.registry.register("leftover"))
    process.send(parent, "ready", true)
    process.inbox():receive()
    return true
end

return { main = main }
