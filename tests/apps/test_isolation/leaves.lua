-- Starts a process that outlives this test and holds a name, then passes.
local function main()
    local ready = process.listen("ready")
    assert(process.spawn("app:forever", "app:procs", process.pid()))
    ready:receive()
    return process.registry.lookup("leftover") ~= nil
end

return { main = main }
