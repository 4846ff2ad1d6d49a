-- The reference's payload module, a global in its dialect: formats, new, get_format, data, unmarshal.
local t = require("t")

local function main()
    t.eq(payload.format.JSON, "json/plain")
    t.eq(payload.format.YAML, "yaml/plain")
    t.eq(payload.format.STRING, "text/plain")
    t.eq(payload.format.BYTES, "application/octet-stream")
    t.eq(payload.format.MSGPACK, "application/msgpack")
    t.eq(payload.format.LUA, "lua/any")
    t.eq(payload.format.GOLANG, "golang/any")
    t.eq(payload.format.ERROR, "golang/error")

    local p = payload.new({ user_id = 123, name = "Alice", roles = { "admin", "user" } })
    t.eq(p:get_format(), "lua/any", "a table")
    local data, err = p:data()
    t.eq(err, nil)
    t.eq(data.user_id, 123)
    t.eq(data.roles[2], "user")
    t.eq(p:unmarshal().name, "Alice", "unmarshal gives the Lua value")

    t.eq(payload.new("Hello, World!"):get_format(), "lua/any", "a string")
    t.eq(payload.new("Hello, World!"):data(), "Hello, World!")
    t.eq(payload.new(42.5):data(), 42.5)
    t.eq(payload.new(true):data(), true)
    t.eq(payload.new(nil):data(), nil)

    local e = payload.new(errors.new("INTERNAL", "something failed"))
    t.eq(e:get_format(), "golang/error", "an error")
    t.eq(e:data():message(), "something failed")

    local again = payload.new(p)
    t.eq(again:data().name, "Alice", "a payload of a payload is that payload")

    -- The module and its format table are shared and read-only.
    t.eq(pcall(function() payload.format.JSON = "x" end), false, "format is frozen")
    t.eq(pcall(function() payload.new = nil end), false, "the module is frozen")
    t.eq(payload.format.JSON, "json/plain")

    -- In the dialect, a received message's payload is a payload object too.
    process.send(process.pid(), "self", { n = 1 })
    local msg = t.msg("self")
    t.eq(msg:payload():get_format(), "lua/any")
    t.eq(msg:payload():data().n, 1)
    return true
end

return { main = main }
