-- p:transcode(format): JSON through serde_json's rules, text, bytes; what is refused is INTERNAL.
local t = require("t")

local function main()
    local p = payload.new({ name = "test", value = 123, list = { 1, 2 } })
    local j, err = p:transcode(payload.format.JSON)
    t.eq(err, nil)
    t.eq(j:get_format(), "json/plain")
    t.eq(j:data().value, 123)
    t.eq(j:unmarshal().list[2], 2)
    t.eq(j:transcode(payload.format.LUA):get_format(), "lua/any", "and back")

    -- JSON's rules apply: NaN is null (nil), numeric keys of a sequence stay a sequence.
    local n = payload.new({ x = 0 / 0, y = 1 }):transcode(payload.format.JSON)
    t.eq(n:data().x, nil, "NaN became null")
    t.eq(n:data().y, 1)

    local s = payload.new(42):transcode(payload.format.STRING)
    t.eq(s:get_format(), "text/plain")
    t.eq(s:data(), "42", "a number becomes its text")
    t.eq(payload.new("raw"):transcode(payload.format.BYTES):data(), "raw")

    local function refused(value, format, needle)
        local out, e = payload.new(value):transcode(format)
        t.err(out, e, errors.INTERNAL, needle)
        t.contains(e:message(), needle)
    end
    refused({ 1, 2, x = 3 }, payload.format.JSON, "mixes numeric and string keys")
    refused({ f = function() end }, payload.format.JSON, "function")
    refused({ a = 1 }, payload.format.STRING, "text/plain")
    refused(1, payload.format.BYTES, "octet-stream")
    refused({ a = 1 }, payload.format.MSGPACK, "not supported")
    refused({ a = 1 }, payload.format.YAML, "not supported")
    refused({ a = 1 }, "image/png", "unknown format")
    local e = payload.new(errors.new("INTERNAL", "x"))
    local out, jerr = e:transcode(payload.format.JSON)
    t.err(out, jerr, errors.INTERNAL, "an error payload has no JSON")
    return true
end

return { main = main }
