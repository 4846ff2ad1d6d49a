-- Talks to the parent, which is waiting in exec, and waits for its answer before returning.
local function main(parent: string)
    process.send(parent, "during_exec", process.pid())
    return { pid = process.pid(), id = process.id() }
end

return { main = main }
