-- The total of an order, in cents: the sum of quantity times unit price.
local function main(order)
    local total = 0
    for _, item in ipairs(order.items) do
        total += item.qty * item.cents
    end
    return { id = order.id, total = total }
end

return { main = main }
