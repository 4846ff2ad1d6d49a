-- Version 2: never reached when the upgrade is denied.
local function main(parent: string)
    process.send(parent, "v2_started", process.pid())
    return "v2"
end

return { main = main }
