-- A supervised child: reports "started" {name, pid} to `watcher`; on "crash" raises, on "quit" returns; on
-- CANCEL reports "stopped" {name} and returns. Modes: "crash_loop" raises right after starting; "slow" waits
-- 100ms before it reports and returns on CANCEL; "stubborn" reports "cancelled" and ignores the CANCEL.
local time = require("time")

local function main(watcher, name, mode)
    process.send(watcher, "started", { name = name, pid = process.pid() })
    if mode == "crash_loop" then
        error("crash loop of " .. name)
    end
    local inbox, events = process.inbox(), process.events()
    while true do
        local r = channel.select({ inbox:case_receive(), events:case_receive() })
        if r.channel == events then
            if r.value.kind == process.event.CANCEL then
                if mode == "stubborn" then
                    process.send(watcher, "cancelled", { name = name, at = time.now():unix_milli() })
                else
                    if mode == "slow" then
                        time.sleep("100ms")
                    end
                    process.send(watcher, "stopped", { name = name, at = time.now():unix_milli() })
                    return name
                end
            end
        else
            local topic = r.value:topic()
            if topic == "crash" then
                error("crash of " .. name)
            elseif topic == "quit" then
                return name
            end
        end
    end
end

return { main = main }
