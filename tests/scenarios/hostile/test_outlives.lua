-- Boundary class 4, work that outlives its process: a ticker under the 1 ms floor is INVALID; timers without
-- end stop at the per-process bound (1024) with LIMIT_EXCEEDED, and every one of them stops when the attacker
-- exits; 10 000 cancels of one process hold a single deadline. The neighbour on the same VM finishes (see
-- case.lua). That no task remains after the exit is asserted in `sandbox/tests/owned.rs` (paused time).
local t = require("t")
local case = require("case")

local function main()
    local timed = "app:hostile_timed"
    case("ticker_floor", { "INVALID", "ticker period 1ns is under the floor of 1ms" }, false, "app:tight", timed)
    case("timer_flood", { "LIMIT_EXCEEDED", "holds its maximum of 1024 timers and tickers" }, false, "app:tight", timed)
    case("cancel_flood", function(exit)
        t.eq(exit.result and exit.result.value, 10000, "every cancel was accepted (" .. tostring(exit.error) .. ")")
    end, false, "app:tight", timed)
    return true
end

return { main = main }
