local t = require("t")

local function main()
    for _, kind in ipairs({ "INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "LIMIT_EXCEEDED",
        "TIMEOUT", "CANCELED", "UNAVAILABLE", "INTERNAL" }) do
        t.eq(type(errors[kind]), "string", "errors." .. kind)
    end
    local e = errors.new(errors.NOT_FOUND, "it is gone")
    t.eq(type(e), "userdata", "an error object")
    t.eq(e:kind(), errors.NOT_FOUND, "kind")
    t.eq(e:message(), "it is gone", "message")
    t.eq(tostring(e), "it is gone", "tostring")
    t.eq("prefix: " .. e, "prefix: it is gone", "concat on the right")
    t.eq(e .. " (suffix)", "it is gone (suffix)", "concat on the left")
    t.eq(errors.is(e, errors.NOT_FOUND), true, "errors.is")
    t.eq(errors.is(e, errors.INVALID), false, "errors.is with another kind")
    t.eq(errors.is("not an error", errors.INVALID), false, "errors.is on a string")
    t.ok(not pcall(errors.new, "NO_SUCH_KIND", "x"), "errors.new with an unknown kind raises")

    -- an error from the API has the same shape
    local r, err = process.send("no_such_name_here", "x")
    t.eq(r, nil, "nil")
    t.eq(err:kind(), errors.NOT_FOUND, "kind")
    t.eq(tostring(err), err:message(), "tostring is the message")
    t.contains("failed: " .. err, "no_such_name_here", "concat")

    -- raising an error object keeps it intact through pcall
    local ok, caught = pcall(function()
        error(errors.new(errors.TIMEOUT, "too slow"))
    end)
    t.eq(ok, false, "raised")
    t.eq(caught:kind(), errors.TIMEOUT, "kind survives a raise")
    return true
end

return { main = main }
