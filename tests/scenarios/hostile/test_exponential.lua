-- Boundary class 5, exponential copies: a 2^24-table value built from 24 shared tables, sent, passed to a
-- spawn and returned, ends quickly with LIMIT_EXCEEDED naming the byte bound (the conversion stops at it,
-- instead of walking 2^24 tables), and the neighbour on the same VM finishes (see case.lua). A 12 MiB error
-- text reaches the monitor cut to the host's 1 MiB message bound.
local t = require("t")
local case = require("case")

local function main()
    local bound = "over the 1048576 byte bound (max_message_bytes)"
    case("send_doubling", { "LIMIT_EXCEEDED: payload[1]", bound }, false)
    case("return_doubling", { "LIMIT_EXCEEDED: return value", bound }, false)
    case("spawn_doubling", { "LIMIT_EXCEEDED: argument[1]", bound }, false, "app:bounded")
    for _, kind in { "huge_error", "huge_error_value" } do
        case(kind, function(exit)
            t.ok(exit.error, kind .. ": an abnormal exit")
            t.ok(#exit.error <= 1024 * 1024, kind .. ": cut to the bound: " .. #exit.error)
            t.ok(#exit.error > 1000 * 1000, kind .. ": most of it kept: " .. string.sub(exit.error, 1, 200))
            t.eq(string.sub(exit.error, -3), "…", kind .. ": ends with an ellipsis")
            t.eq(exit.result.error, exit.error, kind .. ": the same text in the result")
        end, false, "app:roomy")
    end
    t.empty(process.inbox(), "no refused payload was delivered")
    return true
end

return { main = main }
