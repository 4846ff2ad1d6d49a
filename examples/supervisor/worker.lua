-- A worker: a "job" {key, value} is written to the "kv" server and answered with "done"; "crash" makes it
-- fail, as a worker with a bug would.
local server = require("server")

local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "crash" then
            error("the worker crashed on purpose")
        elseif msg:topic() == "job" then
            local job = msg:payload()
            assert(server.call("kv", { op = "put", key = job.key, value = job.value }))
            process.send(msg:from(), "done", job.key)
        end
    end
end

return { main = main }
