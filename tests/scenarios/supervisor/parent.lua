-- Starts a supervisor of `spec` linked to itself, tells `watcher` its PID on "sup", and raises on "die".
local function main(watcher, spec)
    local sup = assert(process.spawn_linked("app:sup", "app:procs", spec))
    process.send(watcher, "sup", sup)
    local inbox = process.inbox()
    while true do
        if inbox:receive():topic() == "die" then
            error("the parent failed")
        end
    end
end

return { main = main }
