local function main()
    local builder = process.with_context({ a = 1 })
    builder:with_scope(42)
    return true
end

return { main = main }
