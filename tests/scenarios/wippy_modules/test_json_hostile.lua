-- Hostile input: nesting, self-reference and size are bounded, and the process keeps running.
local t = require("t")
local json = require("json")

local function main()
    -- 200 levels of nesting: over the 128 bound, an error, not a stack overflow.
    local deep = {}
    local cur = deep
    for _ = 1, 200 do
        cur.x = {}
        cur = cur.x
    end
    local s, err = json.encode(deep)
    t.eq(s, nil)
    t.ok(string.find(err:message(), "128", 1, true), err:message())

    -- The same in text: serde_json stops at 128.
    local v, derr = json.decode(string.rep("[", 10000) .. string.rep("]", 10000))
    t.eq(v, nil)
    t.eq(derr:kind(), errors.INTERNAL)

    -- A text past what this process has left of its 4 MiB memory limit is LIMIT_EXCEEDED, and the process
    -- keeps running: no host buffer grows past the process's own budget.
    local big = {}
    local chunk = string.rep("x", 64 * 1024)
    for i = 1, 80 do
        big[i] = chunk
    end
    local out, berr = json.encode(big)
    t.eq(out, nil, "5 MiB of text")
    t.eq(berr:kind(), errors.LIMIT_EXCEEDED)
    t.ok(string.find(berr:message(), "memory limit", 1, true), berr:message())
    -- A modest one still works afterwards.
    t.eq(#json.encode({ chunk }), 64 * 1024 + 4)
    return true
end

return { main = main }
