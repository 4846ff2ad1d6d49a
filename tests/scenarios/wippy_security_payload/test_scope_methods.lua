-- scope:contains, :with, :without (pure: no decision), and their bounds.
local t = require("t")
local security = require("security")

local function main()
    local s = security.new_scope()
    t.deep(s:names(), {}, "an empty scope")
    t.eq(s:contains("admin"), false)
    local a = assert(s:with("admin"))
    t.eq(a:contains("admin"), true, "with adds a name")
    t.eq(s:contains("admin"), false, "scopes are values: the old one is unchanged")
    local ar = assert(a:with(security.named_scope("reader")))
    t.deep(ar:names(), { "admin", "reader" }, "with a scope adds its names")
    t.deep(assert(ar:with("admin")):names(), { "admin", "reader" }, "no name twice")
    local r = assert(ar:without("admin"))
    t.deep(r:names(), { "reader" }, "without removes a name")
    t.eq(r:contains(42), false, "a non-string is in no scope")

    -- Bounds: a name over 256 bytes, a scope past 64 names, a wrong type.
    local v, err = s:with(string.rep("n", 300))
    t.err(v, err, errors.INVALID, "a long name")
    local big = s
    for i = 1, 64 do
        big = assert(big:with("s" .. i))
    end
    v, err = big:with("one-too-many")
    t.err(v, err, errors.INVALID, "65 names")
    t.contains(err:message(), "64")
    v, err = s:with({})
    t.err(v, err, errors.INVALID, "a table is no scope")
    return true
end

return { main = main }
