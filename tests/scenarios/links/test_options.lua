local t = require("t")

local function main()
    local opts = process.get_options()
    t.deep(opts, { trap_links = false }, "defaults")
    opts.trap_links = true
    t.eq(process.get_options().trap_links, false, "get_options returns a copy")

    t.eq(process.set_options({ trap_links = true }), true, "set")
    t.eq(process.get_options().trap_links, true, "applied")
    t.eq(process.set_options({}), true, "an empty table changes nothing")
    t.eq(process.get_options().trap_links, true, "unchanged")

    local ok, err = process.set_options({ trap_links = false, bogus = 1 })
    t.err(ok, err, errors.INVALID, "unknown key")
    t.eq(ok, false, "set_options returns false on failure")
    t.contains(err:message(), "bogus", "the error names the key")
    t.eq(process.get_options().trap_links, true, "nothing applied")

    ok, err = process.set_options({ trap_links = "no" })
    t.err(ok, err, errors.INVALID, "wrong type")
    t.eq(ok, false, "false")
    t.eq(process.get_options().trap_links, true, "nothing applied")

    ok, err = process.set_options({ trap_links = 0 })
    t.err(ok, err, errors.INVALID, "a number is not a boolean")
    ok, err = process.set_options("trap_links")
    t.err(ok, err, errors.INVALID, "not a table")
    t.eq(ok, false, "false")

    t.eq(process.set_options({ trap_links = false }), true, "back to false")
    t.eq(process.get_options().trap_links, false, "applied")
    return true
end

return { main = main }
