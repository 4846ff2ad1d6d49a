local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    -- the permits live in the `tester` scope: a child without it is denied everything (default deny)
    local b = process.with_context({}):with_scope(security.new_scope({}))
    local probe = b:spawn_monitored("app:scopeless_probe", "app:procs", me)
    local got = t.event(probe, "EXIT").result.value
    t.eq(got.send, errors.PERMISSION_DENIED, "send")
    t.eq(got.spawn, errors.PERMISSION_DENIED, "spawn")
    t.eq(got.register, errors.PERMISSION_DENIED, "register")
    t.empty(process.inbox(), "nothing was sent")
    local r, err = process.registry.lookup("scopeless_name")
    t.err(r, err, errors.NOT_FOUND, "nothing was registered")
    return true
end

return { main = main }
