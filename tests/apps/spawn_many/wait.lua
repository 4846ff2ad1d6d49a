-- Says that the node is up, then waits on its inbox for ever.
local function main()
    print("ready")
    process.inbox():receive()
end

return { main = main }
