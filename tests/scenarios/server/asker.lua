-- Calls `later` on the server and reports the answer to `parent` on topic "result".
local server = require("server")

local function main(parent, kv)
    local v, err = server.call(kv, { op = "later" }, "2s")
    process.send(parent, "result", { value = v, error = err and err:kind() })
    return true
end

return { main = main }
