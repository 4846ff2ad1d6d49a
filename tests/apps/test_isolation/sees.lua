-- Passes only when the previous test's name did not reach this test's runtime.
local function main()
    local pid = process.registry.lookup("leftover")
    if pid ~= nil then
        return nil, "the previous test's name `leftover` is still registered"
    end
    return true
end

return { main = main }
