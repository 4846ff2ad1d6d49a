-- Tries each builder step under its own actor and scope; returns {step = "ok" | kind..": "..message}.
local security = require("security")

local function attempt(f)
    local ok, err = pcall(f)
    if ok then
        return "ok"
    end
    if type(err) == "userdata" then
        return err:kind() .. ": " .. err:message()
    end
    return "raised a " .. type(err) .. ": " .. tostring(err)
end

local function main()
    local results = {}
    results.with_context = attempt(function()
        return process.with_context({ a = 1 })
    end)
    local ok, builder = pcall(process.with_context, {})
    if ok then
        results.with_actor = attempt(function()
            return builder:with_actor(security.new_actor("user:mallory"))
        end)
        results.with_scope = attempt(function()
            return builder:with_scope(security.new_scope({ "security" }))
        end)
        results.chained = attempt(function()
            return builder:with_context({ b = 2 })
        end)
    end
    return results
end

return { main = main }
