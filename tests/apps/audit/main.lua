-- One of each: an allowed monitored spawn, sends both ways, a forbidden terminate, a register no policy permits.
local function main()
    local replies = process.listen("reply")
    local worker = process.spawn_monitored("app:worker", "app:processes")
    process.send(worker, "ping", "hello")
    local reply = replies:receive()
    local exit = process.events():receive()
    local _, terminate_err = process.terminate(process.pid())
    local _, register_err = process.registry.register("svc")
    return {
        reply = reply,
        worker_exit = exit.kind,
        terminate = tostring(terminate_err),
        register = tostring(register_err),
    }
end

return { main = main }
