-- An AO process whose top level works on Handlers and reports the order, then answers "Who" with the name
-- of the handler that took it.
local watcher = ao.env.Process.Tags.Watcher
local function tell(what, value) process.send(watcher, "seen", { what = what, value = value }) end

local function names()
    local out = {}
    for i, h in ipairs(Handlers.list) do
        out[i] = h.name
    end
    return table.concat(out, ",")
end

local function who(name)
    return function() tell("who", name) end
end

Handlers.add("a", "Who", who("a"))
Handlers.add("b", "Who", who("b"))
Handlers.add("c", "Who", who("c"))
tell("added", names())
-- add of an existing name replaces it in place
Handlers.add("b", "Other", who("b2"))
tell("replaced", names())
tell("replaced_pattern", Handlers.list[2].pattern)
-- prepend / append move an existing name
Handlers.prepend("c", "Who", who("c"))
tell("prepended", names())
Handlers.append("a", "Who", who("a"))
tell("appended", names())
tell("removed", tostring(Handlers.remove("b")) .. ":" .. tostring(Handlers.remove("nope")) .. ":" .. names())
-- the list is read-only
local ok = pcall(function() Handlers.list[1] = nil end)
local ok2 = pcall(function() Handlers.list = {} end)
local ok3 = pcall(function() Handlers.list[1].name = "x" end)
tell("read_only", tostring(ok) .. tostring(ok2) .. tostring(ok3) .. ":" .. names())
-- bad registrations raise
local bad = {}
bad.pattern = select(2, pcall(Handlers.add, "x", 42, function() end))
bad.handle = select(2, pcall(Handlers.add, "x", "X", "not a function"))
bad.name = select(2, pcall(Handlers.add, 7, "X", function() end))
tell("bad", { pattern = tostring(bad.pattern), handle = tostring(bad.handle), name = tostring(bad.name) })
-- at most 1024 handlers
for i = 1, 1022 do
    Handlers.add("many" .. i, "Never", function() end)
end
local full, err = pcall(Handlers.add, "one_too_many", "Never", function() end)
tell("limit", { ok = full, kind = type(err) == "userdata" and err:kind() or tostring(err), count = #Handlers.list })
for i = 1, 1022 do
    Handlers.remove("many" .. i)
end
tell("ready", names())
