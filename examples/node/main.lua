-- The operator starts a worker and waits for its answer: allowed by the node's policy `node.admin`.
local function main()
    local result, err = process.exec("app:worker", "app:processes", "ping")
    if err then
        return nil, "exec failed: " .. tostring(err)
    end
    return { worker = result }
end

return { main = main }
