-- The attacks of the hostile suite (compute, control flow, memory); `kind` picks one.
local attacks = {}

function attacks.loop()
    while true do end
end

function attacks.loop_in_pcall()
    while true do
        pcall(function() while true do end end)
    end
end

function attacks.loop_in_xpcall_handler()
    while true do
        xpcall(function() error("boom") end, function() while true do end end)
    end
end

function attacks.loop_in_coroutine()
    local co = coroutine.wrap(function()
        while true do
            pcall(function() while true do end end)
        end
    end)
    co()
end

function attacks.recursion()
    local function down(n) return down(n + 1) + 1 end
    return down(1)
end

function attacks.recursion_in_pcall()
    local function down(n) return down(n + 1) + 1 end
    while true do pcall(down, 1) end
end

function attacks.pattern()
    -- backtracking: each call is bounded by Luau's own match limits; the loop makes it endless
    while true do
        string.find(string.rep("a", 300), string.rep("a-", 12) .. "b")
    end
end

function attacks.tostring_loop()
    local bad = setmetatable({}, { __tostring = function() while true do end end })
    while true do pcall(tostring, bad) end
end

function attacks.error_object_loop()
    local bad = setmetatable({}, { __tostring = function() while true do end end })
    error(bad)
end

function attacks.string_rep()
    local s = string.rep("x", 32 * 1024 * 1024)
    return #s
end

function attacks.string_rep_in_pcall()
    local ok, s = pcall(string.rep, "x", 32 * 1024 * 1024)
    while true do end -- keeps running; the kill must still come as limit.memory
end

function attacks.concat()
    local parts = {}
    for i = 1, 64 do parts[i] = string.rep("y", 1024 * 1024) end
    return #table.concat(parts)
end

function attacks.doubling()
    local s = "z"
    while true do s = s .. s end
end

function attacks.table_growth()
    local t = {}
    local i = 0
    while true do i += 1; t[i] = i end
end

function attacks.table_growth_in_pcall()
    local t = {}
    while true do
        pcall(function() for i = 1, 1e9 do t[#t + 1] = i end end)
    end
end

function attacks.coroutine_bomb()
    local all = {}
    while true do table.insert(all, coroutine.create(function() end)) end
end

function attacks.buffer()
    local b = buffer.create(64 * 1024 * 1024)
    return buffer.len(b)
end

local function main(kind: string, parent: string)
    process.send(parent, "started", kind)
    return attacks[kind]()
end

return { main = main }
