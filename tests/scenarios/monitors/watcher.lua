-- Monitors `target`, tells the parent it does, and forwards the EXIT it gets.
local function main(parent: string, target: string)
    local ok, err = process.monitor(target)
    if not ok then
        return nil, err
    end
    process.send(parent, "watching", target)
    local ev = process.events():receive()
    process.send(parent, "saw", { kind = ev.kind, from = ev.from, value = ev.result.value, error = ev.error })
    return true
end

return { main = main }
