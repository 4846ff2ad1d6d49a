-- funcs.async: a Future whose channel gives the result as a payload, in select with others.
local t = require("t")
local funcs = require("funcs")

local function main()
    local future, err = funcs.async("app:add", 1, 2)
    t.eq(err, nil)
    local ch = future:response()
    t.ok(ch == future:channel(), "channel() is response()")
    local payload, ok = t.recv(ch, "the async result")
    t.eq(ok, true)
    t.eq(payload:data(), 3, "the channel carries a payload of the result")
    t.eq(future:is_complete(), true)
    t.eq(future:is_canceled(), false)
    local value, rerr = future:result()
    t.eq(rerr, nil)
    t.eq(value:data(), 3, "result() keeps the result after it was received")
    local e, has = future:error()
    t.eq(e, nil)
    t.eq(has, false)
    t.eq(future:cancel(), false, "a completed future cannot be canceled")
    -- One value only; the channel stays open (so a select over several futures waits for the others).
    t.empty(ch, "nothing after the result")

    -- A failing function: no value on the channel (it closes), the error in result() and error().
    local failing = assert(funcs.async("app:lookup", 7))
    local v, vok = t.recv(failing:channel(), "the failed call's channel closing")
    t.eq(v, nil)
    t.eq(vok, false)
    local none, ferr = failing:result()
    t.eq(none, nil)
    t.contains(ferr:message(), "no user 7")
    local ferr2, has_error = failing:error()
    t.eq(has_error, true)
    t.contains(ferr2:message(), "no user 7")

    -- Parallel calls, gathered with channel.select.
    local f1 = assert(funcs.async("app:add", 1, 1))
    local f2 = assert(funcs.async("app:lookup", 42))
    local f3 = assert(funcs.async("app:add", 10, 20))
    local c1, c2, c3 = f1:channel(), f2:channel(), f3:channel()
    local results = {}
    for _ = 1, 3 do
        local r = channel.select({ c1:case_receive(), c2:case_receive(), c3:case_receive() })
        t.eq(r.ok, true)
        if r.channel == c1 then
            results.one = r.value:data()
        elseif r.channel == c2 then
            results.two = r.value:data().name
        else
            results.three = r.value:data()
        end
    end
    t.deep(results, { one = 2, two = "Alice", three = 30 }, "every result, each from its own channel")

    -- An executor's async carries its context.
    local exec = assert(funcs.new():with_context({ request_id = "async-1" }))
    local fw = assert(exec:async("app:who"))
    local got = t.recv(fw:channel(), "who")
    t.eq(got:data().request_id, "async-1")
    return true
end

return { main = main }
