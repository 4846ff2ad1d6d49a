-- Refuses an order without items or with a quantity that is not positive.
local function main(order)
    if #order.items == 0 then
        return nil, "order " .. order.id .. " has no items"
    end
    for _, item in ipairs(order.items) do
        if item.qty <= 0 then
            return nil, "order " .. order.id .. ": quantity of " .. item.sku .. " must be positive"
        end
    end
    return true
end

return { main = main }
