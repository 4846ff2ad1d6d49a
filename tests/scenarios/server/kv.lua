-- A key-value server (models.md, "server"): its state is a table of its own; it reports its lifecycle to
-- the process named by `watcher` (the test) on topic "seen".
local server = require("server")

local watcher = nil
local function tell(what, value)
    if watcher then
        process.send(watcher, "seen", { what = what, value = value })
    end
end

return server.start({
    init = function(who, start)
        watcher = who
        tell("init", start)
        return { n = start or 0, data = {}, later = nil }
    end,
    handle_call = function(request, from, state)
        if request.op == "get" then
            return state.data[request.key], state
        elseif request.op == "put" then
            state.data[request.key] = request.value
            return true, state
        elseif request.op == "count" then
            return state.n, state
        elseif request.op == "later" then
            state.later = from
            return server.noreply(state)
        elseif request.op == "answer_later" then
            if not state.later then
                return "not yet", state
            end
            process.reply(state.later, "late answer")
            state.later = nil
            return "done", state
        elseif request.op == "stop" then
            return server.stop("normal", state, "bye")
        elseif request.op == "stop_silently" then
            return server.stop("shutting down", state)
        elseif request.op == "fake_stop" then
            -- Looks like what server.stop returns, but is not its marker: a plain reply.
            return { reason = "normal", state = state, reply = "x" }, state
        elseif request.op == "raise" then
            error("handler failed on purpose")
        end
        return nil, state
    end,
    handle_cast = function(message, state)
        state.n = state.n + (message or 1)
        tell("cast", state.n)
        return state
    end,
    handle_info = function(msg, state)
        if type(msg) == "table" then
            tell("event", msg.kind)
        else
            tell("info", msg:topic())
        end
        return state
    end,
    terminate = function(reason, state)
        tell("terminate", reason)
    end,
})
