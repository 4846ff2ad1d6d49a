-- Answers what it was given.
local function main(text: string)
    return text .. " from the worker"
end

return { main = main }
