-- Starts the supervisor, has the worker write to the key-value server, crashes the worker, and shows that
-- the supervisor restarted the worker while the server (and what it holds) kept running.
local time = require("time")
local server = require("server")
local supervisor = require("supervisor")

local function child(sup, id)
    for _, c in ipairs(assert(supervisor.which_children(sup))) do
        if c.id == id then
            return c.pid
        end
    end
    return nil
end

local function job(worker, key, value)
    local done = process.listen("done")
    process.send(worker, "job", { key = key, value = value })
    local r = channel.select({ done:case_receive(), time.after("5s"):case_receive() })
    assert(r.channel == done, "the worker did not answer")
end

local function main()
    local sup = assert(process.spawn_monitored("app:sup", "app:processes"))
    local kv = child(sup, "kv")
    -- The server registers its name as it starts (its start runs concurrently with the next child's).
    for _ = 1, 200 do
        if process.registry.lookup("kv") then
            break
        end
        time.sleep("5ms")
    end
    local worker = child(sup, "worker")
    job(worker, "a", 1)
    process.send(worker, "crash")
    -- Wait for the supervisor to start a new worker.
    local restarted = nil
    for _ = 1, 200 do
        restarted = child(sup, "worker")
        if restarted and restarted ~= worker then
            break
        end
        time.sleep("5ms")
    end
    job(restarted, "b", 2)
    local result = {
        a = server.call("kv", { op = "get", key = "a" }),
        b = server.call("kv", { op = "get", key = "b" }),
        worker_restarted = restarted ~= worker,
        kv_kept_running = child(sup, "kv") == kv,
    }
    process.cancel(sup, "5s")
    local ev = process.events():receive()
    result.supervisor_stopped = ev.kind == process.event.EXIT and ev.error == nil
    return result
end

return { main = main }
