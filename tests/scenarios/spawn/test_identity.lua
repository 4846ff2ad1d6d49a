local t = require("t")

local function main()
    local pid = process.pid()
    t.eq(type(pid), "string", "pid type")
    t.eq(string.sub(pid, 1, 1), "{", "a pid is the runtime's opaque text form")
    t.eq(process.pid(), pid, "pid is stable")
    t.contains(pid, "app:procs", "the pid names the host")
    t.eq(process.id(), "app:identity", "process.id() is the entry id")

    -- a child has its own pid and id; two children never share a pid
    local a = process.spawn("app:reporter", "app:procs", pid)
    local b = process.spawn("app:reporter", "app:procs", pid)
    t.ok(a ~= pid and b ~= pid and a ~= b, "distinct pids")
    local seen = {}
    for _ = 1, 2 do
        local m = t.msg("hello")
        local hello = m:payload()
        t.eq(hello.id, "app:reporter", "child's process.id()")
        t.eq(m:from(), hello.pid, "msg:from() is the sender's pid")
        seen[hello.pid] = true
    end
    t.ok(seen[a] and seen[b], "each child reported its own pid")
    process.send(a, "stop")
    process.send(b, "stop")
    return true
end

return { main = main }
