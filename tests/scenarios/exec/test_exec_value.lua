local t = require("t")

local function main()
    t.eq(process.exec("app:ender", "app:procs", "value", 42), 42, "exec returns the child's value")
    t.deep(process.exec("app:ender", "app:procs", "value", { a = { 1, 2 } }), { a = { 1, 2 } }, "a table value")
    t.eq(process.exec("app:ender", "app:procs", "value", false), false, "false")
    local v, err = process.exec("app:ender", "app:procs", "nothing")
    t.eq(v, nil, "no value")
    t.eq(err, nil, "and no error")
    -- only the first return value
    v, err = process.exec("app:ender", "app:procs", "pair", "first", nil)
    t.eq(v, "first", "first value")
    t.eq(err, nil, "no error")
    -- arguments reach main, and exec nests
    t.eq(process.exec("app:adder", "app:procs", 1, 2, 3, 4), 10, "nested exec")
    -- exec leaves no monitor or link behind
    t.empty(process.events(), "events")
    return true
end

return { main = main }
