-- Binds each of `names` to `pid` (another process), reports how each went, and exits when told to: the
-- names it paid for go with it.
local function main(parent: string, names: { string }, pid: string)
    local outcome = {}
    for i, name in names do
        local ok, err = process.registry.register(name, pid)
        outcome[i] = if ok then "ok" else err:kind()
    end
    process.send(parent, "bound", outcome)
    local msg = process.inbox():receive()
    return msg:topic()
end

return { main = main }
