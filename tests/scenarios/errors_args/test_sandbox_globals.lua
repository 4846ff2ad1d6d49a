local t = require("t")

local function main()
    t.eq(io, nil, "no io")
    t.eq(debug, nil, "no debug")
    t.eq(package, nil, "no package")
    t.eq(load, nil, "no load")
    t.eq(loadstring, nil, "no loadstring")
    t.eq(dofile, nil, "no dofile")
    t.eq(loadfile, nil, "no loadfile")
    t.eq(os.execute, nil, "no os.execute")
    t.eq(os.getenv, nil, "no os.getenv")
    t.eq(os.exit, nil, "no os.exit")
    t.eq(type(os.time()), "number", "os.time")
    t.eq(type(os.clock()), "number", "os.clock")
    t.eq(type(collectgarbage("count")), "number", "collectgarbage count")
    t.ok(not pcall(collectgarbage, "collect"), "collectgarbage beyond count")
    t.ok(not pcall(function()
        string.upper = function() end
    end), "base libraries are read-only")
    t.ok(not pcall(function()
        process.send = nil
    end), "the process global is read-only")
    -- our own globals are ours
    my_global = 1
    t.eq(my_global, 1, "own globals")
    return true
end

return { main = main }
