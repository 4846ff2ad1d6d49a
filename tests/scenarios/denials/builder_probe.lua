-- Tries process.with_context, :with_actor and :with_scope; returns {step = "ok" | "KIND: message"}.
local security = require("security")

local function attempt(f)
    local ok, err = pcall(f)
    if ok then
        return "ok"
    end
    return err:kind() .. ": " .. err:message()
end

local function main()
    local results = {}
    local builder
    results.with_context = attempt(function()
        builder = process.with_context({ a = 1 })
    end)
    results.builder = builder ~= nil
    if builder then
        local derived
        results.with_actor = attempt(function()
            derived = builder:with_actor(security.new_actor("user:mallory"))
        end)
        results.with_scope = attempt(function()
            derived = builder:with_scope(security.new_scope({ "tester" }))
        end)
        results.derived = derived ~= nil
    end
    return results
end

return { main = main }
