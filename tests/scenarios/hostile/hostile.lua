-- The attacks of the hostile suite (compute, control flow, memory, escapes, bounds); `kind` picks one.
local attacks = {}
-- Work an attack does before it reports `started`, so that it is done before the neighbour starts.
local before = {}

-- `value, err` of a process call: the value, or the error raised as `KIND: message` (the exit's error text).
local function must(value, err)
    if err ~= nil then error(err:kind() .. ": " .. err:message(), 0) end
    return value
end

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

-- Loading code: every chunk loader is absent (Luau has no `string.dump`), so no script hands the VM bytes.
function attacks.load() return load("return 1")() end
function attacks.loadstring() return loadstring("\27Lua")() end
function attacks.string_dump() return string.dump(print) end
function attacks.getfenv() return getfenv(1) end
function attacks.setfenv() return setfenv(1, {}) end

-- Writing shared tables: the libraries, the VM's globals and the string metatable are read-only.
function attacks.write_string() string.rep = function() return "" end end
function attacks.write_table() table.insert = nil end
function attacks.write_G() _G.print = nil end
function attacks.rawset_G() rawset(_G, "process", nil) end
function attacks.setmetatable_G() setmetatable(_G, { __index = function() return "pwned" end }) end
function attacks.string_meta() getmetatable("").__index = { upper = function() return "pwned" end } end
function attacks.string_meta_index() getmetatable("").__index.upper = function() return "pwned" end end

-- Nested shared tables (boundary class 1): `process.registry` and `process.event` are tables inside a sealed
-- global, the userdata metatables and `require`d modules are shared by every process of the VM. A function
-- planted there would run with the identity of whichever process calls it; every one of them is frozen.
function attacks.planted_registry(parent: string)
    process.registry.register = function(...) process.send(parent, "pwned", ...) end
end
function attacks.planted_event() process.event.EXIT = "pwned" end
-- userdata metatables are hidden: `getmetatable` of a channel or an error object is `false`
function attacks.planted_userdata_meta() getmetatable(channel.new()).__index = function() return print end end
function attacks.planted_error_meta() getmetatable(errors.new(errors.INVALID, "x")).__tostring = print end
function attacks.planted_string_meta() rawset(getmetatable(""), "__call", print) end
function attacks.planted_builder() getmetatable(process.with_context({})).spawn = print end

-- Tenant numbers meeting time (boundary class 2a): out-of-range, negative, NaN and infinite durations and far
-- future times are `INVALID` naming the value, never a panic of the runtime. Each returns what it saw:
-- `kind: message` of every refusal, in order; then the attacker returns normally.
local function refusal(f, ...)
    local ok, value, err = pcall(f, ...)
    if not ok then return "raised " .. tostring(value) end
    if value == nil and err ~= nil then return err:kind() .. ": " .. err:message() end
    return "accepted " .. tostring(value)
end
function attacks.tenant_numbers()
    local time = require("time")
    local target = must(process.spawn("app:idle", "app:tight", process.pid()))
    local seen = {}
    for _, d in { 1e300, -1, 0 / 0, math.huge, -math.huge, "300000years", 2 ^ 53 } do
        table.insert(seen, refusal(time.sleep, d))
        table.insert(seen, refusal(time.after, d))
        table.insert(seen, refusal(time.ticker, d))
        table.insert(seen, refusal(time.parse_duration, d))
        table.insert(seen, refusal(process.cancel, target, d))
    end
    local now = time.now()
    table.insert(seen, refusal(now.add, now, 1e300))
    table.insert(seen, refusal(now.add, now, "300000years"))
    -- the latest time that can be reached, 100 years at a time, still formats; one step past it is refused
    local far = now
    for _ = 1, 80 do
        local ok, later = pcall(far.add, far, "100years")
        if not ok then table.insert(seen, "far: " .. tostring(later)); break end
        far = later
    end
    table.insert(seen, "formatted " .. far:format_rfc3339() .. " " .. tostring(far))
    table.insert(seen, "nanos " .. tostring(far:unix_nano() > 0))
    return seen
end

-- Exponential copies (boundary class 5): a table that holds another twice, 24 times over, is 24 tables in
-- the VM and 2^24 to copy. The conversion stops at the sender's byte bound, after about a megabyte.
local function doubled()
    local t = { "x" }
    for _ = 1, 24 do t = { t, t } end
    return t
end
function attacks.send_doubling(parent: string) must(process.send(parent, "x", doubled())) end
function attacks.return_doubling() return doubled() end
function attacks.spawn_doubling() must(process.spawn("app:idle", "app:bounded", doubled())) end
-- A 12 MiB error text reaches the monitor cut to the host's message bound (1 MiB).
function attacks.huge_error() error(string.rep("e", 12 * 1024 * 1024)) end
function attacks.huge_error_value() return nil, string.rep("e", 12 * 1024 * 1024) end

-- Work that outlives its process (boundary class 4): timers, tickers and cancel deadlines are the process's
-- tasks; a ticker period has a 1 ms floor, a process holds at most 1024 timers and tickers, and any number of
-- cancels of one target hold one deadline task.
function attacks.ticker_floor() require("time").ticker("1ns") end
function attacks.timer_flood()
    local time = require("time")
    while true do time.after("1h") end
end
function attacks.cancel_flood()
    local child = must(process.spawn("app:idle", "app:tight", process.pid()))
    for _ = 1, 10000 do must(process.cancel(child, "1h")) end
    return 10000
end

-- Another process's globals: the attacker shadows library names and sets its own globals (allowed: they
-- are its own table) before the neighbour starts; the neighbour checks its own view is untouched.
function before.other_globals()
    tostring = function() return "pwned" end
    string = { rep = function() return "" end }
    pwned = true
end
function attacks.other_globals()
    -- its own writes hold for itself, and reach no one else
    assert(tostring(1) == "pwned" and pwned == true, "own globals")
    _G.pwned = true
end

-- Modules: `require` resolves only what the entry grants; no paths, no files.
function attacks.require_path() return require("../x") end
function attacks.require_ungranted() return require("time") end

function attacks.gc_stop() collectgarbage("stop") end
-- What `collectgarbage("count")` tells: its own KiB before and after holding a 1 MiB string.
function attacks.gc_count()
    local before = collectgarbage("count")
    local s = string.rep("m", 1024 * 1024)
    return { before, collectgarbage("count"), #s }
end

-- Values that cannot be copied between processes.
function attacks.send_function(parent: string) must(process.send(parent, "x", { f = print })) end
function attacks.send_userdata(parent: string) must(process.send(parent, "x", { channel.new() })) end
function attacks.send_error_object(parent: string) must(process.send(parent, "x", errors.new(errors.INVALID, "e"))) end
function attacks.send_thread(parent: string) must(process.send(parent, "x", coroutine.create(print))) end
function attacks.send_cycle(parent: string)
    local t = { a = { b = {} } }
    t.a.b.c = t
    must(process.send(parent, "x", t))
end
function attacks.send_deep(parent: string)
    local t = {}
    for _ = 1, 1000 do t = { t } end
    must(process.send(parent, "x", t))
end
function attacks.spawn_function_argument()
    must(process.spawn("app:neighbour", "app:bounded", function() end))
end

-- Without end: each loop runs until the runtime refuses, and the refusal ends the attacker.
function attacks.flood(parent: string)
    local sink = must(process.spawn("app:idle", "app:bounded", process.pid()))
    local i = 0
    while true do
        i += 1
        must(process.send(sink, "flood", i))
    end
end
function attacks.spawn_forever()
    while true do must(process.spawn("app:idle", "app:bounded", process.pid())) end
end
function attacks.register_forever()
    local i = 0
    while true do
        i += 1
        must(process.registry.register("hostile.name." .. i))
    end
end

-- Identities: what `tostring` shows of tables, functions, threads and userdata.
function attacks.tostring_address()
    local shown = {}
    for _ = 1, 16 do table.insert(shown, tostring({})) end
    table.insert(shown, tostring(print))
    table.insert(shown, tostring(function() end))
    table.insert(shown, tostring(coroutine.create(print)))
    table.insert(shown, tostring(buffer.create(1)))
    return shown
end

local function main(kind: string, parent: string)
    if before[kind] then before[kind]() end
    process.send(parent, "started", kind)
    return attacks[kind](parent)
end

return { main = main }
