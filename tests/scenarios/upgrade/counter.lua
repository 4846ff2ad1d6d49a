-- Reports `n`, then reruns its own code with upgrade(nil, parent, n + 1) until n reaches `limit`.
local seen_globals = leftover -- a global a previous run may have set

local function main(parent: string, n: number, limit: number)
    process.send(parent, "tick", { n = n, pid = process.pid(), leftover = seen_globals })
    leftover = "from run " .. n -- a global of this run: the next run starts from fresh code
    if n >= limit then
        return n
    end
    process.upgrade(nil, parent, n + 1, limit)
    return "not reached"
end

return { main = main }
