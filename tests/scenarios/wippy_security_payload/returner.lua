-- Returns a payload object from main: its value is the process's result.
local function main(n)
    return payload.new({ doubled = n * 2, tags = { "a", "b" } })
end

return { main = main }
