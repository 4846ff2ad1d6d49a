-- Runs without the `tester` scope: only unscoped policies apply, and none permits anything.
local function main(parent: string)
    local results = {}
    local ok, err = process.send(parent, "hello", 1)
    results.send = ok or err:kind()
    local pid
    pid, err = process.spawn("app:runner", "app:procs", parent)
    results.spawn = pid or err:kind()
    ok, err = process.registry.register("scopeless_name")
    results.register = ok or err:kind()
    return results
end

return { main = main }
