-- Exits at once: `raise` raises, `fail` returns nil plus an error, anything else is returned.
local function main(mode, detail)
    if mode == "raise" then
        error("quick raised: " .. tostring(detail), 0)
    elseif mode == "fail" then
        return nil, "quick failed: " .. tostring(detail)
    end
    return mode
end

return { main = main }
