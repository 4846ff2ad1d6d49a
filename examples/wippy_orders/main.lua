-- An order pipeline in the reference system's dialect:
--   json       orders arrive as JSON text and go to the warehouse as JSON text;
--   funcs      each order is validated with a sync call (funcs.call) and priced with async calls
--              (funcs.async), whose Futures are gathered by spawned coroutines (fan-in);
--   events     a spawned coroutine consumes the `orders.*` event stream while main publishes to it;
--   processes  a warehouse process ships each priced order and announces it on the bus.
-- A refund is forbidden by the app's policies: the denial is reported, and the pipeline goes on.
local funcs = require("funcs")
local json = require("json")
local events = require("events")
local time = require("time")

local INCOMING = [[
[
  {"id": "o-1", "region": "eu", "items": [{"sku": "tea", "qty": 2, "cents": 450}, {"sku": "mug", "qty": 1, "cents": 1200}]},
  {"id": "o-2", "region": "us", "items": [{"sku": "kettle", "qty": 1, "cents": 3999}]},
  {"id": "o-3", "region": "eu", "items": [{"sku": "tea", "qty": 0, "cents": 450}]},
  {"id": "o-4", "region": "eu", "items": [{"sku": "mug", "qty": 4, "cents": 1200}]}
]
]]

-- Receives from `ch`, or gives up after five seconds (so a lost message shows as an error, not a hang).
local function receive(ch, what)
    local r = channel.select({ ch:case_receive(), time.after("5s"):case_receive() })
    if r.channel ~= ch then
        error("no " .. what .. " within 5s", 2)
    end
    return r.value, r.ok
end

local function main()
    local orders, err = json.decode(INCOMING)
    if err then
        return nil, "bad orders: " .. tostring(err)
    end

    -- Subscribe first: the bus delivers to the subscriptions that exist when an event is sent.
    local sub = assert(events.subscribe("orders.*"))
    -- The consumer: a spawned coroutine of this process, reading the event stream while main works.
    -- It hands each event on over an unbuffered channel, so main sees it as it happens.
    local seen = channel.new(0)
    coroutine.spawn(function()
        local stream = sub:channel()
        while true do
            local evt, ok = stream:receive()
            if not ok then
                seen:close()
                return
            end
            seen:send(evt.kind .. " " .. evt.system .. " " .. evt.path)
        end
    end)

    local warehouse, spawn_err = process.spawn("app:warehouse", "app:processes")
    if spawn_err then
        return nil, "no warehouse: " .. tostring(spawn_err)
    end

    -- Sync calls: validate each order; a refused one is reported with the function's reason.
    local valid, rejected = {}, {}
    for _, order in ipairs(orders) do
        local ok, why = funcs.call("app:validate", order)
        if ok then
            table.insert(valid, order)
        else
            rejected[order.id] = why:message()
        end
    end

    -- Async calls: price every valid order at once; one spawned coroutine per Future forwards its result
    -- to a shared channel (fan-in), in whatever order the calls finish.
    local priced = channel.new(0)
    for _, order in ipairs(valid) do
        local future = assert(funcs.async("app:price", order))
        coroutine.spawn(function()
            local result, ok = future:channel():receive()
            if ok then
                priced:send(result:data())
            else
                local _, failure = future:result()
                priced:send({ id = order.id, error = tostring(failure) })
            end
        end)
    end
    local totals, by_id = {}, {}
    for _ in ipairs(valid) do
        local quote = receive(priced, "price")
        totals[quote.id] = quote.total
    end

    -- Publish each priced order and hand it to the warehouse, which publishes its shipping.
    for _, order in ipairs(valid) do
        by_id[order.id] = order
        assert(events.send("orders." .. order.region, "order.priced", "/orders/" .. order.id, { total = totals[order.id] }))
        local text = assert(json.encode({ id = order.id, region = order.region, total = totals[order.id] }))
        assert(process.send(warehouse, "ship", text))
    end

    -- A refund is not this pipeline's to make: the policy forbids the call, and the error says so.
    local refund, refund_err = funcs.call("app:refund", "o-1")
    local refund_report = if refund then "refunded" else refund_err:kind() .. ": " .. refund_err:message()

    -- Two events per order (priced, shipped), as the consumer saw them; sorted, since the warehouse
    -- and main publish concurrently.
    local log = {}
    for _ = 1, 2 * #valid do
        table.insert(log, (receive(seen, "event")))
    end
    table.sort(log)
    process.send(warehouse, "stop", true)
    sub:close()

    return {
        rejected = rejected,
        totals = totals,
        events = log,
        refund = refund_report,
        order_json = json.encode(by_id["o-1"]),
    }
end

return { main = main }
