-- Starts a linked worker, reports it, and waits forever: without trap_links a LINK_DOWN kills it.
local function main(parent: string)
    local worker = process.spawn_linked("app:worker", "app:procs")
    process.send(parent, "worker", worker)
    channel.new(0):receive()
    return "never"
end

return { main = main }
