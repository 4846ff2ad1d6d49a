-- Says that it ran (with its PID) and reports back to the root.
local function main(root: string, n: number)
    print("ran", process.pid())
    process.send(root, "done", n)
end

return { main = main }
