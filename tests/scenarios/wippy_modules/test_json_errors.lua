-- What the reference system's json module refuses, with `nil, err` of kind INTERNAL.
local t = require("t")
local json = require("json")

local function refused(value, needle)
    local s, err = json.encode(value)
    t.eq(s, nil, needle)
    t.eq(err:kind(), errors.INTERNAL, needle)
    t.ok(string.find(err:message(), needle, 1, true), "message `" .. err:message() .. "` names " .. needle)
end

local function main()
    refused({ 1, 2, x = 3 }, "mixes numeric and string keys")
    refused({ [1] = 1, [3] = 3 }, "sparse array")
    local loop = {}
    loop.self = loop
    refused(loop, "recursive reference")
    refused({ f = function() end }, "function cannot be encoded")

    local v, err = json.decode("not valid json")
    t.eq(v, nil)
    t.eq(err:kind(), errors.INTERNAL)
    t.ok(string.find(err:message(), "line 1", 1, true), "the message gives the place: " .. err:message())
    local _, bad = json.decode(42)
    t.eq(bad:kind(), errors.INVALID, "decode takes a string")
    return true
end

return { main = main }
