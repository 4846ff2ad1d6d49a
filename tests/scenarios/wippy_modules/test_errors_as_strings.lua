-- In the reference dialect an error value works where a string is expected.
local t = require("t")

local function main()
    local _, err = process.send("nobody-registered-this", "x")
    t.ok(err ~= nil, "the send fails")
    t.ok(string.find(err, "nobody-registered-this", 1, true), "string.find takes the error: " .. tostring(err))
    t.eq(string.lower(errors.new("INVALID", "ABC")), "abc")
    t.eq(string.len(errors.new("INVALID", "four")), 4)
    t.eq(string.sub(errors.new("INVALID", "hello"), 1, 2), "he")
    t.eq(string.find("plain", "la"), 2, "strings pass through")
    return true
end

return { main = main }
