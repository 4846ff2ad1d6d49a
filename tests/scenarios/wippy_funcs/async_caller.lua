-- Starts a slow async call, tells `parent` the function's PID, waits for `go`, and exits without waiting for
-- the call: the call must not outlive it.
local funcs = require("funcs")

local function main(parent)
    local future, err = funcs.async("app:slow", process.pid())
    assert(future, err)
    local inbox = process.inbox()
    local started = inbox:receive()
    process.send(parent, "function_pid", started:payload():data())
    local go = inbox:receive()
    assert(go:topic() == "go")
    return true
end

return { main = main }
