-- A key-value server (models.md, "server"), registered as "kv".
local server = require("server")

return server.start({
    init = function()
        assert(process.registry.register("kv"))
        return {}
    end,
    handle_call = function(request, from, state)
        if request.op == "put" then
            state[request.key] = request.value
            return true, state
        end
        return state[request.key], state
    end,
})
