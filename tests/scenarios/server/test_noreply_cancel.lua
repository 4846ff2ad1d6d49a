-- server.noreply keeps the call open; process.reply(from, v) answers it later. A CANCEL runs
-- terminate("cancel") and the server exits normally.
local t = require("t")
local time = require("time")
local server = require("server")

local function main()
    local seen = process.listen("seen")
    local results = process.listen("result")
    local kv = t.ok(process.spawn("app:kv", "app:procs", process.pid()))
    seen:receive() -- init
    t.ok(process.spawn("app:asker", "app:procs", process.pid(), kv))
    -- Once the asker's call is parked (noreply), another call makes the server answer it.
    local answered = nil
    for _ = 1, 100 do
        answered = server.call(kv, { op = "answer_later" })
        if answered == "done" then
            break
        end
        time.sleep("5ms")
    end
    local r = channel.select({ results:case_receive(), time.after("2s"):case_receive() })
    t.ok(r.channel == results, "the asker got its answer")
    t.eq(r.value.value, "late answer")
    t.eq(r.value.error, nil)

    t.ok(process.cancel(kv, "1s"))
    local term = seen:receive()
    t.eq(term.what, "terminate")
    t.eq(term.value, "cancel")
    return true
end

return { main = main }
