local t = require("t")

local function main()
    local me = process.pid()
    local a = process.listen("a")
    local inbox = process.inbox()
    local n = 200
    -- two senders at once, each alternating between a listened topic and the inbox
    local s1 = process.spawn("app:sender", "app:procs", me, n, { "a", "b" })
    local s2 = process.spawn("app:sender", "app:procs", me, n, { "c" })
    local next_a, next_b, next_c = 1, 2, 1
    local got = 0
    while got < n + n do
        local r = channel.select({ a:case_receive(), inbox:case_receive(), require("time").after("3s"):case_receive() })
        if r.channel == a then
            t.eq(r.value, next_a, "topic a in send order")
            next_a += 2
        elseif r.channel == inbox then
            local m = r.value
            if m:topic() == "b" then
                t.eq(m:from(), s1, "b comes from s1")
                t.eq(m:payload(), next_b, "topic b in send order")
                next_b += 2
            else
                t.eq(m:topic(), "c", "topic")
                t.eq(m:from(), s2, "c comes from s2")
                t.eq(m:payload(), next_c, "s2's messages in send order")
                next_c += 1
            end
        else
            t.fail("timed out after " .. got .. " messages")
        end
        got += 1
    end
    t.eq(next_c, n + 1, "all of s2")
    t.eq(next_a + next_b, (n + 1) + (n + 2), "all of s1")
    return true
end

return { main = main }
