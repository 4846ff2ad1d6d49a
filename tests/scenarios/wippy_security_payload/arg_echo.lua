-- Sends its second spawn argument back to the PID given as the first.
local function main(parent, value)
    process.send(parent, "args", value)
    return true
end

return { main = main }
