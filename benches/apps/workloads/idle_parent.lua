-- Spawns `n` processes that wait on `stop`, tells the bench on `ready` (through the return of a first
-- phase), then waits for `go` before stopping them all and returning.
local function main(n: number)
    local ctl = process.listen("ctl")
    local pids = table.create(n)
    for i = 1, n do pids[i] = process.spawn("bench:idle_child", "bench:processes") end
    process.registry.register("idle_parent")
    ctl:receive()
    for i = 1, n do process.terminate(pids[i]) end
    return n
end

return { main = main }
