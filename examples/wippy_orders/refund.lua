-- Would pay an order back. The app's policies forbid `funcs.call` on this entry, so it never runs.
local function main(order_id)
    return { refunded = order_id }
end

return { main = main }
