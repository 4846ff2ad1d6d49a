-- Escapes from the sandbox: loading code, the environment functions, writing shared tables or another
-- process's globals, requiring paths or ungranted modules, stopping the collector, reading addresses. Each
-- attacker ends refused (see case.lua), and its neighbour on the same VM finishes with its globals intact.
local t = require("t")
local case = require("case")

local function main()
    local absent = "attempt to call a nil value"
    for _, kind in { "load", "loadstring", "string_dump", "getfenv", "setfenv" } do
        case(kind, absent, false)
    end
    local readonly = "attempt to modify a readonly table"
    for _, kind in { "write_string", "write_table", "write_G", "rawset_G", "setmetatable_G", "string_meta",
                     "string_meta_index", "other_globals" } do
        case(kind, readonly, false)
    end
    case("require_path", "module `../x` is not granted to entry `app:hostile`", false)
    case("require_ungranted", "module `time` is not granted to entry `app:hostile`", false)
    case("gc_stop", 'collectgarbage("stop") is not allowed', false)
    -- `collectgarbage("count")` is the process's own memory: a fresh process holds a few KiB (the VM's
    -- globals and its neighbours' memory, hundreds of KiB, are not in it), and a 1 MiB string adds 1 MiB.
    case("gc_count", function(exit)
        local seen = exit.result.value
        t.eq(type(seen), "table", "gc_count returns what it saw (" .. tostring(exit.error) .. ")")
        -- (0 when the collector freed a previous holder's leftovers of the same memory category first: the
        -- count is net of the slot's baseline, `interrupt::held_by`)
        t.ok(seen[1] >= 0 and seen[1] < 64, "a fresh process holds a few KiB: " .. seen[1])
        -- (within 64 KiB of it: the collector may free a previous holder's leftovers of the same category
        -- meanwhile, which the count, net of the slot's baseline, subtracts)
        t.ok(seen[2] > 1024 - 64 and seen[2] < 1024 + 64, "then its 1 MiB string: " .. seen[2])
    end, false)

    -- Identities are shown, addresses are not: Luau's pointer encoding with a key drawn per VM. Real heap
    -- addresses are below 2^47, so sixteen of them printed as 16 hex digits all start `0000`; encoded ones
    -- almost surely do not (each does with odds 2^-16).
    case("tostring_address", function(exit)
        local shown = exit.result.value
        t.eq(type(shown), "table", "tostring_address returns what it saw (" .. tostring(exit.error) .. ")")
        t.eq(#shown, 20, "everything it printed")
        local seen, high = {}, 0
        for i, text in shown do
            local hex = string.match(text, "^%a+: 0x(%x+)$")
            t.ok(hex and #hex == 16, "an identity of 16 hex digits: " .. text)
            t.ok(not seen[hex], "identities are distinct: " .. text)
            seen[hex] = true
            if i <= 16 and string.sub(hex, 1, 4) ~= "0000" then high += 1 end
        end
        t.ok(high > 0, "the identities of tables are not heap addresses: " .. table.concat(shown, " ", 1, 4))
    end, false)
    return true
end

return { main = main }
