-- Tries to register the name given, and reports `true` or the error's kind to `parent`.
local function main(parent, name)
    local ok, err = process.registry.register(name)
    process.send(parent, "took", ok and "true" or err:kind())
    return true
end

return { main = main }
