-- Makes `n` calls to a callee (process.call, waiting for each reply); then a stop message.
local function main(n: number)
    local callee = process.spawn("bench:callee", "bench:processes")
    for i = 1, n do
        process.call(callee, "ping", i)
    end
    process.send(callee, "stop", 0)
    return n
end

return { main = main }
