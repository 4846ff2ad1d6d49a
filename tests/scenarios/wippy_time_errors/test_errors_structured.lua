-- The reference dialect's errors: new (message or table), kinds, retryable, details, wrap, stacks.
local t = require("t")
local time = require("time")

local function make_missing()
    return errors.new({
        message = "user not found",
        kind = errors.NOT_FOUND,
        retryable = false,
        details = { user_id = 123, tags = { "a", "b" } },
    })
end

local function main()
    t.eq(errors.CONFLICT, "CONFLICT")
    t.eq(errors.RATE_LIMITED, "RATE_LIMITED")
    t.eq(errors.UNKNOWN, "UNKNOWN")
    t.eq(errors.NOT_FOUND, "NOT_FOUND")

    local plain = errors.new("something went wrong")
    t.eq(plain:kind(), errors.UNKNOWN, "a message alone is UNKNOWN")
    t.eq(plain:message(), "something went wrong")
    t.eq(tostring(plain), "something went wrong")
    t.eq("failed: " .. plain, "failed: something went wrong")
    t.eq(plain:retryable(), nil)
    t.eq(plain:details(), nil)
    t.ok(errors.is(plain, errors.UNKNOWN), "errors.is of an extra kind")

    local missing = make_missing()
    t.eq(missing:kind(), errors.NOT_FOUND)
    t.eq(missing:retryable(), false)
    local details = missing:details()
    t.eq(details.user_id, 123)
    t.eq(details.tags[2], "b")
    details.user_id = 0
    t.eq(missing:details().user_id, 123, "details are a copy each time")
    t.contains(missing:stack(), "make_missing", "the stack names the function that made the error")
    local stack = errors.call_stack(missing)
    t.ok(#stack.frames >= 2, "frames")
    t.eq(stack.frames[1].name, "make_missing")
    t.ok(stack.frames[1].line > 0, "a line number")
    t.eq(type(stack.frames[1].source), "string")
    t.eq(type(stack.thread), "string")

    local limited = errors.new({ message = "slow down", kind = errors.RATE_LIMITED, retryable = true })
    t.eq(limited:kind(), "RATE_LIMITED")
    t.eq(limited:retryable(), true)
    local conflict = errors.new({ message = "stale version", kind = errors.CONFLICT })
    t.ok(errors.is(conflict, errors.CONFLICT), "CONFLICT")
    t.eq(errors.is(conflict, errors.ALREADY_EXISTS), false, "an extra kind is its own")

    local wrapped = errors.wrap(missing, "failed to load users")
    t.eq(wrapped:message(), "failed to load users: user not found")
    t.eq(wrapped:kind(), errors.NOT_FOUND, "wrap keeps the kind")
    t.eq(wrapped:retryable(), false, "wrap keeps retryable")
    t.eq(wrapped:details().user_id, 123, "wrap keeps the details")
    t.eq(errors.call_stack(wrapped).frames[1].name, "make_missing", "wrap keeps the stack")
    t.ok(errors.is(wrapped, errors.NOT_FOUND), "errors.is of a wrapped error")
    t.eq(errors.wrap(nil, "context"), nil, "wrapping nil is nil")
    t.eq(errors.wrap("plain text", "ctx"):message(), "ctx: plain text")
    t.eq(errors.wrap(errors.wrap(plain, "b"), "a"):message(), "a: b: something went wrong")

    -- Errors the runtime makes get retryable from their kind, and have no script stack.
    local _, parse_err = time.parse(time.RFC3339, "bad")
    t.eq(parse_err:retryable(), false, "INVALID is not retryable")
    t.eq(errors.call_stack(parse_err), nil)
    t.eq(errors.wrap(parse_err, "config"):kind(), errors.INVALID)
    t.eq(errors.call_stack("text"), nil)

    -- Corral's own two-argument form still works.
    t.eq(errors.new(errors.INVALID, "bad input"):kind(), errors.INVALID)
    t.eq(errors.new(missing), missing, "an error is already an error")
    t.eq(errors.new("NOT A KIND", "x"):message(), "NOT A KIND", "an unknown first word is a message")

    for _, bad in ipairs({
        42,
        {},
        { message = 42 },
        { message = "m", kind = "NOPE" },
        { message = "m", retryable = "yes" },
        { message = "m", details = "text" },
        { message = "m", details = { f = print } },
    }) do
        local ok, err = pcall(errors.new, bad)
        t.eq(ok, false, "errors.new(" .. t.show(bad) .. ")")
        t.contains(tostring(err), "INVALID")
    end
    local ok, err = pcall(errors.wrap, 42, "x")
    t.eq(ok, false)
    t.contains(tostring(err), "INVALID")
    return true
end

return { main = main }
