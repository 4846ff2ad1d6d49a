-- Returns its argument at once.
local function main(value)
    return value
end

return { main = main }
