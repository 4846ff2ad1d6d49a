-- The attacks of the compute and control-flow part of the hostile suite; `kind` picks one.
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

local function main(kind: string, parent: string)
    process.send(parent, "started", kind)
    return attacks[kind]()
end

return { main = main }
