-- Spawns a reporter for `parent` with a plain spawn (no builder): it inherits our actor, scope, context.
local function main(parent: string)
    local pid, err = process.spawn("app:reporter", "app:procs", parent, nil, true)
    if not pid then
        return { denied = err:kind(), message = err:message() }
    end
    return { child = pid }
end

return { main = main }
