-- Hostile errors: huge messages, huge or cyclic details, deep wrap chains, deep stacks.
local t = require("t")

local function main()
    local huge = "start " .. string.rep("x", 1000000) .. " end"
    local big = errors.new(huge)
    t.ok(#big:message() <= 8192, "a message is bounded: " .. #big:message())
    t.ok(string.sub(big:message(), 1, 6) == "start ", "it keeps its start")
    t.ok(string.sub(big:message(), -4) == " end", "and its end")

    local many = {}
    for i = 1, 100000 do
        many[i] = i
    end
    local ok, err = pcall(errors.new, { message = "m", details = many })
    t.eq(ok, false)
    t.contains(tostring(err), "LIMIT_EXCEEDED")
    local deep = {}
    local cur = deep
    for _ = 1, 100 do
        cur.next = {}
        cur = cur.next
    end
    ok, err = pcall(errors.new, { message = "m", details = deep })
    t.eq(ok, false, "details nested past the bound")
    local cyclic = {}
    cyclic.self = cyclic
    ok, err = pcall(errors.new, { message = "m", details = cyclic })
    t.eq(ok, false)
    t.contains(tostring(err), "INVALID")

    -- A long chain of wraps: the text stays bounded, keeps the newest context and the first cause.
    local chain = errors.new({ message = "root cause", kind = errors.UNAVAILABLE, retryable = true })
    for i = 1, 20000 do
        chain = errors.wrap(chain, "layer " .. i)
    end
    t.ok(#chain:message() <= 8192, "a wrapped chain is bounded: " .. #chain:message())
    t.ok(string.sub(chain:message(), 1, 12) == "layer 20000:", "it starts with the newest context")
    t.ok(string.sub(chain:message(), -10) == "root cause", "it ends with the first cause")
    t.eq(chain:kind(), errors.UNAVAILABLE)
    t.eq(chain:retryable(), true)
    local long_context = errors.wrap(chain, string.rep("c", 1000000))
    t.ok(#long_context:message() <= 8192, "a huge context is bounded too")

    -- A deep Lua stack: only the innermost frames are kept.
    local function dive(n)
        if n == 0 then
            return errors.new("deep")
        end
        local e = dive(n - 1)
        return e
    end
    local frames = errors.call_stack(dive(150)).frames
    t.ok(#frames <= 32, "at most 32 frames: " .. #frames)
    t.eq(frames[1].name, "dive")
    return true
end

return { main = main }
