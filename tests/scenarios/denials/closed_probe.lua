-- Starts a runner on `app:closed` for `parent`; returns {pid = ...} or {error = ...}.
local function main(parent: string)
    local pid, err = process.spawn("app:runner", "app:closed", parent)
    if pid then
        return { pid = pid }
    end
    return { error = err:message() }
end

return { main = main }
