-- Runs `entry` with process.exec and ends the way it ended.
local function main(entry: string, ...)
    return process.exec(entry, "app:procs", ...)
end

return { main = main }
