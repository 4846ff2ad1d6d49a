-- The platform's operator opens acme's chat room and starts three members: alice and carol of acme, bob of
-- globex. Bob's Register is refused by the policy (a globex actor may not message acme's processes); alice
-- then broadcasts, and only the room's members hear her.
local security = require("security")
local time = require("time")

local function spawn_as(actor_id: string, entry: string, tags)
    local builder = process.with_context({ tenant = actor_id }):with_actor(security.new_actor(actor_id))
    return builder:spawn(entry, "platform:processes", tags)
end

local function main()
    local inbox = process.inbox()
    local me = process.pid()
    local deadline = time.after("5s")
    local function next()
        local r = channel.select({ inbox:case_receive(), deadline:case_receive() })
        if r.channel == deadline then
            error("timed out")
        end
        return r.value:topic(), r.value:payload()
    end

    local room = assert(spawn_as("service:acme-room", "acme:room", {}))
    local alice = assert(spawn_as("user:alice", "acme:member", { Room = room, Name = "alice", Reporter = me }))
    local carol = assert(spawn_as("user:carol", "acme:member", { Room = room, Name = "carol", Reporter = me }))
    local bob = assert(spawn_as("user:bob", "globex:member", { Room = room, Name = "bob", Reporter = me }))

    local refused, welcomed = {}, {}
    local pending = 5 -- three Registered reports, two Welcomes
    while pending > 0 do
        local topic, report = next()
        if topic == "Registered" then
            refused[report.Name] = report.Refused or false
            pending -= 1
        elseif topic == "Welcomed" then
            welcomed[report.Name] = report.Data
            pending -= 1
        end
    end

    process.send(alice, "Say", { Data = "hello" })
    local heard = {}
    for _ = 1, 2 do
        local topic, report = next()
        if topic == "Heard" then
            heard[report.Name] = report.Data
        end
    end
    local members = process.call(room, "Members", nil, "2s")

    for _, pid in ipairs({ alice, carol, bob, room }) do
        process.terminate(pid)
    end
    return {
        refused = refused,
        welcomed = welcomed,
        heard = heard,
        members = members,
    }
end

return { main = main }
