-- Sends `n` numbered messages to `parent`, alternating between the given topics; returns n.
local function main(parent: string, n: number, topics: { string })
    for i = 1, n do
        local topic = topics[(i - 1) % #topics + 1]
        local ok, err = process.send(parent, topic, i)
        if not ok then
            return nil, err
        end
    end
    return n
end

return { main = main }
