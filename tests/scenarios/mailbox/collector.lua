-- A host's fallback process (host `spill_entry` names this entry): the host starts it on the first overflow.
-- It tells each original sender what it got, as `collected`.
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local info = { topic = msg:topic(), from = msg:from(), actor = msg:from_actor(), payload = msg:payload() }
        process.send(msg:from(), "collected", info)
    end
end

return { main = main }
