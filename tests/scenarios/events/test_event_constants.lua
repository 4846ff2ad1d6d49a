local t = require("t")

local function main()
    t.eq(process.event.EXIT, "pid.exit", "EXIT")
    t.eq(process.event.LINK_DOWN, "pid.link.down", "LINK_DOWN")
    t.eq(process.event.CANCEL, "pid.cancel", "CANCEL")
    -- events() carries lifecycle events only: messages never show up there
    process.send(process.pid(), "note", 1)
    t.empty(process.events(), "events")
    t.eq(t.msg("note"):payload(), 1, "the message went to the inbox")
    return true
end

return { main = main }
