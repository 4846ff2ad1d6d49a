-- On a host with small message bounds: tries sends and spawns over and under them, returns the outcomes
-- (true, or the error kind).
local function nested(depth: number)
    local root = {}
    local cur = root
    for _ = 2, depth do
        cur.next = {}
        cur = cur.next
    end
    return root
end

local function outcome(ok, err)
    if ok then
        return true
    end
    return err:kind()
end

local function main(parent: string)
    local big = string.rep("x", 2000)
    return {
        small = outcome(process.send(parent, "small", "fits")),
        too_big = outcome(process.send(parent, "big", big)),
        too_big_split = outcome(process.send(parent, "big", string.rep("y", 600), string.rep("z", 600))),
        depth_ok = outcome(process.send(parent, "deep_ok", nested(4))),
        too_deep = outcome(process.send(parent, "deep", nested(5))),
        spawn_big = outcome(process.spawn("app:noop", "app:procs", big)),
        spawn_deep = outcome(process.spawn("app:noop", "app:procs", nested(6))),
        exec_big = outcome(process.exec("app:noop", "app:procs", big)),
    }
end

return { main = main }
